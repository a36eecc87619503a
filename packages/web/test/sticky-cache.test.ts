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

let upstream: { origin: string; close(): Promise<void> };
beforeAll(async () => {
  upstream = await listenLoopback(
    createServer((req, res) => {
      const lines = JSON.parse(new URL(req.url ?? '/', 'http://x').searchParams.get('cc')!);
      if (lines.length > 0) res.setHeader('cache-control', lines);
      res.end('from upstream');
    }),
  );
});
afterAll(() => upstream.close());

const headersOf = (lines: readonly string[]) => {
  const h = new Headers({ 'content-type': 'text/plain' });
  for (const l of lines) h.append('cache-control', l);
  return h;
};

type Make = (lines: readonly string[]) => Response | Promise<Response>;
const HANDLERS: readonly (readonly [string, Make])[] = [
  ['new Response', (lines) => new Response('x', { headers: headersOf(lines) })],
  ['Response.json', (lines) => Response.json({ ok: true }, { headers: headersOf(lines) })],
  [
    'a proxied upstream (immutable headers)',
    (lines) => fetch(`${upstream.origin}/?cc=${encodeURIComponent(JSON.stringify(lines))}`),
  ],
];

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
    const how = c.req.param('way');
    if (how === 'response') return new Response('x', { headers: headersOf(lines) });
    if (how === 'upstream')
      return fetch(`${upstream.origin}/?cc=${encodeURIComponent(JSON.stringify(lines))}`);
    lines.forEach((l, i) => c.header('cache-control', l, { append: i > 0 }));
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
});
