import { createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { plainCarrier } from '../../test/fixtures.js';
import { signToken } from '../signed/sign.js';
import { utf8Encode } from '../signed/bytes.js';
import type { InboundCarrier } from './carrier.js';
import { createInboundEngine } from './engine.js';
import { applyQueryEdit, type QueryEdit } from './normalize.js';
import type { InboundOptions } from './types.js';

const KEY = 'a-signing-key-of-at-least-32-byte';
const hmac = (key: Uint8Array, data: Uint8Array) =>
  new Uint8Array(createHmac('sha256', key).update(data).digest());
const token = (v: string) =>
  signToken({ version: v, exp: 4_000_000_000, kid: 'k1', key: utf8Encode(KEY) }, hmac);
const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };

const carrier = (headers: Record<string, string>, url = '/', peer = '10.0.0.9'): InboundCarrier =>
  plainCarrier(headers, { url, host: 'a', remoteAddress: peer });

/** The request after applying the outcome's edits, as a platform with an immutable request would. */
function after(options: InboundOptions<null>, headers: Record<string, string>, url = '/') {
  const engine = createInboundEngine(options, { hmacSha256: hmac, randomId: randomUUID });
  const out = engine.evaluate(carrier(headers, url), null);
  const next = { ...headers } as Record<string, string | undefined>;
  for (const [k, v] of out.edits?.headers ?? []) next[k] = v ?? undefined;
  const nextUrl = out.edits?.query ? applyQueryEdit(url, out.edits.query) : url;
  return { version: out.decision.version, trust: out.trust, headers: next, url: nextUrl };
}

