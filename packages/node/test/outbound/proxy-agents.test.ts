import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installGlobal, runWithGray } from '../../src/index.js';
import { closeLocal, listenLocal, markersOf, startTopology, type Topology } from './servers.js';

/*
 * CTX-13 (review 128 D2) with `installGlobal()`: a tunnelling proxy agent — https-proxy-agent
 * (CONNECT; v5, the one axios 1.x builds for a proxied https target) and socks-proxy-agent
 * (SOCKS5) — makes its own connection, to its proxy, which relays the head (in clear for an
 * `http:` target). The old code judged the target alone and sent the marker, the caller's too,
 * through a proxy off the allowlist. An agent that names its proxy is now judged on the proxy and
 * the target, as http-proxy-agent's absolute-form requests are (forward-proxy.test.ts): both must
 * be allowlisted. Rows: target only (the old code failed it), proxy only and both (controls), in a
 * lane with graylane's marker and with the caller's, through `get` and a head Node renders in the
 * constructor, to an http and an https target. Skipped where the agents are not installed (they
 * come in through other packages' dependencies).
 */

const load = createRequire(import.meta.url);
type AgentCtor = new (proxy: string, opts?: object) => http.Agent;
function agentClass(id: string, name: string): AgentCtor | undefined {
  try {
    return (load(id) as Record<string, AgentCtor | undefined>)[name];
  } catch {
    return undefined;
  }
}
const HttpsProxyAgent = agentClass('https-proxy-agent', 'HttpsProxyAgent');
const SocksProxyAgent = agentClass('socks-proxy-agent', 'SocksProxyAgent');

let topo: Topology;
let connectProxy: http.Server;
let connectOrigin: string;
let socks: net.Server;
let socksPort: number;
let uninstall: () => void;
let seq = 0;
/** The markers on each CONNECT request the proxy received (the agent writes it, not Node). */
const tunnels: ReturnType<typeof markersOf>[] = [];
/** Every relayed socket, both ends: closed with the servers (a tunnel outlives its request). */
const relayed = new Set<net.Socket>();

/** Pipes `client` to host:port once connected, after writing `ready`. */
function relay(client: net.Socket, host: string, port: number, ready: Buffer | string): void {
  relayed.add(client);
  const up = net.connect(port, host, () => {
    client.write(ready);
    up.pipe(client);
    client.pipe(up);
  });
  relayed.add(up);
  up.on('error', () => client.destroy());
  client.on('error', () => up.destroy());
}

