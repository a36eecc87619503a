import { createHmac, randomUUID, webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { plainCarrier } from '../../test/fixtures.js';
import type { DecisionReason, MarkerRejection, MarkerSource } from '../reasons.js';
import type { DecisionSource } from '../rules/types.js';
import { signToken } from '../signed/sign.js';
import { utf8Encode } from '../signed/bytes.js';
import type { InboundCarrier } from './carrier.js';
import { fromFetchRequest } from './carrier.js';
import { createInboundEngine, type InboundOutcome, type InboundPlatform } from './engine.js';
import type { InboundOptions } from './types.js';

const KEY = 'a-signing-key-of-at-least-32-byte';
const NOW = 1_800_000_000_000;
const hmac = (key: Uint8Array, data: Uint8Array) =>
  new Uint8Array(createHmac('sha256', key).update(data).digest());
const token = (version: string, ttl = 60, subject?: string, key = KEY, kid = 'k1') =>
  signToken({ version, exp: NOW / 1000 + ttl, kid, key: utf8Encode(key), subject }, hmac);

/** A carrier over plain data, as a platform would build it. */
function carrier(
  headers: Record<string, string>,
  url = '/',
  extra: Partial<InboundCarrier> = {},
): InboundCarrier {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return plainCarrier(lower, { url, ...extra });
}

function counting(): InboundPlatform & { seen: string[] } {
  const seen: string[] = [];
  return {
    hmacSha256: hmac,
    randomId: randomUUID,
    seen,
    counters: {
      decision: (v: string, r: DecisionReason, s: DecisionSource) => seen.push(`d:${v}:${r}:${s}`),
      invalidMarker: (s: MarkerSource, r: MarkerRejection) => seen.push(`i:${s}:${r}`),
    },
  };
}

const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };

describe('createInboundEngine (sync platform)', () => {
  it('HDR-03 / PREC-02 decides from the first valid carrier and counts what it ignored', () => {
    const platform = counting();
    const engine = createInboundEngine({ config, debugHeader: true }, platform);
    const out = engine.evaluate(carrier({ 'x-gray-id': 'gamma', cookie: 'gray=beta' }), null);
    expect(out.decision).toEqual({ version: 'beta', reason: 'cookie', source: 'cookie' });
    expect(out.debugHeader).toBe('version=beta; reason=cookie; source=cookie');
    expect(platform.seen).toEqual(['i:header:unknown', 'd:beta:cookie:cookie']);
  });

  it('I1 throwing callbacks, clock and counters never reach the caller', () => {
    const engine = createInboundEngine<null>(
      {
        config,
        attributes: () => {
          throw new Error('attrs');
        },
        onDecision: () => {
          throw new Error('onDecision');
        },
        now: () => {
          throw new Error('clock');
        },
      },
      {
        randomId: randomUUID,
        counters: {
          decision: () => {
            throw new Error('counter');
          },
          invalidMarker: () => {
            throw new Error('counter');
          },
        },
      },
    );
    const broken = carrier({}, '/');
    Object.defineProperty(broken, 'header', {
      value: () => {
        throw new Error('carrier');
      },
    });
    expect(engine.evaluate(broken, null).decision.version).toBe('stable');
    expect(engine.evaluate(carrier({ 'x-gray-id': 'beta' }), null).decision.version).toBe('beta');
  });

  it('construction errors are precise and early', () => {
    const p = { randomId: randomUUID };
    expect(() => createInboundEngine({ config, trust: 'signed' }, p)).toThrow(
      /needs at least one key/,
    );
    expect(() => createInboundEngine({ config, markers: { header: 'x gray' } }, p)).toThrow(
      /not a header name/,
    );
    expect(() =>
      createInboundEngine(
        { config, markers: { header: 'x-gray' } },
        { ...p, isHeaderName: () => false },
      ),
    ).toThrow(/not a header name/);
    expect(() => createInboundEngine({ config, keys: { k1: KEY }, signingKid: 'k2' }, p)).toThrow(
      /signingKid/,
    );
    expect(() => createInboundEngine({ config: { versions: [], default: 'x' } }, p)).toThrow(
      /INVALID_CONFIG|invalid config/,
    );
  });

  it('fromFetchRequest reads a Fetch Request (header, cookie, query, TLS)', () => {
    const engine = createInboundEngine({ config }, { randomId: randomUUID });
    const req = new Request('https://app.example/p?gray=canary', { headers: { cookie: 'x=1' } });
    const c = fromFetchRequest(req, '203.0.113.9');
    expect([c.url, c.host, c.secure, c.remoteAddress]).toEqual([
      '/p?gray=canary',
      'app.example',
      true,
      '203.0.113.9',
    ]);
    expect(engine.evaluate(c, req).decision).toMatchObject({ version: 'canary', reason: 'query' });
    const dup = new Request('https://app.example/', {
      headers: [
        ['x-gray-id', 'beta'],
        ['x-gray-id', 'beta'],
      ],
    });
    expect(engine.evaluate(fromFetchRequest(dup), dup).decision.rejected).toEqual({
      source: 'header',
      reason: 'ambiguous',
    });
  });

  // Bun gives an HTTP/1.0 request without Host a relative `request.url` (review 157 N1).
  it.each([
    ['/p?gray=canary', '/p?gray=canary', 'canary'],
    ['/?gray=canary', '/?gray=canary', 'canary'],
    ['/a/../b?x=1&gray=canary#f', '/b?x=1&gray=canary', 'canary'],
    ['//evil.example/p?gray=canary', '//evil.example/p?gray=canary', 'canary'],
    ['/p', '/p', 'stable'],
    ['p?gray=canary', undefined, 'stable'],
    ['', undefined, 'stable'],
  ])('a relative url %j reads as path and query %j, host unknown', (target, url, version) => {
    const engine = createInboundEngine({ config }, { randomId: randomUUID });
    const req = { url: target, method: 'GET', headers: new Headers() };
    const c = fromFetchRequest(req);
    expect([c.url, c.host, c.secure]).toEqual([url, undefined, false]);
    expect(engine.evaluate(c, req).decision.version).toBe(version);
  });
});

