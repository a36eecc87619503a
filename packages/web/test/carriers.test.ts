import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import {
  createGraylane,
  editedHeaders,
  signMarker,
  type WebGraylaneOptions,
} from '../src/index.js';
import { graylaneHono } from '../src/hono.js';

/*
 * GW-01/02 on the Web engine, as on Node: what the app (`handle()`, the hono adapter) and an
 * upstream (`forwardRequest`, `stripCarriers`) see of the client's carriers, in every trust mode.
 * Every marker carrier a client can send (the header, both marker cookies, the baggage member,
 * the query parameter plain and escaped) and the bucket header; the rest of the request byte for
 * byte (a query string is never re-encoded); a body moves with the request, and an earlier
 * reader of the body never makes the carriers stay.
 */

const KEY = 'a-web-signing-key-of-32-bytes!!!';
const config = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    {
      id: 'ramp',
      split: [
        { version: 'beta', weight: 30 },
        { version: 'stable', weight: 70 },
      ],
      bucketBy: 'header:x-user',
    },
  ],
};
const MODES: [string, Partial<WebGraylaneOptions>][] = [
  ['open', {}],
  ['signed', { trust: 'signed', keys: { k1: KEY }, markers: { query: 'gray' } }],
  ['edge', { trust: 'edge', markers: { query: 'gray' } }],
  ['edge, query not read', { trust: 'edge' }],
];
/** One carrier each, saying `canary` (a bare label: honoured in open mode only). */
const SENT: [string, Record<string, string>, string][] = [
  ['header', { 'x-gray-id': 'canary' }, ''],
  ['__Host-gray cookie', { cookie: 'a=1; __Host-gray=canary; b=2' }, ''],
  ['gray cookie', { cookie: 'a=1; gray=canary' }, ''],
  ['baggage', { baggage: 'k=v,gray=canary' }, ''],
  ['query', {}, '&gray=canary'],
  ['escaped query key', {}, '&%67ray=canary'],
  ['bucket header', { 'x-gray-bucket': '0' }, ''],
  ['nothing', {}, ''],
];
const KEEP = '?q=a%20b&flag&t=~x&path=/a/b';
const base = (o: Partial<WebGraylaneOptions>) =>
  ({ config, bucketHeader: true, ...o }) as WebGraylaneOptions;

interface Seen {
  url: string;
  headers: Record<string, string>;
  body: string;
}
const seenOf = async (r: Request): Promise<Seen> => ({
  url: r.url,
  headers: Object.fromEntries(r.headers),
  body: r.method === 'GET' ? '' : await r.text(),
});

/** Problems with what `seen` shows of the client's carriers, given the version served. */
function problems(seen: Seen, served: string, bucket: string | undefined): string[] {
  const out: string[] = [];
  const h = seen.headers;
  if (h['x-gray-id'] !== undefined && h['x-gray-id'] !== served)
    out.push(`x-gray-id ${h['x-gray-id']}`);
  for (const pair of (h['cookie'] ?? '').split(';')) {
    const [name, value] = pair.trim().split('=');
    if ((name === 'gray' || name === '__Host-gray') && value !== served) out.push(`cookie ${pair}`);
  }
  for (const member of (h['baggage'] ?? '').split(','))
    if (/^\s*gray=/.test(member) && member.trim() !== `gray=${served}`)
      out.push(`baggage ${member}`);
  const query = new URL(seen.url).searchParams;
  if (query.has('gray') && query.get('gray') !== served) out.push(`query ${query.get('gray')}`);
  if (h['x-gray-bucket'] !== bucket) out.push(`bucket ${h['x-gray-bucket']} (decided ${bucket})`);
  if (!seen.url.includes(KEEP)) out.push(`url re-encoded: ${seen.url}`);
  return out;
}

const ROWS = MODES.flatMap(([m, o]) => SENT.map(([s, h, q]) => [m, s, o, h, q] as const));

