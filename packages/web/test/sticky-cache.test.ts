// STK-06 (review 57 D1) for `gray.handle` (workers, Deno, Bun) and `@graylane/web/hono`: a
// response carrying graylane's sticky cookies is never storable by a shared cache, whatever
// Cache-Control the handler set or an upstream it proxies sent (immutable `fetch` headers) — a
// CDN honouring `public` / `s-maxage` would hand one visitor's `gray_uid`, so one lane, to every
// new visitor (RFC 9111 §3). A returning visitor gets the response's header untouched. The
// upstream is a real node:http server on loopback.
import { createServer } from 'node:http';
import { Hono } from 'hono';
import { createGraylane } from '@graylane/web';
import { graylaneHono } from '@graylane/web/hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenLoopback } from './support/listen.js';

const options = {
  config: {
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [
      {
        id: 'half',
        split: [
          { version: 'beta', weight: 50 },
          { version: 'stable', weight: 50 },
        ],
        bucketBy: 'cookie:gray_uid',
      },
    ],
  },
  sticky: true,
} as const;

const RETURNING = 'gray_uid=00000000-0000-4000-8000-000000000001; gray=stable';

/** [name, header lines the response carries, what a first visit must get]. */
const SHAPES: readonly (readonly [string, readonly string[], string])[] = [
  ['absent', [], 'private'],
  ['public', ['public'], 'private'],
  ['public, max-age', ['public, max-age=60'], 'private, max-age=60'],
  ['s-maxage (static)', ['s-maxage=31536000'], 'private'],
  [
    's-maxage, swr (ISR)',
    ['s-maxage=60, stale-while-revalidate=30'],
    'private, stale-while-revalidate=30',
  ],
  ['proxy-revalidate', ['max-age=60, proxy-revalidate'], 'private, max-age=60'],
  ['private', ['private'], 'private'],
  ['private, max-age', ['private, max-age=60'], 'private, max-age=60'],
  ['no-store', ['no-store'], 'no-store'],
  ['no-cache', ['no-cache'], 'private, no-cache'],
  ['max-age only', ['max-age=60'], 'private, max-age=60'],
  ['duplicated lines', ['public, max-age=60', 's-maxage=600'], 'private, max-age=60'],
  ['odd casing', ['PUBLIC, Max-Age=60'], 'private, Max-Age=60'],
];

/**
 * RFC 9213: targeted fields a CDN reads instead of Cache-Control (set next to
 * `public, max-age=60`); a first visit gets each as `no-store`, a returning one as set.
 */
const TARGETED: readonly (readonly [string, readonly (readonly [string, string])[]])[] = [
  [
    'CDN-Cache-Control, Surrogate-Control',
    [
      ['CDN-Cache-Control', 'max-age=3600'],
      ['surrogate-control', 'max-age=86400, stale-while-revalidate=60'],
    ],
  ],
  [
    'Cloudflare-, VERCEL-, Example- CDN-Cache-Control, Edge-Control',
    [
      ['Cloudflare-CDN-Cache-Control', 'public, s-maxage=600'],
      ['VERCEL-CDN-CACHE-CONTROL', 's-maxage=60'],
      ['Example-CDN-Cache-Control', 'max-age=60'],
      ['Edge-Control', '!no-store, max-age=3600'],
    ],
  ],
];

let upstream: { origin: string; close(): Promise<void> };
beforeAll(async () => {
  upstream = await listenLoopback(
    createServer((req, res) => {
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      const lines = JSON.parse(query.get('cc')!);
      if (lines.length > 0) res.setHeader('cache-control', lines);
      for (const [n, v] of JSON.parse(query.get('tf') ?? '[]') as [string, string][])
        res.setHeader(n, v);
      res.end('from upstream');
    }),
  );
});
afterAll(() => upstream.close());

type Targeted = readonly (readonly [string, string])[];
const headersOf = (lines: readonly string[], targeted: Targeted = []) => {
  const h = new Headers({ 'content-type': 'text/plain' });
  for (const l of lines) h.append('cache-control', l);
  for (const [n, v] of targeted) h.set(n, v);
  return h;
};
const upstreamUrl = (lines: readonly string[], targeted: Targeted = []) =>
  `${upstream.origin}/?cc=${encodeURIComponent(JSON.stringify(lines))}&tf=${encodeURIComponent(JSON.stringify(targeted))}`;

type Make = (lines: readonly string[], targeted?: Targeted) => Response | Promise<Response>;
const HANDLERS: readonly (readonly [string, Make])[] = [
  ['new Response', (lines, t) => new Response('x', { headers: headersOf(lines, t) })],
  ['Response.json', (lines, t) => Response.json({ ok: true }, { headers: headersOf(lines, t) })],
  ['a proxied upstream (immutable headers)', (lines, t) => fetch(upstreamUrl(lines, t))],
];

const fieldsOf = (res: Response, targeted: Targeted) => targeted.map(([n]) => res.headers.get(n));