/** The Web Crypto path a platform without sync HMAC runs: prepare → await verify → complete. */
async function webEvaluate<R>(
  options: InboundOptions<R>,
  c: InboundCarrier,
  req: R,
): Promise<{ outcome: InboundOutcome; checks: number; cookies: string[] }> {
  const engine = createInboundEngine(options, { randomId: randomUUID });
  const prepared = engine.prepare(c, req);
  const verified = await Promise.all(
    prepared.signatureChecks.map(async (check) => {
      const key = await webcrypto.subtle.importKey(
        'raw',
        check.key,
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['verify'],
      );
      return webcrypto.subtle.verify('HMAC', key, check.signature, check.data);
    }),
  );
  const outcome = engine.complete(prepared, verified);
  const cookies = [...outcome.setCookies];
  for (const p of outcome.pendingCookies) {
    const key = await webcrypto.subtle.importKey(
      'raw',
      p.key,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    const cookie = p.finish(new Uint8Array(await webcrypto.subtle.sign('HMAC', key, p.data)));
    if (cookie !== undefined) cookies.push(cookie);
  }
  return { outcome, checks: prepared.signatureChecks.length, cookies };
}

describe('HDR-13 async HMAC platforms decide exactly like sync ones', () => {
  const split = {
    ...config,
    rules: [
      {
        id: 'ramp',
        split: [
          { version: 'canary', weight: 100 },
          { version: 'stable', weight: 0 },
        ],
        bucketBy: 'attr:user',
      },
    ],
  };
  const base: InboundOptions<{ user?: string }> = {
    config: split,
    trust: 'signed',
    markers: { query: 'gray' },
    keys: { k1: KEY, k0: 'an-older-key-of-at-least-32-bytes' },
    sticky: true,
    now: () => NOW,
    subject: (r) => r.user,
    attributes: (r) => ({ user: r.user ?? 'anon' }),
  };
  const other = 'some-other-key-material-32-bytes';
  const rows: [string, Record<string, string>, string, { user?: string }][] = [
    ['header token', { 'x-gray-id': token('beta') }, '/', {}],
    ['cookie token', { cookie: `gray=${token('beta')}` }, '/', {}],
    ['query token', {}, `/?gray=${token('beta')}`, {}],
    ['baggage token', { baggage: `gray=${token('beta')}` }, '/', {}],
    [
      'older key still in the ring',
      { 'x-gray-id': token('beta', 60, undefined, 'an-older-key-of-at-least-32-bytes', 'k0') },
      '/',
      {},
    ],
    [
      'bad header, good cookie',
      { 'x-gray-id': token('beta', 60, undefined, other), cookie: `gray=${token('canary')}` },
      '/',
      {},
    ],
    [
      'four bad tokens',
      {
        'x-gray-id': token('beta', -1),
        cookie: `gray=${token('beta', 60, undefined, other)}`,
        baggage: `gray=${token('beta')}x`,
      },
      `/?gray=${token('gamma')}`,
      {},
    ],
    [
      'bound to alice, sent by alice',
      { 'x-gray-id': token('beta', 60, 'alice') },
      '/',
      { user: 'alice' },
    ],
    [
      'bound to alice, sent by bob',
      { 'x-gray-id': token('beta', 60, 'alice') },
      '/',
      { user: 'bob' },
    ],
    ['bare label', { 'x-gray-id': 'beta' }, '/', {}],
    ['nothing: weighted assignment signs the sticky cookie', {}, '/', { user: 'carol' }],
  ];
  it.each(rows)('HDR-13 %s', async (_name, headers, url, req) => {
    const sync = createInboundEngine(base, { hmacSha256: hmac, randomId: randomUUID });
    const expected = sync.evaluate(carrier(headers, url), req);
    const web = await webEvaluate(base, carrier(headers, url), req);
    expect(web.outcome.decision).toEqual(expected.decision);
    expect(web.cookies).toEqual(expected.setCookies);
    expect(web.checks).toBeLessThanOrEqual(4);
  });

  it('HDR-13 a missing or non-true verification fails closed; a foreign handle gives the default', () => {
    const engine = createInboundEngine({ ...base, config }, { randomId: randomUUID });
    const c = carrier({ 'x-gray-id': token('beta') });
    const p = engine.prepare(c, {});
    expect(p.signatureChecks).toHaveLength(1);
    expect(engine.complete(p, []).decision).toMatchObject({
      version: 'stable',
      reason: 'bad_signature',
    });
    const again = engine.prepare(c, {});
    expect(engine.complete(again, [1 as unknown as boolean]).decision.version).toBe('stable');
    expect(engine.complete({ signatureChecks: [] }, [true]).decision).toEqual({
      version: 'stable',
      reason: 'default',
      source: 'default',
    });
    const once = engine.prepare(c, {});
    expect(engine.complete(once, [true]).decision.version).toBe('beta');
    // A prepared request completes once.
    expect(engine.complete(once, [true]).decision.reason).toBe('default');
  });

  it('HDR-13 each answer applies to its own check, in precedence order', () => {
    const engine = createInboundEngine({ ...base, config }, { randomId: randomUUID });
    const c = carrier({ 'x-gray-id': token('beta'), cookie: `gray=${token('canary')}` });
    const p = engine.prepare(c, {});
    expect(p.signatureChecks.map((x) => x.kid)).toEqual(['k1', 'k1']);
    expect(engine.complete(p, [false, true]).decision).toEqual({
      version: 'canary',
      reason: 'cookie',
      source: 'cookie',
    });
    expect(engine.prepare(carrier({ 'x-gray-id': 'beta' }), {}).signatureChecks).toHaveLength(0);
    const open = createInboundEngine({ config }, { randomId: randomUUID });
    const q = open.prepare(carrier({ 'x-gray-id': 'beta' }), {});
    expect(q.signatureChecks).toHaveLength(0);
    expect(open.complete(q, []).decision.version).toBe('beta');
  });
});

describe('AMP-02 each carrier is parsed at most once per request', () => {
  const conditions = (kind: 'cookie' | 'query', n: number) =>
    Array.from({ length: n }, (_, i) => ({
      id: `${kind}-${i}`,
      match: { [kind]: { [`k${i}`]: { equals: `v${i}-never` } } },
      version: 'beta',
    }));
  const rows: [string, number][] = [
    ['1 rule', 1],
    ['10 rules', 10],
    ['200 rules', 200],
  ];
  it.each(rows)('AMP-02 %s on cookies and query: one read of each carrier', (_n, count) => {
    const engine = createInboundEngine(
      {
        config: {
          ...config,
          rules: [...conditions('cookie', count), ...conditions('query', count)],
        },
        sticky: true,
      },
      { randomId: randomUUID },
    );
    const reads = new Map<string, number>();
    const cookie = Array.from({ length: 150 }, (_, i) => `c${i}=${i}`).join('; ');
    const headers: Record<string, string> = { cookie, baggage: 'a=1,gray=%ZZ' };
    let urlReads = 0;
    const c: InboundCarrier = {
      header: (name) => {
        reads.set(name, (reads.get(name) ?? 0) + 1);
        return headers[name];
      },
      headers,
      method: 'GET',
      get url() {
        urlReads++;
        return `/p?${Array.from({ length: 200 }, (_, i) => `q${i}=${i}`).join('&')}&gray=%ZZ`;
      },
      host: 'a',
      secure: false,
      remoteAddress: undefined,
    };
    const out = engine.evaluate(c, null);
    expect(out.decision).toMatchObject({ version: 'stable', reason: 'invalid_marker' });
    expect(reads.get('cookie')).toBe(1);
    expect(reads.get('baggage')).toBe(1);
    expect(urlReads).toBe(1);
  });
});
