import http2 from 'node:http2';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import axios from 'axios';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  coverageStats,
  grayInterceptor,
  installCoverage,
  installGlobal,
  outboundStats,
  runWithGray,
  withGray,
} from '../../src/index.js';
import { selfSignedCert } from './servers.js';

/*
 * CTX-13 (helper 140), the undici form over HTTP/2 and for connections graylane never saw made.
 * undici builds an HTTP/2 head from the request's header list *before* it calls `onConnect`, so
 * the old guard (which cleaned the list there) let the marker through on a Client whose `connect`
 * function went elsewhere: `allowH2` with the caller's connector, graylane's marker and the
 * caller's reached a host off the allowlist (undici.request, Client/Pool#request, fetch,
 * withGray, grayInterceptor, global fetch, axios' fetch adapter). And a connection opened before
 * graylane watched undici (before installGlobal) was never checked at all, HTTP/1.1 or HTTP/2.
 * Now every request graylane judges is checked right before its head is built, on the
 * connection its Client writes it on; a Client graylane does not know yet (connected before)
 * proves nothing, and is known from its first head on.
 *
 * Each row: one dispatcher, three requests one after the other, for each content (a lane with
 * graylane's marker, a lane with the caller's marker and member, no lane with the caller's marker
 * judged by installGlobal's allowHosts), over HTTP/1.1 and HTTP/2 (the protocol that arrived is
 * asserted). A proven route must carry exactly what undici's own connector carries to the
 * allowlisted server (the reference); an unproven one nothing, and is counted as a hop to a host
 * off the allowlist: `outboundStats()` `skipped_host` where the reference has `injected`, and
 * coverage `withheld` where the reference has `carried` or `missing`.
 */

const TLS = selfSignedCert();
/** undici 6.6 keeps a request's head as one string (read before `onConnect`, both protocols). */
const undici66 = createRequire(import.meta.url)('undici-6-6') as typeof undici;
type Proto = 'h1' | 'h2';
interface Arrival {
  readonly site: string;
  readonly version: string;
  /** The client's port: which connection it came on. */
  readonly port: number | undefined;
  readonly ids: string[];
  readonly grays: string[];
}

const seen = new Map<string, Arrival[]>();
const servers: http2.Http2SecureServer[] = [];
let pa = 0;
let pb = 0;
let A = '';
let LOCAL = '';
let allowHosts: string[] = [];

async function start(site: string): Promise<number> {
  const server = http2.createSecureServer({ key: TLS.key, cert: TLS.cert, allowHTTP1: true });
  server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    const id = req.url.split('/')[2] ?? '';
    const lines = (name: string): string[] =>
      req.rawHeaders.filter((_, i) => i % 2 === 1 && req.rawHeaders[i - 1]?.toLowerCase() === name);
    const grays = lines('baggage')
      .flatMap((v) => v.split(','))
      .map((m) => m.trim())
      .filter((m) => m.startsWith('gray'));
    const list = seen.get(id) ?? [];
    const port = req.socket.remotePort;
    list.push({ site, version: req.httpVersion, port, ids: lines('x-gray-id'), grays });
    seen.set(id, list);
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

type Connector = undici.buildConnector.connector;

/** A connector of the caller's to 127.0.0.1:`port` (certificate not checked), ALPN by protocol. */
const tlsTo =
  (port: () => number, proto: Proto): Connector =>
  (_opts, cb) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: port(),
      rejectUnauthorized: false,
      ALPNProtocols: proto === 'h2' ? ['h2', 'http/1.1'] : ['http/1.1'],
    });
    socket.once('secureConnect', () => cb(null, socket));
    socket.once('error', (e) => cb(e, null));
  };

interface Route {
  readonly name: string;
  readonly url: () => string;
  readonly options: (proto: Proto) => undici.Client.Options;
  readonly lands: 'a' | 'b';
  readonly proven: boolean;
  /** The protocols it is tried over (default both). */
  readonly protos?: readonly Proto[];
}

const own = (proto: Proto): undici.Client.Options => ({
  allowH2: proto === 'h2',
  connect: { ca: TLS.cert },
});

const ROUTES: Route[] = [
  {
    name: 'connect function to b',
    url: () => A,
    options: (proto) => ({ allowH2: proto === 'h2', connect: tlsTo(() => pb, proto) }),
    lands: 'b',
    proven: false,
  },
  {
    name: 'connect function to 127.0.0.1 for localhost, certificate not checked',
    url: () => LOCAL,
    options: (proto) => ({ allowH2: proto === 'h2', connect: tlsTo(() => pa, proto) }),
    lands: 'a',
    proven: false,
    // Over HTTP/1.1: undici-connection.test.ts.
    protos: ['h2'],
  },
  {
    name: 'control: connect function to a (its peer proves it)',
    url: () => A,
    options: (proto) => ({ allowH2: proto === 'h2', connect: tlsTo(() => pa, proto) }),
    lands: 'a',
    proven: true,
  },
];

