import { createLane, withGray, type FetchLike } from '@graylane/web';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { headerOf, listenLoopback } from './support/listen.js';

/*
 * RDR-03 (graylane never makes a working call fail), I1 — review 172 D1. Next's fetch dedupe
 * (next/dist/server/lib/dedupe-fetch.js → clone-response.js) answers a GET in a server component
 * or route handler with one branch of `body.tee()` and keeps the other in React.cache for the
 * render. Cancelling one tee branch settles only once the other is cancelled or read, which never
 * happens during that render: withGray awaited the cancel of every 3xx it followed (and of a body
 * failing its integrity check), so every redirect hung the render or route handler for good.
 *
 * Each row goes through a fetch that tees exactly as Next's dedupe does, keeping the other branch
 * unread, and must settle (the call and the body read) within BOUND_MS: a hang fails the row.
 */

const BOUND_MS = 3_000;
const PAYLOAD = 'field=value&other=x';

/** Branches of every answer kept unread, as React.cache keeps them during a render. */
const kept: ReadableStream<Uint8Array>[] = [];

/** Next 16's dedupe: `cloneResponse` returns `[cloned1, cloned2]`, hands back 1, keeps 2. */
const dedupeLike: FetchLike = async (input, init) => {
  const res = await fetch(input, init);
  if (res.body === null) return res;
  const [handed, cached] = res.body.tee();
  kept.push(cached);
  const out = new Response(handed, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
  Object.defineProperty(out, 'url', { value: res.url, configurable: true, enumerable: true });
  return out;
};

/** `p`, or a rejection naming the hang once BOUND_MS has passed. */
function settles<T>(p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`still pending after ${BOUND_MS} ms (hang)`)),
      BOUND_MS,
    );
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

type Site = Awaited<ReturnType<typeof listenLoopback>>;
let site: Site;

/** What `/end` answers: exactly the bytes the integrity rows hash. */
const finalBody = (method: string, body: string, marker: string | undefined): string =>
  JSON.stringify({ method, body, marker: marker ?? null });

beforeAll(async () => {
  site = await listenLoopback(
    createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname === '/r') {
          res.statusCode = Number(url.searchParams.get('status'));
          res.setHeader('location', url.searchParams.get('to') ?? '/end');
          // A 3xx with a body of its own (an HTML "moved" page), or none.
          return res.end(url.searchParams.get('moved') === '1' ? 'moved '.repeat(4096) : '');
        }
        if (url.pathname === '/loop') {
          res.statusCode = 302;
          res.setHeader('location', '/loop');
          return res.end('again');
        }
        res.setHeader('content-type', 'application/json');
        return res.end(finalBody(req.method ?? '', body, headerOf(req, 'x-gray-id')));
      });
    }),
  );
});
afterAll(async () => {
  for (const branch of kept.splice(0)) await branch.cancel().catch(() => undefined);
  await site.close();
});

const gray = () => withGray(dedupeLike, { lane: createLane('beta', { allowHosts: [site.host] }) });
const sri = (text: string) => `sha256-${createHash('sha256').update(text).digest('base64')}`;

type Input = 'a string' | 'a URL' | 'a Request';
type Call = [string | URL | Request, RequestInit | undefined];

/** The call as `input` spells it, with `method`, a body for a POST and `integrity` ('' = none). */
function call(input: Input, url: string, method: string, integrity: string): Call {
  const init: RequestInit = {
    method,
    ...(method === 'POST' ? { body: PAYLOAD, headers: { 'content-type': 'text/plain' } } : {}),
    ...(integrity === '' ? {} : { integrity }),
  };
  if (input === 'a Request') return [new Request(url, init), undefined];
  return [input === 'a URL' ? new URL(url) : url, init];
}

const STATUSES = [301, 302, 303, 307, 308] as const;
const INPUTS: Input[] = ['a string', 'a URL', 'a Request'];
const METHODS = ['GET', 'POST'] as const;
const INTEGRITY = ['no integrity', 'matching integrity', 'mismatching integrity'] as const;
const MOVED = ['an empty 3xx', 'a 3xx with a body'] as const;

const rows = STATUSES.flatMap((status) =>
  INPUTS.flatMap((input) =>
    METHODS.flatMap((method) =>
      INTEGRITY.flatMap((integrity) =>
        MOVED.map((moved) => ({ status, input, method, integrity, moved })),
      ),
    ),
  ),
);

describe.concurrent(
  'RDR-03 a redirect through a fetch that tees like Next’s dedupe settles',
  () => {
    it.for(rows)(
      '$status, $input, $method, $integrity, $moved',
      async ({ status, input, method, integrity, moved }, { expect }) => {
        // Fetch: 301/302 turn a POST into a GET, 303 anything but GET/HEAD; 307/308 keep it.
        const kept307 = status === 307 || status === 308;
        const want = finalBody(
          kept307 ? method : 'GET',
          kept307 && method === 'POST' ? PAYLOAD : '',
          'beta',
        );
        const metadata =
          integrity === 'no integrity' ? '' : sri(integrity === 'matching integrity' ? want : 'x');
        const end = `${site.origin}/end`;
        const url = `${site.origin}/r?status=${status}&to=${encodeURIComponent(end)}&moved=${moved === 'a 3xx with a body' ? 1 : 0}`;
        const run = settles(
          (async () => {
            const res = await gray()(...call(input, url, method, metadata));
            return { res, text: await res.text() };
          })(),
        );
        if (integrity === 'mismatching integrity') {
          await expect(run).rejects.toThrow(TypeError);
          return;
        }
        const { res, text } = await run;
        expect([res.status, text, res.redirected, res.url]).toEqual([200, want, true, end]);
      },
    );

    // The redirects fetch refuses: the 3xx is discarded before the TypeError, never waited for.
    const REFUSED = [
      [
        'a redirect to a non-HTTP URL',
        (o: string) => `${o}/r?status=302&to=${encodeURIComponent('ftp://x/')}`,
      ],
      [
        'a redirect to a URL with credentials',
        (o: string) =>
          `${o}/r?status=307&to=${encodeURIComponent(`${o.replace('//', '//u:p@')}/end`)}`,
      ],
      ['more than 20 redirects', (o: string) => `${o}/loop`],
    ] as const;
    it.for(REFUSED.flatMap(([label, make]) => INPUTS.map((input) => ({ label, make, input }))))(
      '$label, $input: rejects with a TypeError',
      async ({ make, input }, { expect }) => {
        await expect(settles(gray()(...call(input, make(site.origin), 'GET', '')))).rejects.toThrow(
          TypeError,
        );
      },
    );
  },
);
