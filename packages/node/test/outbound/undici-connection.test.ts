import { rmSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grayInterceptor, installGlobal, runWithGray, withGray } from '../../src/index.js';
import { closeLocal, markersOf, startTopology, type Topology } from './servers.js';

/*
 * CTX-13 (review 128 D2, the undici form): a request is judged on its origin, but the Client's
 * connector decides where the head goes. The old code sent the marker, and the caller's, down a
 * `connect` function of the caller's (or a `socketPath`) to a host off the allowlist, through
 * every API: `undici.request`, `undici.fetch`, `withGray`, `grayInterceptor`, global `fetch` over
 * a global dispatcher. Now each connection a Client makes is checked once (`undici:client:
 * connected`): one that does not prove it reaches the origin — its peer address and port, or a
 * verified TLS certificate for the origin's host — loses the marker and every `gray` member on
 * every request it writes, the first (queued while it connected) and later ones on the kept-alive
 * socket. Each row sends three requests on one dispatcher, in a lane and with none, with graylane's
 * marker and the caller's. Controls: undici's own connector, a `lookup`, a connector of the
 * caller's that does reach the origin, a verified TLS connector.
 */

const NAME = 'orders.graylane.test';
const SOCK = join(tmpdir(), `graylane-undici-${process.pid}.sock`);

let topo: Topology;
let pipe: http.Server;
let allowHosts: string[];
let uninstall: () => void;
let seq = 0;
const piped = new Map<string, ReturnType<typeof markersOf>>();

beforeAll(async () => {
  topo = await startTopology();
  rmSync(SOCK, { force: true });
  pipe = http.createServer((req: IncomingMessage, res) => {
    piped.set(new URL(req.url ?? '/', 'http://x').pathname.split('/')[2] ?? '', markersOf(req));
    req.resume();
    res.end('pipe');
  });
  await new Promise<void>((resolve) => pipe.listen(SOCK, resolve));
  allowHosts = [
    topo.a.origin,
    topo.tls.origin,
    `https://localhost:${topo.ports.tls}`,
    `http://${NAME}:${topo.ports.a}`,
  ];
  uninstall = installGlobal({ allowHosts });
});
afterAll(async () => {
  uninstall();
  await closeLocal(pipe);
  await topo.close();
});

type Connector = undici.buildConnector.connector;

/** A connector of the caller's: hands over the socket once connected (or at once). */
const connector =
  (make: () => net.Socket, event: 'connect' | 'secureConnect' = 'connect'): Connector =>
  (_opts, cb) => {
    const socket = make();
    socket.once(event, () => cb(null, socket));
    socket.once('error', (e) => cb(e, null));
  };
const tcp = (port: number) => (): net.Socket => net.connect(port, '127.0.0.1');
const tlsTo = (options: tls.ConnectionOptions) => (): net.Socket =>
  tls.connect({ host: '127.0.0.1', port: topo.ports.tls, ...options });