describe('GW-01/02 the Web engine: what the app and an upstream see of the client’s carriers', () => {
  it.each(ROWS)(
    'GW-02 %s, %s: handle(), forwardRequest, stripCarriers',
    async (_m, _s, o, sent, q) => {
      const gray = createGraylane(base(o));
      const make = () =>
        new Request(`https://app.example/p${KEEP}${q}`, {
          method: 'POST',
          headers: { ...sent, 'x-user': 'user-42', 'x-keep': 'k' },
          body: 'payload',
        });
      let served = '';
      let bucket: string | undefined;
      const response = await gray.handle(make(), async (request, outcome) => {
        served = outcome.decision.version;
        bucket =
          outcome.decision.bucket === undefined ? undefined : String(outcome.decision.bucket);
        return Response.json(await seenOf(request));
      });
      const app = (await response.json()) as Seen;
      expect(problems(app, served, bucket), 'handle()').toEqual([]);
      expect(app.body).toBe('payload');
      expect(app.headers['x-keep']).toBe('k');

      const outcome = await gray.decide(make());
      const forwarded = await seenOf(
        gray.forwardRequest(make(), outcome, `https://up.internal/p${KEEP}${q}`),
      );
      expect(problems(forwarded, outcome.decision.version, bucket), 'forwardRequest').toEqual([]);
      expect(forwarded.headers['x-gray-id']).toBe(outcome.decision.version);
      expect(forwarded.body).toBe('payload');

      // A middleware that forwards headers, not a Request (Next's proxy): the same header edits.
      const headers = Object.fromEntries(editedHeaders(make().headers, outcome.edits));
      expect(problems({ ...app, headers }, served, bucket), 'editedHeaders').toEqual([]);
      expect(headers['x-keep']).toBe('k');

      const stripped = await seenOf(gray.stripCarriers(make()));
      expect(problems(stripped, '(none)', undefined), 'stripCarriers').toEqual([]);
      expect(stripped.body).toBe('payload');
    },
  );

  it.each(MODES)(
    'GW-02 %s: the hono adapter, with the body read by an earlier middleware',
    async (_m, o) => {
      const app = new Hono();
      app.use(async (c, next) => {
        await c.req.json();
        return next();
      });
      app.use(graylaneHono(base(o)));
      app.post('/*', async (c) =>
        c.json({
          seen: { url: c.req.url, headers: Object.fromEntries(c.req.raw.headers), body: '' },
          json: await c.req.json(),
          version: c.get('grayVersion' as never),
        }),
      );
      for (const [name, sent, q] of SENT) {
        const res = await app.request(`https://app.example/p${KEEP}${q}`, {
          method: 'POST',
          headers: { ...sent, 'x-user': 'user-42', 'content-type': 'application/json' },
          body: JSON.stringify({ k: 1 }),
        });
        const out = (await res.json()) as { seen: Seen; json: unknown; version: string };
        const decided = out.version;
        const bucket = out.seen.headers['x-gray-bucket'];
        expect(
          problems(
            { ...out.seen, headers: { ...out.seen.headers, 'x-gray-bucket': bucket ?? '' } },
            decided,
            bucket ?? '',
          ),
          name,
        ).toEqual([]);
        if (sent['x-gray-bucket'] !== undefined)
          expect(bucket, `${name}: the client's bucket`).not.toBe('0');
        expect(out.json, name).toEqual({ k: 1 });
      }
    },
  );

  it('GW-01 signed mode: a valid token is kept as the plain label for the next hop', async () => {
    const gray = createGraylane(base(MODES[1]?.[1] ?? {}));
    const token = await signMarker('beta', { key: KEY, kid: 'k1', ttlSeconds: 600 });
    const res = await gray.handle(
      new Request(`https://app.example/p${KEEP}`, { headers: { 'x-gray-id': token } }),
      async (request) => Response.json(await seenOf(request)),
    );
    const seen = (await res.json()) as Seen;
    expect(seen.headers['x-gray-id']).toBe('beta');
  });
});