type Kind = 'Client' | 'Pool' | 'Agent';
type Send = (url: string, d: undici.Dispatcher, headers: Record<string, string>) => Promise<void>;
interface Api {
  readonly name: string;
  readonly kind: Kind;
  readonly send: Send;
}

const viaGlobal =
  (go: (url: string, headers: Record<string, string>) => Promise<void>): Send =>
  async (url, d, headers) => {
    const saved = undici.getGlobalDispatcher();
    undici.setGlobalDispatcher(d);
    try {
      await go(url, headers);
    } finally {
      undici.setGlobalDispatcher(saved);
    }
  };

let grayFetch: typeof undici.fetch;
const axiosFetch = axios.create({ adapter: 'fetch' });

const request: Send = async (url, d, headers) => {
  await (await undici.request(url, { dispatcher: d, headers })).body.text();
};
const own_: Send = async (url, d, headers) => {
  const { pathname } = new URL(url);
  await (await d.request({ path: pathname, method: 'GET', headers })).body.text();
};
const composed: Send = async (url, d, headers) => {
  const c = d.compose(grayInterceptor());
  if (d instanceof undici.Agent) await request(url, c, headers);
  else await own_(url, c, headers);
};

const APIS: Api[] = [
  { name: 'undici.request', kind: 'Client', send: request },
  { name: 'undici.request', kind: 'Pool', send: request },
  { name: 'undici.request', kind: 'Agent', send: request },
  { name: 'Client#request', kind: 'Client', send: own_ },
  { name: 'Pool#request', kind: 'Pool', send: own_ },
  {
    name: 'undici.fetch',
    kind: 'Agent',
    send: async (url, d, headers) =>
      void (await (await undici.fetch(url, { dispatcher: d, headers })).text()),
  },
  {
    name: 'withGray(undici.fetch)',
    kind: 'Agent',
    send: async (url, d, headers) =>
      void (await (await grayFetch(url, { dispatcher: d, headers })).text()),
  },
  { name: 'grayInterceptor composed', kind: 'Client', send: composed },
  { name: 'grayInterceptor composed', kind: 'Agent', send: composed },
  {
    name: 'global fetch',
    kind: 'Agent',
    send: viaGlobal(async (url, headers) => void (await (await fetch(url, { headers })).text())),
  },
  {
    name: 'axios (fetch adapter)',
    kind: 'Agent',
    send: viaGlobal(async (url, headers) => void (await axiosFetch.get(url, { headers }))),
  },
];

const make = (kind: Kind, url: string, options: undici.Client.Options): undici.Dispatcher =>
  kind === 'Client'
    ? new undici.Client(url, options)
    : kind === 'Pool'
      ? new undici.Pool(url, options)
      : new undici.Agent(options);

interface Content {
  readonly name: string;
  readonly lane: boolean;
  readonly headers: Record<string, string>;
}
const CONTENTS: Content[] = [
  { name: 'lane, graylane’s marker', lane: true, headers: { baggage: 'a=1' } },
  {
    name: 'lane, the caller’s marker and member',
    lane: true,
    headers: { 'x-gray-id': 'stable', baggage: 'a=1,gray=stable' },
  },
  {
    name: 'no lane, the caller’s marker and member',
    lane: false,
    headers: { 'x-gray-id': 'stable', baggage: 'a=1,gray=stable' },
  },
];

interface Tally {
  readonly injected: number;
  readonly skipped_host: number;
  readonly skipped_caller: number;
  readonly skipped_context: number;
  readonly carried: number;
  readonly missing: number;
  readonly withheld: number;
}

function tally(): Tally {
  const o = outboundStats().outbound;
  const c = { carried: 0, missing: 0, withheld: 0 };
  for (const d of coverageStats().destinations) {
    c.carried += d.carried;
    c.missing += d.missing;
    c.withheld += d.withheld;
  }
  return { ...o, ...c };
}
const minus = (x: Tally, y: Tally): Tally =>
  Object.fromEntries(
    Object.keys(x).map((k) => [k, x[k as keyof Tally] - y[k as keyof Tally]]),
  ) as unknown as Tally;

let seq = 0;
/** The first request is queued while the Client connects, the second written on the connection. */
const REQUESTS = 2;

