import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type IncomingMessage } from 'node:http';
import { Hono } from 'hono';
import {
  createLane,
  outboundStats,
  provideAsyncLocalStorage,
  runWithGray,
  withGray,
  type FetchLike,
} from '@graylane/web';
import { graylaneHono } from '@graylane/web/hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenLoopback } from './support/listen.js';

/*
 * I8 / RDR-01 / OUT-03, as @graylane/node since ad5f6c4: a hop outside the allowlist gets
 * neither the marker header nor a `gray` baggage member, whoever set them — the caller
 * included; the other baggage members go on. On an allowlisted hop the caller's header wins:
 * kept as written, never replaced. The old withGray sent a request whose headers held the
 * marker exactly as written, to any host, and let the runtime follow its redirects (which
 * keeps `X-Gray-Id` and `baggage` across origins: undici, workerd).
 */

provideAsyncLocalStorage(AsyncLocalStorage);

interface Hop {
  readonly server: 'a' | 'b';
  readonly host: string;
  readonly path: string;
  /** Every `X-Gray-Id` line as sent, any case. */
  readonly markers: string[];
  /** Every `baggage` line as sent, any case. */
  readonly baggage: string[];
}

interface Site {
  readonly origin: string;
  close(): Promise<void>;
}

const hops = new Map<string, Hop[]>();
let a: Site;
let b: Site;
/** Server `a` under another name: the same socket, not allowlisted. */
let aByName: string;
let seq = 0;

function lines(req: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    if (req.rawHeaders[i]?.toLowerCase() === name) out.push(req.rawHeaders[i + 1] ?? '');
  return out;
}

/** `/<id>?status=S&to=URL` redirects, anything else answers 200; every request is recorded. */
async function site(server: 'a' | 'b'): Promise<Site> {
  const s = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const id = url.pathname.split('/')[1] ?? '';
    const hop: Hop = {
      server,
      host: req.headers.host ?? '',
      path: url.pathname,
      markers: lines(req, 'x-gray-id'),
      baggage: lines(req, 'baggage'),
    };
    hops.set(id, [...(hops.get(id) ?? []), hop]);
    req.resume();
    req.on('end', () => {
      const to = url.searchParams.get('to');
      if (to !== null) {
        res.statusCode = Number(url.searchParams.get('status'));
        res.setHeader('location', to);
      }
      res.end('ok');
    });
  });
  return listenLoopback(s);
}

beforeAll(async () => {
  [a, b] = await Promise.all([site('a'), site('b')]);
  aByName = a.origin.replace('127.0.0.1', 'localhost');
});
afterAll(() => Promise.all([a.close(), b.close()]));

const allowlisted = (hop: Hop): boolean => hop.server === 'a' && hop.host.startsWith('127.0.0.1:');

/** What the caller set, and what may go on outside the allowlist (`baggage` lines). */
const CALLER: [label: string, pairs: [string, string][], outside: string[]][] = [
  [
    'marker + baggage',
    [
      ['X-Gray-Id', 'stable'],
      ['baggage', 'gray=stable,a=1'],
    ],
    ['a=1'],
  ],
  [
    'two marker lines in two cases, two baggage lines',
    [
      ['X-GRAY-ID', 'stable'],
      ['x-gray-id', 'qa'],
      ['baggage', 'a=1'],
      ['Baggage', 'b=2;p=v , gray=stable;q'],
    ],
    ['a=1,b=2;p=v'],
  ],
  [
    'a baggage that is only the gray member',
    [
      ['x-Gray-id', 'stable'],
      ['baggage', 'gray=stable'],
    ],
    [],
  ],
  [
    'members with properties, escapes and lookalike keys',
    [
      ['X-Gray-Id', 'canary'],
      ['baggage', 'k=v%2C1;prop=x,gray = stable ;m, z=%20,GRAY=x,xgray=1'],
    ],
    ['k=v%2C1;prop=x,z=%20,GRAY=x,xgray=1'],
  ],
  ['the marker header alone', [['x-gray-id', 'stable']], []],
];

type Args = [string | URL | Request, RequestInit | undefined];
/** Every input shape fetch takes; `more` is the rest of the caller's init (redirect, method). */
const SHAPES: [string, (url: string, h: [string, string][], more: RequestInit) => Args][] = [
  ['string, init.headers a record', (u, h, m) => [u, { ...m, headers: Object.fromEntries(h) }]],
  ['URL, init.headers a Headers', (u, h, m) => [new URL(u), { ...m, headers: new Headers(h) }]],
  ['string, init.headers pairs', (u, h, m) => [u, { ...m, headers: h }]],
  ['a Request', (u, h, m) => [new Request(u, { ...m, headers: h }), undefined]],
  [
    'a POST Request with a body',
    (u, h, m) => [new Request(u, { ...m, method: 'POST', body: 'payload', headers: h }), undefined],
  ],
  [
    'a Request carrying the marker, init without headers',
    (u, h, m) => [new Request(u, { headers: h }), { ...m, cache: 'no-store' }],
  ],
  [
    'a Request with another marker, init.headers overriding it',
    (u, h, m) => [
      new Request(u, { headers: { 'x-gray-id': 'decoy', baggage: 'gray=decoy,d=1' } }),
      { ...m, headers: h },
    ],
  ],
];