const open = { config };
const signed = { config, trust: 'signed', keys: { k1: KEY } } as const;
const edge = { config, trust: 'edge' } as const;
type Row = [
  string,
  InboundOptions<null>,
  Record<string, string>,
  string,
  { version: string; header?: string; cookie?: string; baggage?: string; url?: string },
];
const ROWS: Row[] = [
  [
    'open: an accepted header stays',
    open,
    { 'x-gray-id': 'beta' },
    '/',
    { version: 'beta', header: 'beta' },
  ],
  ['open: an unknown header goes', open, { 'x-gray-id': 'gamma' }, '/', { version: 'stable' }],
  [
    'open: an overridden cookie goes, other cookies stay',
    open,
    { 'x-gray-id': 'beta', cookie: 'a=1; gray=canary' },
    '/',
    { version: 'beta', header: 'beta', cookie: 'a=1' },
  ],
  [
    'open: an agreeing cookie stays',
    open,
    { 'x-gray-id': 'beta', cookie: 'gray=beta' },
    '/',
    { version: 'beta', header: 'beta', cookie: 'gray=beta' },
  ],
  [
    'open: __Host-gray wins over gray; the disagreeing gray goes',
    open,
    { cookie: '__Host-gray=beta; gray=canary' },
    '/',
    { version: 'beta', cookie: '__Host-gray=beta' },
  ],
  [
    'open: ambiguous baggage goes, other members stay',
    open,
    { baggage: 'gray=beta,a=1,gray=canary' },
    '/',
    { version: 'stable', baggage: 'a=1' },
  ],
  [
    'open: overridden query goes',
    open,
    { 'x-gray-id': 'beta' },
    '/p?gray=canary&x=1',
    { version: 'beta', header: 'beta', url: '/p?x=1' },
  ],
  [
    'open: baggage off: the gray member still goes',
    { config, markers: { baggage: false } },
    { baggage: 'gray=beta,a=1' },
    '/',
    { version: 'stable', baggage: 'a=1' },
  ],
  ['signed: a bare label goes', signed, { 'x-gray-id': 'beta' }, '/', { version: 'stable' }],
  [
    'signed: the accepted token becomes the plain label',
    signed,
    { 'x-gray-id': token('beta') },
    '/',
    { version: 'beta', header: 'beta' },
  ],
  [
    'signed: a token cookie becomes the label, the bare header goes',
    signed,
    { 'x-gray-id': 'beta', cookie: `a=1; gray=${token('canary')}` },
    '/',
    { version: 'canary', cookie: 'a=1; gray=canary' },
  ],
  [
    'signed: an agreeing bare baggage member still goes',
    signed,
    { 'x-gray-id': token('beta'), baggage: 'gray=beta' },
    '/',
    { version: 'beta', header: 'beta' },
  ],
  [
    'signed: the query marker (off by default) goes',
    signed,
    {},
    `/p?gray=${token('beta')}`,
    { version: 'stable', url: '/p' },
  ],
  [
    'edge: every carrier goes',
    edge,
    { 'x-gray-id': 'beta', cookie: 'a=1; gray=beta', baggage: 'gray=beta' },
    '/p?gray=beta',
    { version: 'stable', cookie: 'a=1', url: '/p' },
  ],
];
describe('GW-01/02 carrier edits (outcome.edits, for platforms that rebuild the request)', () => {
  it.each(ROWS)('GW-01 %s', (_n, options, headers, url, want) => {
    const r = after(options, headers, url);
    expect(r.version).toBe(want.version);
    expect(r.headers['x-gray-id']).toBe(want.header);
    expect(r.headers['cookie']).toBe(want.cookie);
    expect(r.headers['baggage']).toBe(want.baggage);
    expect(r.url).toBe(want.url ?? url);
  });

  it('GW-03 the outcome says the trust it was decided under', () => {
    expect(after(open, {}).trust).toBe('open');
    expect(after(signed, {}).trust).toBe('signed');
    expect(after(edge, {}).trust).toBe('edge');
    const engine = createInboundEngine(
      { ...edge, trustedProxies: ['10.0.0.0/8'] },
      { randomId: randomUUID },
    );
    expect(engine.evaluate(carrier({}, '/', '10.0.0.9'), null).trust).toBe('open');
    expect(engine.evaluate(carrier({}, '/', '::ffff:10.0.0.9'), null).trust).toBe('open');
    expect(engine.evaluate(carrier({}, '/', '192.0.2.1'), null).trust).toBe('edge');
  });

  it('GW-01 a clean request has no edits; a carrier whose edit throws keeps the decision', () => {
    const engine = createInboundEngine(open, { randomId: randomUUID });
    expect(engine.evaluate(carrier({ 'x-gray-id': 'beta' }), null).edits).toBeUndefined();
    const throwing = {
      ...carrier({ 'x-gray-id': 'gamma' }),
      edit: () => {
        throw new Error('frozen');
      },
    };
    expect(engine.evaluate(throwing, null).decision.version).toBe('stable');
  });

  it.each([
    ['/a?gray=x&y=1', '/a?y=1&gray=beta'],
    ['/a', '/a?gray=beta'],
    ['/a?', '/a?gray=beta'],
    ['/a?y=1#f', '/a?y=1&gray=beta#f'],
  ])('GW-01 applyQueryEdit(%j) rewrites to %j', (url, out) => {
    expect(applyQueryEdit(url, { remove: ['gray'], append: ['gray', 'beta'] })).toBe(out);
  });

  const fresh = (edit: QueryEdit): QueryEdit => ({ remove: edit.remove, append: edit.append });
  it.each([
    ['the URL it was decided on: reused', '/a?gray=x&y=1', '/a?gray=x&y=1', 'reused'],
    [
      'an equal copy of that URL: reused',
      '/a?gray=x&y=1',
      ['/a?gray=x', '&y=1'].join(''),
      'reused',
    ],
    [
      "express's originalUrl under a mount: recomputed",
      '/a?gray=x&y=1',
      '/api/a?gray=x&y=1',
      '/api/a?y=1&gray=beta',
    ],
    ['a full URL (hono): recomputed', '/a?gray=x', 'http://h/a?gray=x', 'http://h/a?gray=beta'],
    [
      'the same path, another query: recomputed',
      '/a?gray=x&y=1',
      '/a?y=2&gray=x',
      '/a?y=2&gray=beta',
    ],
  ])('GW-02 applyQueryEdit with a carried rewrite, given %s', (_n, from, url, want) => {
    const edit: QueryEdit = {
      remove: ['gray'],
      append: ['gray', 'beta'],
      applied: { from, to: 'reused' },
    };
    expect(applyQueryEdit(url, edit)).toBe(want);
  });

  const params = (n: number, unit: (i: number) => string) =>
    Array.from({ length: n }, (_, i) => unit(i)).join('&');
  it.each([
    [
      'open, an unknown marker then 300 parameters',
      open,
      `/a?gray=gamma&${params(300, (i) => `p${i}=1`)}`,
    ],
    ['open, 300 parameters then the marker', open, `/a?${params(300, (i) => `p${i}=1`)}&gray=beta`],
    ['edge, 300 bad-escape keys then a marker', edge, `/a?${params(300, () => '%ZZ=1')}&gray=beta`],
    ['open, escaped marker keys past the cap', open, `/a?${params(300, () => '%67ray=beta')}`],
    ['open, an unknown marker and a fragment', open, '/a?x=1&gray=gamma#frag'],
    ['open, empty parts around a doubled marker', open, '/a?&&gray=beta&&x=1&gray=beta&'],
    ['signed, a bare label', signed, '/a?gray=beta&x=1'],
    ['edge, untrusted peer', edge, '/a?gray=beta&x=1'],
    [
      'open, query marker switched off',
      { config, markers: { query: false } } as InboundOptions<null>,
      '/a?gray=beta&x=1',
    ],
  ] as [string, InboundOptions<null>, string][])(
    'GW-02 %s: the carried rewrite is what applyQueryEdit computes, on url and on originalUrl',
    (_n, options, url) => {
      const engine = createInboundEngine(options, { hmacSha256: hmac, randomId: randomUUID });
      const edit = engine.evaluate(carrier({}, url), null).edits?.query;
      expect(edit).toBeDefined();
      if (!edit) return;
      expect(edit.applied?.from).toBe(url);
      expect(edit.applied?.to).toBe(applyQueryEdit(url, fresh(edit)));
      expect(applyQueryEdit(url, edit)).toBe(applyQueryEdit(url, fresh(edit)));
      expect(applyQueryEdit(`/mount${url}`, edit)).toBe(
        `/mount${applyQueryEdit(url, fresh(edit))}`,
      );
      expect(applyQueryEdit(url, edit)).not.toMatch(/[?&](gray|%67ray)=(?!beta$|stable$|canary$)/);
    },
  );
});