/** {@link REQUESTS} requests on `d`, one after the other: what arrived, and what was counted. */
async function thrice(
  api: Api,
  url: string,
  d: undici.Dispatcher,
  content: Content,
): Promise<{ got: Arrival[]; counted: Tally }> {
  const before = tally();
  const got: Arrival[] = [];
  for (let n = 0; n < REQUESTS; n++) {
    const id = `h${++seq}`;
    const go = (): Promise<void> => api.send(`${url}/t/${id}`, d, { ...content.headers });
    await (content.lane ? runWithGray('beta', go, { allowHosts }) : go());
    const arrived = seen.get(id) ?? [];
    expect(arrived, `one arrival for ${id}`).toHaveLength(1);
    got.push(arrived[0]!);
  }
  return { got, counted: minus(tally(), before) };
}

const references = new Map<string, { got: Arrival[]; counted: Tally }>();

/** undici's own connector to the allowlisted server: what this API carries and counts there. */
async function reference(api: Api, proto: Proto, content: Content) {
  const key = `${api.name}|${api.kind}|${proto}|${content.name}`;
  let ref = references.get(key);
  if (ref === undefined) {
    const d = make(api.kind, A, own(proto));
    ref = await thrice(api, A, d, content);
    await d.close();
    references.set(key, ref);
  }
  return ref;
}

/** The markers only, for comparing arrivals. */
const markers = (a: Arrival) => ({ ids: a.ids, grays: a.grays });

/** A hop to a host off the allowlist: the reference's `injected` hops counted `skipped_host`. */
function offAllowlist(ref: Tally): Tally {
  return {
    ...ref,
    injected: 0,
    skipped_host: ref.skipped_host + ref.injected,
    carried: 0,
    missing: 0,
    withheld: ref.withheld + ref.carried + ref.missing,
  };
}

/**
 * {@link REQUESTS} requests of `content` on a new dispatcher from `makeOne` for `route`: each lands
 * where the route goes, over `proto`; a proven route carries and counts what the reference `ref`
 * did, an unproven one carries nothing and counts a hop off the allowlist.
 */
async function expectLikeReference(
  makeOne: typeof make,
  api: Api,
  proto: Proto,
  route: Route,
  content: Content,
  ref: { got: Arrival[]; counted: Tally },
): Promise<void> {
  const d = makeOne(api.kind, route.url(), route.options(proto));
  const { got, counted } = await thrice(api, route.url(), d, content);
  await d.close();
  got.forEach((g, i) => {
    const where = `${content.name}, request ${i + 1}`;
    expect(g.site, `${where}: lands on`).toBe(route.lands);
    expect(g.version, `${where}: protocol`).toBe(proto === 'h2' ? '2.0' : '1.1');
    expect(markers(g), `${where}: markers`).toEqual(
      route.proven ? markers(ref.got[i]!) : { ids: [], grays: [] },
    );
  });
  expect(counted, `${content.name}: counted`).toEqual(
    route.proven ? ref.counted : offAllowlist(ref.counted),
  );
}

const PROTOS: Proto[] = ['h1', 'h2'];

/**
 * What each row sends (CI time is short): every content over HTTP/2; over HTTP/1.1, which
 * undici-connection.test.ts covers in a lane and with none, the lanes (for the counts). A proven
 * route: graylane's marker (its caller's-marker and no-lane forms are as before).
 */
function contentsFor(proto: Proto, route: Route): Content[] {
  if (route.proven) return [CONTENTS[0]!];
  return proto === 'h2' ? CONTENTS : CONTENTS.filter((c) => c.lane);
}
const ROWS = APIS.flatMap((api) =>
  PROTOS.flatMap((proto) =>
    ROUTES.filter((r) => (r.protos ?? PROTOS).includes(proto)).map(
      (route) =>
        [`${api.name} on ${api.kind}, ${proto}: ${route.name}`, api, proto, route] as const,
    ),
  ),
);

/** The connection, not the API, is what differs before installGlobal: one API per kind and path. */
const EARLY_APIS = new Set([
  'undici.request',
  'withGray(undici.fetch)',
  'grayInterceptor composed',
  'global fetch',
]);
const EARLY_ROWS = ROWS.filter(([, api]) => EARLY_APIS.has(api.name) && api.kind !== 'Client');

/** Dispatchers connected before graylane watched undici (made in beforeAll, first of all). */
const early = new Map<string, { d: undici.Dispatcher; port: number | undefined }>();
const earlyKey = (api: Api, proto: Proto, route: Route): string =>
  `${api.name}|${api.kind}|${proto}|${route.name}`;

let uninstall: () => void;
let uninstallCoverage: () => void;

beforeAll(async () => {
  pa = await start('a');
  pb = await start('b');
  A = `https://127.0.0.1:${pa}`;
  LOCAL = `https://localhost:${pa}`;
  allowHosts = [A, LOCAL];
  // Nothing of graylane runs before these connect: no install, no wrapper made yet.
  for (const [, api, proto, route] of EARLY_ROWS) {
    const d = make(api.kind, route.url(), route.options(proto));
    const id = `warm${++seq}`;
    // undici.request on the dispatcher itself: a wrapper's first use would start graylane.
    await request(`${route.url()}/t/${id}`, d, {});
    early.set(earlyKey(api, proto, route), { d, port: seen.get(id)?.[0]?.port });
  }
  uninstall = installGlobal({ allowHosts });
  uninstallCoverage = installCoverage({
    unbound: false,
    logger: { warn: () => undefined, error: () => undefined },
  });
  grayFetch = withGray(undici.fetch);
});