/** How the lane reaches withGray. */
type Send = (args: Args) => Promise<Response>;
const CLIENTS: [string, () => Send][] = [
  [
    'withGray(fetch, { lane })',
    () => (args) =>
      withGray(fetch, { lane: createLane('beta', { allowHosts: [a.origin] }) })(...args),
  ],
  [
    'runWithGray + withGray(fetch) (AsyncLocalStorage)',
    () => (args) => runWithGray('beta', () => withGray(fetch)(...args), { allowHosts: [a.origin] }),
  ],
  [
    'withGray(fetch, { allowHosts }) over a lane without an allowlist',
    () => (args) =>
      withGray(fetch as FetchLike, { lane: createLane('beta'), allowHosts: [a.origin] })(...args),
  ],
  ['graylaneHono + withGray(fetch) in the handler', () => viaHono],
];

/** The call made inside a hono handler, in the lane the middleware bound. */
async function viaHono(args: Args): Promise<Response> {
  const app = new Hono();
  app.use(
    graylaneHono({
      config: { versions: ['stable', 'beta'], default: 'stable' },
      allowHosts: [a.origin],
    }),
  );
  app.get('/', async (c) => {
    const res = await withGray(fetch)(...args);
    return c.text(`${res.status}`, 200, { 'x-status': String(res.status) });
  });
  const res = await app.request('/', { headers: { 'x-gray-id': 'beta' } });
  return new Response(null, { status: Number(res.headers.get('x-status')) });
}

/** Where the call goes: its URL (for the row's id), the caller's init, the servers in order. */
interface Target {
  readonly label: string;
  readonly url: (id: string) => string;
  readonly more: RequestInit;
  readonly servers: ('a' | 'b')[];
}
const hop = (origin: string, id: string, status?: number, to?: string): string =>
  `${origin}/${id}${to === undefined ? '' : `?status=${status}&to=${encodeURIComponent(to)}`}`;
const TARGETS: Target[] = [
  { label: 'direct to another port', url: (id) => hop(b.origin, id), more: {}, servers: ['b'] },
  {
    label: 'direct to the allowlisted server under another name',
    url: (id) => hop(aByName, id),
    more: {},
    servers: ['a'],
  },
  ...([301, 302, 303, 307, 308] as const).map((status): Target => ({
    label: `a ${status} from the allowlist to another port`,
    url: (id) => hop(a.origin, id, status, hop(b.origin, id)),
    more: {},
    servers: ['a', 'b'],
  })),
  {
    label: 'a 307 to another port and a 308 back',
    url: (id) => hop(a.origin, id, 307, hop(b.origin, id, 308, hop(a.origin, id))),
    more: {},
    servers: ['a', 'b', 'a'],
  },
  {
    label: "redirect: 'manual', direct to another port",
    url: (id) => hop(b.origin, id),
    more: { redirect: 'manual' },
    servers: ['b'],
  },
  {
    label: "redirect: 'error', direct to another port",
    url: (id) => hop(b.origin, id),
    more: { redirect: 'error' },
    servers: ['b'],
  },
];

const rows = SHAPES.flatMap(([shape, make], i) =>
  TARGETS.map((target, j) => {
    const [caller, pairs, outside] = CALLER[(i + j) % CALLER.length]!;
    const [client, send] = CLIENTS[(i + 2 * j) % CLIENTS.length]!;
    return { shape, make, target, caller, pairs, outside, client, send, label: target.label };
  }),
);

describe('I8 a marker the caller set never leaves the allowlist; there it is kept as written', () => {
  it.each(rows)(
    'I8 $shape, $label ($caller; $client)',
    async ({ make, target, pairs, outside, send }) => {
      const id = `c${++seq}`;
      const before = outboundStats();
      const res = await send()(make(target.url(id), pairs, target.more));
      expect(res.status).toBe(200);
      const seen = hops.get(id) ?? [];
      expect(seen.map((h) => h.server)).toEqual(target.servers);
      // What fetch sends for the caller's headers: one line per name, values joined.
      const asSent = new Headers(pairs);
      let inside = 0;
      for (const [n, h] of seen.entries()) {
        const at = `hop ${n + 1} (${h.host})`;
        if (allowlisted(h)) {
          inside++;
          expect(h.markers, `${at}: the caller's marker`).toEqual([asSent.get('x-gray-id')]);
          const baggage = asSent.get('baggage');
          expect(h.baggage, `${at}: the caller's baggage`).toEqual(
            baggage === null ? [] : [baggage],
          );
        } else {
          expect(h.markers, `${at}: no marker`).toEqual([]);
          expect(h.baggage, `${at}: the other members only`).toEqual(outside);
        }
      }
      // Counted per hop: the caller's marker kept where allowlisted, the others skipped for the host.
      const after = outboundStats();
      expect(after.skipped_caller - before.skipped_caller).toBe(inside);
      expect(after.skipped_host - before.skipped_host).toBe(seen.length - inside);
      expect(after.injected - before.injected).toBe(0);
    },
  );
});