/** A SOCKS5 server (no authentication, CONNECT to an IPv4 address or a name). */
function socksServer(): net.Server {
  return net.createServer((client) => {
    client.once('data', () => {
      client.write(Buffer.from([5, 0]));
      client.once('data', (req: Buffer) => {
        const v4 = req[3] === 1;
        const len = v4 ? 4 : (req[4] ?? 0);
        const start = v4 ? 4 : 5;
        const host = v4
          ? [...req.subarray(4, 8)].join('.')
          : req.subarray(start, start + len).toString();
        const port = req.readUInt16BE(start + len);
        relay(client, host, port, Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
      });
    });
  });
}

beforeAll(async () => {
  topo = await startTopology();
  connectProxy = http.createServer((_req, res) => res.writeHead(405).end());
  connectProxy.on('connect', (req: IncomingMessage, client: net.Socket) => {
    tunnels.push(markersOf(req));
    const [host = '', port = ''] = (req.url ?? '').split(/:(?=\d+$)/);
    relay(client, host, Number(port), 'HTTP/1.1 200 Connection Established\r\n\r\n');
  });
  connectOrigin = await listenLocal(connectProxy);
  socks = socksServer();
  await new Promise<void>((resolve) => socks.listen(0, '127.0.0.1', resolve));
  socksPort = (socks.address() as AddressInfo).port;
  uninstall = installGlobal();
});
afterAll(async () => {
  uninstall();
  for (const s of relayed) s.destroy();
  await closeLocal(connectProxy);
  await new Promise<void>((resolve) => socks.close(() => resolve()));
  await topo.close();
});

interface Proxy {
  readonly name: string;
  readonly agent: (secure: boolean) => http.Agent;
  /** What the allowlist must name for the proxy. */
  readonly allowed: () => string;
}

const PROXIES: Proxy[] = [
  ...(HttpsProxyAgent
    ? [
        {
          name: 'https-proxy-agent (CONNECT)',
          agent: () => new HttpsProxyAgent(connectOrigin),
          allowed: () => connectOrigin,
        },
      ]
    : []),
  ...(SocksProxyAgent
    ? [
        {
          name: 'socks-proxy-agent (SOCKS5)',
          agent: () => new SocksProxyAgent(`socks5://127.0.0.1:${socksPort}`),
          allowed: () => `127.0.0.1:${socksPort}`,
        },
      ]
    : []),
];

type Call = (url: URL, options: https.RequestOptions) => Promise<void>;
const moduleFor = (url: URL): typeof http =>
  (url.protocol === 'https:' ? https : http) as typeof http;
const wait =
  (resolve: () => void) =>
  (res: IncomingMessage): void => {
    res.resume();
    res.on('end', resolve);
  };

const CALLS: [string, Call][] = [
  [
    'get(url, options)',
    (url, o) =>
      new Promise((resolve, reject) => {
        moduleFor(url).get(url, o, wait(resolve)).on('error', reject);
      }),
  ],
  [
    'request(url, options), [name, value] headers (rendered in the constructor)',
    (url, o) =>
      new Promise((resolve, reject) => {
        const list = Object.entries(o.headers ?? {}).map(([n, v]) => [n, String(v)]);
        const headers = [['Host', url.host], ...list] as unknown as http.OutgoingHttpHeaders;
        const req = moduleFor(url).request(url, { ...o, headers }, wait(resolve));
        req.on('error', reject);
        req.end();
      }),
  ],
];

const CONTENTS = [
  { name: 'graylane’s marker', headers: {}, ids: ['beta'], grays: ['gray=beta'] },
  {
    name: 'the caller’s marker and member',
    headers: { 'X-Gray-Id': 'stable', baggage: 'gray=stable' },
    ids: ['stable'],
    grays: ['gray=stable'],
  },
];

type Allow = [string, (target: string, proxy: string) => string[], boolean];
const ALLOWS: Allow[] = [
  ['only the target allowlisted', (t) => [t], false],
  ['control: only the proxy allowlisted', (_t, p) => [p], false],
  ['control: the proxy and the target allowlisted', (t, p) => [t, p], true],
];

const rows = PROXIES.flatMap((p) =>
  ['a', 'tls'].flatMap((target) =>
    ALLOWS.map(
      ([allowName, allow, marker]) =>
        [
          `${p.name}, ${target === 'tls' ? 'https' : 'http'} target, ${allowName}`,
          p,
          target as 'a' | 'tls',
          allow,
          marker,
        ] as const,
    ),
  ),
);

describe.runIf(PROXIES.length > 0).each(CALLS)('%s', (_callName, call) => {
  it.each(rows)(
    'CTX-13 I8 a tunnelling proxy agent is judged with the target: %s',
    async (_name, proxy, target, allow, marker) => {
      for (const c of CONTENTS) {
        const id = `p${++seq}`;
        const site = topo[target];
        const url = new URL(`${site.origin}/echo/${id}`);
        const agent = proxy.agent(target === 'tls');
        const allowHosts = allow(site.origin, proxy.allowed());
        const options = { agent, ca: topo.ca, headers: { ...c.headers } };
        const before = tunnels.length;
        await runWithGray('beta', () => call(url, options), { allowHosts });
        agent.destroy();
        const hops = topo.hops(id);
        expect(hops, `${c.name}: one hop`).toHaveLength(1);
        const hop = hops[0]!;
        const grays = hop.baggage
          .flatMap((v) => v.split(','))
          .map((m) => m.trim())
          .filter((m) => m.startsWith('gray'));
        expect(hop.grayIds, `${c.name}: X-Gray-Id`).toEqual(marker ? c.ids : []);
        expect(grays, `${c.name}: gray members`).toEqual(marker ? c.grays : []);
        for (const t of tunnels.slice(before))
          expect(t, `${c.name}: the CONNECT request`).toEqual({ grayIds: [], grays: [] });
      }
    },
  );
});