afterAll(async () => {
  uninstallCoverage();
  uninstall();
  await Promise.all([...early.values()].map(({ d }) => d.close()));
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

describe('connected after installGlobal', () => {
  it.each(ROWS)(
    'CTX-13 I8 judged on the connection it is written on: %s',
    async (_n, api, proto, route) => {
      for (const content of contentsFor(proto, route)) {
        const ref = await reference(api, proto, content);
        await expectLikeReference(make, api, proto, route, content, ref);
      }
    },
  );

  it('the reference carries the marker where the API adds one (the rows above could fail)', async () => {
    const adds = APIS.filter(
      (a) => a.name !== 'undici.fetch' && a.name !== 'global fetch' && !a.name.startsWith('axios'),
    );
    for (const api of adds)
      for (const proto of PROTOS) {
        const ref = await reference(api, proto, CONTENTS[0]!);
        expect(
          ref.got.map((g) => g.ids),
          `${api.name} on ${api.kind}, ${proto}`,
        ).toEqual([['beta'], ['beta']]);
        expect(ref.counted.injected).toBe(REQUESTS);
      }
  });
});

describe('connected before installGlobal', () => {
  it.each(EARLY_ROWS)(
    'CTX-13 a connection graylane never saw made proves nothing until it is seen: %s',
    async (_n, api, proto, route) => {
      const ref = await reference(api, proto, CONTENTS[0]!);
      const { d, port } = early.get(earlyKey(api, proto, route))!;
      expect(port, 'the warm-up connection').toBeDefined();
      const { got, counted } = await thrice(api, route.url(), d, CONTENTS[0]!);
      got.forEach((g, i) => {
        const where = `request ${i + 1}`;
        expect(g.site, `${where}: lands on`).toBe(route.lands);
        expect(g.version, `${where}: protocol`).toBe(proto === 'h2' ? '2.0' : '1.1');
        // The first request written on the connection made before (a pool may put another on
        // a new connection first) goes before graylane has seen it: fail closed. Its head tells
        // graylane whose connection it is, and the next ones on it are judged by its peer.
        const first = g.port === port && !got.slice(0, i).some((e) => e.port === port);
        expect(markers(g), `${where}: markers`).toEqual(
          route.proven && !first ? markers(ref.got[i]!) : { ids: [], grays: [] },
        );
      });
      if (!route.proven) expect(counted, 'counted').toEqual(offAllowlist(ref.counted));
    },
  );
});

describe('undici 6.6: a head kept as one string', () => {
  const STRING_APIS: Api[] = [
    { name: 'undici 6.6 request', kind: 'Client', send: (u, d, h) => request66(u, d, h) },
    { name: 'undici 6.6 request', kind: 'Agent', send: (u, d, h) => request66(u, d, h) },
  ];
  const request66: Send = async (url, d, headers) => {
    await (await undici66.request(url, { dispatcher: d, headers })).body.text();
  };
  const make66 = (kind: Kind, url: string, options: undici.Client.Options): undici.Dispatcher =>
    kind === 'Client' ? new undici66.Client(url, options) : new undici66.Agent(options);
  // HTTP/1.1: undici 6.6 builds a request on a Client already speaking HTTP/2 with its head as
  // an object (graylane's undici listener reads none of it; installGlobal's HTTP/2 patch judges
  // such a session), so its string head matters over HTTP/1.1.
  const rows = STRING_APIS.flatMap((api) =>
    ROUTES.filter((r) => (r.protos ?? PROTOS).includes('h1')).map(
      (route) => [`${api.kind}, h1: ${route.name}`, api, 'h1' as Proto, route] as const,
    ),
  );
  const refs66 = new Map<string, Awaited<ReturnType<typeof thrice>>>();
  it.each(rows)('CTX-13 I8 judged when its head is read: %s', async (_n, api, proto, route) => {
    for (const content of CONTENTS.filter((c) => c.lane)) {
      let ref = refs66.get(`${api.kind}|${content.name}`);
      if (ref === undefined) {
        const rd = make66(api.kind, A, own(proto));
        ref = await thrice(api, A, rd, content);
        await rd.close();
        refs66.set(`${api.kind}|${content.name}`, ref);
      }
      await expectLikeReference(make66, api, proto, route, content, ref);
      if (content === CONTENTS[0]) expect(ref.counted.injected, 'the reference').toBe(REQUESTS);
    }
  });
});