const rows = HANDLERS.flatMap(([via, make]) =>
  SHAPES.map(([shape, lines, first]) => ({ via, make, shape, lines, first })),
);

const ours = (res: Response) =>
  res.headers.getSetCookie().filter((v) => /^gray(_uid)?=/.test(v)).length;

describe('STK-06 gray.handle: a response with sticky cookies is private', () => {
  const gray = createGraylane(options);
  it.each(rows)('STK-06 $via: $shape', async ({ make, lines, first }) => {
    const plain = await make(lines);
    await plain.arrayBuffer();
    const expectedPlain = lines.length === 0 ? null : lines.join(', ');
    expect(plain.headers.get('cache-control')).toBe(expectedPlain);
    const fresh = await gray.handle(new Request('http://app.test/'), () => make(lines));
    expect([ours(fresh), fresh.headers.get('cache-control')]).toEqual([2, first]);
    await fresh.arrayBuffer();
    const back = await gray.handle(
      new Request('http://app.test/', { headers: { cookie: RETURNING } }),
      () => make(lines),
    );
    expect([ours(back), back.headers.get('cache-control')]).toEqual([0, expectedPlain]);
    await back.arrayBuffer();
  });

  const targetedRows = HANDLERS.flatMap(([via, make]) =>
    TARGETED.map(([shape, targeted]) => ({ via, make, shape, targeted })),
  );
  it.each(targetedRows)('STK-06 $via: targeted $shape', async ({ make, targeted }) => {
    const lines = ['public, max-age=60'];
    const set = targeted.map(([, v]) => v);
    const fresh = await gray.handle(new Request('http://app.test/'), () => make(lines, targeted));
    expect([ours(fresh), fresh.headers.get('cache-control')]).toEqual([2, 'private, max-age=60']);
    expect(fieldsOf(fresh, targeted)).toEqual(set.map(() => 'no-store'));
    await fresh.arrayBuffer();
    const back = await gray.handle(
      new Request('http://app.test/', { headers: { cookie: RETURNING } }),
      () => make(lines, targeted),
    );
    expect([ours(back), back.headers.get('cache-control')]).toEqual([0, lines[0]]);
    expect(fieldsOf(back, targeted)).toEqual(set);
    await back.arrayBuffer();
  });
});

describe('STK-06 @graylane/web/hono: a response with sticky cookies is private', () => {
  const WAYS = [
    ['c.header', 'header'],
    ['a returned Response', 'response'],
    ['a proxied upstream', 'upstream'],
  ] as const;
  const app = new Hono();
  app.use(graylaneHono(options));
  app.get('/:way', async (c) => {
    const lines = JSON.parse(c.req.query('cc')!) as string[];
    const targeted = JSON.parse(c.req.query('tf') ?? '[]') as [string, string][];
    const how = c.req.param('way');
    if (how === 'response') return new Response('x', { headers: headersOf(lines, targeted) });
    if (how === 'upstream') return fetch(upstreamUrl(lines, targeted));
    lines.forEach((l, i) => c.header('cache-control', l, { append: i > 0 }));
    for (const [n, v] of targeted) c.header(n, v);
    return c.text('x');
  });
  const honoRows = WAYS.flatMap(([name, how]) =>
    SHAPES.map(([shape, lines, first]) => ({ name, how, shape, lines, first })),
  );
  it.each(honoRows)('STK-06 hono $name: $shape', async ({ how, lines, first }) => {
    const url = `/${how}?cc=${encodeURIComponent(JSON.stringify(lines))}`;
    const fresh = await app.request(url);
    expect([ours(fresh), fresh.headers.get('cache-control')]).toEqual([2, first]);
    const back = await app.request(url, { headers: { cookie: RETURNING } });
    expect([ours(back), back.headers.get('cache-control')]).toEqual([
      0,
      lines.length === 0 ? null : lines.join(', '),
    ]);
  });

  const honoTargeted = WAYS.flatMap(([name, how]) =>
    TARGETED.map(([shape, targeted]) => ({ name, how, shape, targeted })),
  );
  it.each(honoTargeted)('STK-06 hono $name: targeted $shape', async ({ how, targeted }) => {
    const lines = ['public, max-age=60'];
    const url = `/${how}?cc=${encodeURIComponent(JSON.stringify(lines))}&tf=${encodeURIComponent(JSON.stringify(targeted))}`;
    const fresh = await app.request(url);
    expect([ours(fresh), fresh.headers.get('cache-control')]).toEqual([2, 'private, max-age=60']);
    expect(fieldsOf(fresh, targeted)).toEqual(targeted.map(() => 'no-store'));
    const back = await app.request(url, { headers: { cookie: RETURNING } });
    expect([ours(back), back.headers.get('cache-control')]).toEqual([0, lines[0]]);
    expect(fieldsOf(back, targeted)).toEqual(targeted.map(([, v]) => v));
  });
});