const lookupTo127 = (_h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void): void => {
  if (o.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
};

interface Route {
  readonly name: string;
  readonly url: () => string;
  readonly dispatcher: () => undici.Dispatcher;
  readonly lands: 'a' | 'b' | 'tls' | 'pipe';
  /**
   * false: nothing may arrive. Otherwise the hop must carry exactly what the same API carries
   * to that allowlisted server over undici's own connector (each API adds or keeps as it does).
   */
  readonly allowed: false | 'a' | 'tls';
}

const ROUTES: Route[] = [
  {
    name: 'Agent({ connect }) to b',
    url: () => topo.a.origin,
    dispatcher: () => new undici.Agent({ connect: connector(tcp(topo.ports.b)) }),
    lands: 'b',
    allowed: false,
  },
  {
    name: 'Client({ connect }) to b',
    url: () => topo.a.origin,
    dispatcher: () => new undici.Client(topo.a.origin, { connect: connector(tcp(topo.ports.b)) }),
    lands: 'b',
    allowed: false,
  },
  {
    name: 'Agent({ connect: { socketPath } })',
    url: () => topo.a.origin,
    dispatcher: () => new undici.Agent({ connect: { socketPath: SOCK } }),
    lands: 'pipe',
    allowed: false,
  },
  {
    name: 'https: Agent({ connect }) with TLS to 127.0.0.1 for localhost, not verified',
    url: () => `https://localhost:${topo.ports.tls}`,
    dispatcher: () =>
      new undici.Agent({
        connect: connector(tlsTo({ rejectUnauthorized: false }), 'secureConnect'),
      }),
    lands: 'tls',
    allowed: false,
  },
  // --- controls ---------------------------------------------------------------------------------
  {
    name: 'control: undici’s own connector',
    url: () => topo.a.origin,
    dispatcher: () => new undici.Agent(),
    lands: 'a',
    allowed: 'a',
  },
  {
    name: 'control: undici’s own connector, to b',
    url: () => topo.b.origin,
    dispatcher: () => new undici.Agent(),
    lands: 'b',
    allowed: false,
  },
  {
    name: 'control: a lookup resolving the allowlisted name',
    url: () => `http://${NAME}:${topo.ports.a}`,
    dispatcher: () =>
      new undici.Agent({ connect: { lookup: lookupTo127 as unknown as net.LookupFunction } }),
    lands: 'a',
    allowed: 'a',
  },
  {
    name: 'control: Agent({ connect }) that reaches the origin (its peer proves it)',
    url: () => topo.a.origin,
    dispatcher: () => new undici.Agent({ connect: connector(tcp(topo.ports.a)) }),
    lands: 'a',
    allowed: 'a',
  },
  {
    name: 'control: https, undici’s own connector',
    url: () => topo.tls.origin,
    dispatcher: () => new undici.Agent({ connect: { ca: topo.ca } }),
    lands: 'tls',
    allowed: 'tls',
  },
  {
    name: 'control: https, Agent({ connect }) with TLS to 127.0.0.1 for localhost, verified',
    url: () => `https://localhost:${topo.ports.tls}`,
    dispatcher: () =>
      new undici.Agent({
        connect: connector(tlsTo({ ca: topo.ca, servername: 'localhost' }), 'secureConnect'),
      }),
    lands: 'tls',
    allowed: 'tls',
  },
  {
    name: 'control: https, Agent({ connect }) with TLS verified for the origin',
    url: () => topo.tls.origin,
    dispatcher: () =>
      new undici.Agent({ connect: connector(tlsTo({ ca: topo.ca }), 'secureConnect') }),
    lands: 'tls',
    allowed: 'tls',
  },
];

type Send = (
  url: string,
  dispatcher: undici.Dispatcher,
  headers: Record<string, string>,
) => Promise<void>;
const grayFetch = withGray(undici.fetch);

const APIS: [string, Send][] = [
  [
    'undici.request',
    async (url, dispatcher, headers) => {
      await (await undici.request(url, { dispatcher, headers })).body.text();
    },
  ],
  [
    'undici.fetch',
    async (url, dispatcher, headers) => {
      await (await undici.fetch(url, { dispatcher, headers })).text();
    },
  ],
  [
    'withGray(undici.fetch)',
    async (url, dispatcher, headers) => {
      await (await grayFetch(url, { dispatcher, headers })).text();
    },
  ],
  [
    'grayInterceptor composed',
    async (url, dispatcher, headers) => {
      const composed = dispatcher.compose(grayInterceptor());
      await (await undici.request(url, { dispatcher: composed, headers })).body.text();
    },
  ],
  [
    'global fetch over setGlobalDispatcher',
    async (url, dispatcher, headers) => {
      const saved = undici.getGlobalDispatcher();
      undici.setGlobalDispatcher(dispatcher);
      try {
        await (await fetch(url, { headers })).text();
      } finally {
        undici.setGlobalDispatcher(saved);
      }
    },
  ],
];

/**
 * The APIs that add graylane's marker on a dispatcher of the caller's (installGlobal adds none
 * to `undici.fetch` there, nor to the first global `fetch` after `setGlobalDispatcher`: see
 * node.md, `installGlobal()`).
 */
const ADDS = new Set(['undici.request', 'withGray(undici.fetch)', 'grayInterceptor composed']);

const CONTENTS = [
  { name: 'graylane’s marker', headers: { baggage: 'a=1' } },
  {
    name: 'the caller’s marker and member',
    headers: { 'x-gray-id': 'stable', baggage: 'a=1,gray=stable' },
  },
];

function arrival(id: string): { site: string; ids: string[]; grays: string[] } {
  const hops = topo.hops(id);
  const p = piped.get(id);
  expect(hops.length + (p ? 1 : 0), `one arrival for ${id}`).toBe(1);
  if (p) return { site: 'pipe', ids: p.grayIds, grays: p.grays };
  const hop = hops[0]!;
  const grays = hop.baggage
    .flatMap((v) => v.split(','))
    .map((m) => m.trim())
    .filter((m) => m.startsWith('gray'));
  return { site: hop.server, ids: hop.grayIds, grays };
}

/**
 * Three requests on one dispatcher, one after the other: the first is queued while the Client
 * connects, a later one is written on a socket already connected (undici may reconnect once in
 * between: a second is not always on the first's socket). What arrived.
 */
async function thrice(
  send: Send,
  url: string,
  dispatcher: undici.Dispatcher,
  headers: Record<string, string>,
  lane: boolean,
): Promise<ReturnType<typeof arrival>[]> {
  const out: ReturnType<typeof arrival>[] = [];
  for (let n = 0; n < 3; n++) {
    const id = `u${++seq}`;
    const go = (): Promise<void> => send(`${url}/echo/${id}`, dispatcher, { ...headers });
    await (lane ? runWithGray('beta', go, { allowHosts }) : go());
    out.push(arrival(id));
  }
  await dispatcher.close();
  return out;
}

/** undici's own connector to an allowlisted server: what each API carries there. */
function reference(site: 'a' | 'tls'): { url: string; dispatcher: undici.Dispatcher } {
  return site === 'a'
    ? { url: topo.a.origin, dispatcher: new undici.Agent() }
    : { url: topo.tls.origin, dispatcher: new undici.Agent({ connect: { ca: topo.ca } }) };
}

describe.each(APIS)('%s', (_api, send) => {
  it.each(ROUTES.map((r) => [r.name, r] as const))(
    'CTX-13 I8 judged where the connection goes: %s',
    async (_name, route) => {
      for (const c of CONTENTS)
        for (const lane of [true, false]) {
          const got = await thrice(send, route.url(), route.dispatcher(), c.headers, lane);
          const ref = route.allowed && reference(route.allowed);
          const want = ref
            ? await thrice(send, ref.url, ref.dispatcher, c.headers, lane)
            : got.map(() => ({ site: route.lands, ids: [], grays: [] }));
          got.forEach((g, i) => {
            const where = `${lane ? 'lane' : 'no lane'}, ${c.name}, request ${i + 1}`;
            expect(g.site, `${where}: lands on`).toBe(route.lands);
            expect(g.ids, `${where}: X-Gray-Id`).toEqual(want[i]!.ids);
            expect(g.grays, `${where}: gray members`).toEqual(want[i]!.grays);
          });
          // The reference itself: graylane's marker where this API adds one, in a lane.
          if (ref && lane && c === CONTENTS[0] && ADDS.has(_api))
            expect(want[0]!.ids, 'the reference carries the marker').toEqual(['beta']);
        }
    },
  );
});
