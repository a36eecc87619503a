import { AsyncLocalStorage } from 'node:async_hooks';
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
import {
  CALLER,
  expectCallerHops,
  hopUrl,
  startSite,
  type Hops,
  type Site,
} from './support/hops.js';

/*
 * I8 / RDR-01 / OUT-03, as @graylane/node since ad5f6c4: a hop outside the allowlist gets
 * neither the marker header nor a `gray` baggage member, whoever set them — the caller
 * included; the other baggage members go on. On an allowlisted hop the caller's header wins:
 * kept as written, never replaced. The old withGray sent a request whose headers held the
 * marker exactly as written, to any host, and let the runtime follow its redirects (which
 * keeps `X-Gray-Id` and `baggage` across origins: undici, workerd).
 */

provideAsyncLocalStorage(AsyncLocalStorage);

const hops: Hops = new Map();
let a: Site;
let b: Site;
/** Server `a` under another name: the same socket, not allowlisted. */
let aByName: string;
let seq = 0;

beforeAll(async () => {
  [a, b] = await Promise.all([startSite('a', hops), startSite('b', hops)]);
  aByName = a.origin.replace('127.0.0.1', 'localhost');
});
afterAll(() => Promise.all([a.close(), b.close()]));

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
const TARGETS: Target[] = [
  { label: 'direct to another port', url: (id) => hopUrl(b.origin, id), more: {}, servers: ['b'] },
  {
    label: 'direct to the allowlisted server under another name',
    url: (id) => hopUrl(aByName, id),
    more: {},
    servers: ['a'],
  },
  ...([301, 302, 303, 307, 308] as const).map((status): Target => ({
    label: `a ${status} from the allowlist to another port`,
    url: (id) => hopUrl(a.origin, id, status, hopUrl(b.origin, id)),
    more: {},
    servers: ['a', 'b'],
  })),
  {
    label: 'a 307 to another port and a 308 back',
    url: (id) => hopUrl(a.origin, id, 307, hopUrl(b.origin, id, 308, hopUrl(a.origin, id))),
    more: {},
    servers: ['a', 'b', 'a'],
  },
  {
    label: "redirect: 'manual', direct to another port",
    url: (id) => hopUrl(b.origin, id),
    more: { redirect: 'manual' },
    servers: ['b'],
  },
  {
    label: "redirect: 'error', direct to another port",
    url: (id) => hopUrl(b.origin, id),
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
      const inside = expectCallerHops(seen, pairs, outside);
      // Counted per hop: the caller's marker kept where allowlisted, the others skipped for the host.
      const after = outboundStats();
      expect(after.skipped_caller - before.skipped_caller).toBe(inside);
      expect(after.skipped_host - before.skipped_host).toBe(seen.length - inside);
      expect(after.injected - before.injected).toBe(0);
    },
  );
});
