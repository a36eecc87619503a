import http, { type IncomingMessage } from 'node:http';
import http2, { type ClientHttp2Session } from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installGlobal, runWithGray } from '../../src/index.js';
import {
  expectH2Judged,
  H2_CONTENTS,
  openH2Session,
  send,
  startH2Topology,
  type H2Topology,
} from './h2-servers.js';
import { closeLocal, listenLocal, markersOf, type Markers } from './servers.js';

/*
 * CTX-13 (helper 140): an HTTP/2 session graylane did not see made — opened before
 * `installGlobal()`, or through a `connect` taken from `node:http2` before it — was judged on its
 * authority alone, so one whose `createConnection`, `host`/`port` options or TLS socket went
 * elsewhere sent graylane's marker, and the caller's, to a host off the allowlist. Now such a
 * session is judged by its socket when `request()` is called, once it is connected (its peer
 * address and port, or a verified certificate, as for a connection other code made); a Node
 * connection to the authority proves it. What is left (docs/node.md): a session still connecting
 * when `request()` is called tells nothing of where it goes, and is judged on its authority.
 * Controls: node:http, https and axios' http adapter over keep-alive sockets opened before
 * `installGlobal()` are judged on the agent that made them, as always.
 */

/** `http2.connect` as taken before `installGlobal()` wraps it. */
const takenBefore = http2.connect;

let topo: H2Topology;
let uninstall: () => void;
let seq = 0;
const sessions = new Set<ClientHttp2Session>();

const h2c = (port: () => number) => (): net.Socket => net.connect(port(), '127.0.0.1');
const overTls = (options: tls.ConnectionOptions) => (): tls.TLSSocket =>
  tls.connect({ host: '127.0.0.1', port: topo.ports.tls, ALPNProtocols: ['h2'], ...options });

interface Route {
  readonly name: string;
  readonly authority: () => string;
  readonly options: () => http2.SecureClientSessionOptions;
  readonly lands: 'a' | 'b' | 'tls';
  readonly proven: boolean;
}

const ROUTES: Route[] = [
  {
    name: 'createConnection to b',
    authority: () => topo.origins.a,
    options: () => ({ createConnection: h2c(() => topo.ports.b) }),
    lands: 'b',
    proven: false,
  },
  {
    name: 'options.port of b',
    authority: () => topo.origins.a,
    options: () => ({ port: topo.ports.b }),
    lands: 'b',
    proven: false,
  },
  {
    name: 'options.host and port of b, authority a',
    authority: () => topo.origins.a,
    options: () => ({ host: '127.0.0.1', port: topo.ports.b }),
    lands: 'b',
    proven: false,
  },
  {
    name: 'https: createConnection to 127.0.0.1 for authority localhost, certificate not checked',
    authority: () => `https://localhost:${topo.ports.tls}`,
    options: () => ({ createConnection: overTls({ rejectUnauthorized: false }) }),
    lands: 'tls',
    proven: false,
  },
  {
    name: 'https: options.host 127.0.0.1 for authority localhost, certificate not checked',
    authority: () => `https://localhost:${topo.ports.tls}`,
    options: () => ({ rejectUnauthorized: false, host: '127.0.0.1' }),
    lands: 'tls',
    proven: false,
  },
  // --- controls ---------------------------------------------------------------------------------
  {
    name: 'control: Node connects to the authority',
    authority: () => topo.origins.a,
    options: () => ({}),
    lands: 'a',
    proven: true,
  },
  {
    name: 'control: options.host localhost, the authority’s address (its peer proves it)',
    authority: () => topo.origins.a,
    options: () => ({ host: 'localhost' }),
    lands: 'a',
    proven: true,
  },
  {
    name: 'control: createConnection to the authority’s address and port',
    authority: () => topo.origins.a,
    options: () => ({ createConnection: h2c(() => topo.ports.a) }),
    lands: 'a',
    proven: true,
  },
  {
    name: 'control: https, Node connects, certificate verified',
    authority: () => topo.origins.tls,
    options: () => ({ ca: topo.ca }),
    lands: 'tls',
    proven: true,
  },
  {
    name: 'control: https, Node connects to the name, certificate not checked',
    authority: () => `https://localhost:${topo.ports.tls}`,
    options: () => ({ rejectUnauthorized: false }),
    lands: 'tls',
    proven: true,
  },
  {
    name: 'control: https, createConnection whose verified certificate names the authority',
    authority: () => `https://localhost:${topo.ports.tls}`,
    options: () => ({ createConnection: overTls({ ca: topo.ca, servername: 'localhost' }) }),
    lands: 'tls',
    proven: true,
  },
];

/** One session per route, made with the original `connect` before installGlobal, connected. */
const early = new Map<string, ClientHttp2Session>();

const open = (connect: typeof http2.connect, route: Route): Promise<ClientHttp2Session> =>
  openH2Session(connect, route.authority(), route.options(), sessions);

// node:http controls: one keep-alive socket each, opened before installGlobal.
let hA: http.Server;
let hB: http.Server;
let hAOrigin = '';
const hSeen = new Map<string, { site: string; markers: Markers }>();
const recorder = (site: string) => (req: IncomingMessage, res: http.ServerResponse) => {
  hSeen.set(req.url ?? '', { site, markers: markersOf(req) });
  req.resume();
  res.end('ok');
};

interface HttpRoute {
  readonly name: string;
  readonly agent: () => http.Agent;
  readonly send: (agent: http.Agent, url: string, headers: Record<string, string>) => Promise<void>;
  readonly lands: 'a' | 'b';
  readonly proven: boolean;
}

const viaHttp = (agent: http.Agent, url: string, headers: Record<string, string>) =>
  new Promise<void>((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
  });
const viaAxios = async (agent: http.Agent, url: string, headers: Record<string, string>) => {
  await axios.get(url, { adapter: 'http', httpAgent: agent, headers, proxy: false });
};
/** A keep-alive agent whose own createConnection goes to b. */
function agentToB(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  Object.assign(agent, {
    createConnection: () => net.connect(Number(new URL(hBOrigin).port), '127.0.0.1'),
  });
  return agent;
}
let hBOrigin = '';

const HTTP_ROUTES: HttpRoute[] = [
  {
    name: 'control: http, an agent whose own createConnection goes to b',
    agent: agentToB,
    send: viaHttp,
    lands: 'b',
    proven: false,
  },
  {
    name: 'control: axios http adapter, an agent whose own createConnection goes to b',
    agent: agentToB,
    send: viaAxios,
    lands: 'b',
    proven: false,
  },
  {
    name: 'control: http, a keep-alive agent of Node’s',
    agent: () => new http.Agent({ keepAlive: true, maxSockets: 1 }),
    send: viaHttp,
    lands: 'a',
    proven: true,
  },
  {
    name: 'control: axios http adapter, a keep-alive agent of Node’s',
    agent: () => new http.Agent({ keepAlive: true, maxSockets: 1 }),
    send: viaAxios,
    lands: 'a',
    proven: true,
  },
];
const agents = new Map<string, http.Agent>();

beforeAll(async () => {
  topo = await startH2Topology();
  hA = http.createServer(recorder('a'));
  hB = http.createServer(recorder('b'));
  hAOrigin = await listenLocal(hA);
  hBOrigin = await listenLocal(hB);
  for (const route of ROUTES) early.set(route.name, await open(takenBefore, route));
  for (const route of HTTP_ROUTES) {
    const agent = route.agent();
    await route.send(agent, `${hAOrigin}/warm`, {});
    agents.set(route.name, agent);
  }
  uninstall = installGlobal({
    allowHosts: [topo.origins.a, topo.origins.tls, `https://localhost:${topo.ports.tls}`, hAOrigin],
  });
});

afterAll(async () => {
  uninstall();
  for (const s of sessions) s.destroy();
  for (const a of agents.values()) a.destroy();
  await Promise.all([closeLocal(hA), closeLocal(hB), topo.close()]);
});

function judged(session: ClientHttp2Session, route: Route): Promise<void> {
  return expectH2Judged(route.lands, route.proven, {
    session: () => session,
    path: () => `/before/${++seq}`,
    hops: (path) => topo.hops(path),
    inLane: (go) => runWithGray('beta', go),
  });
}

describe('an HTTP/2 session opened before installGlobal', () => {
  it.each(ROUTES.map((r) => [r.name, r] as const))(
    'CTX-13 I8 judged by its socket: %s',
    async (_n, route) => judged(early.get(route.name)!, route),
  );
});

describe('an HTTP/2 session made after installGlobal with a connect taken before it', () => {
  it.each(ROUTES.map((r) => [r.name, r] as const))(
    'CTX-13 I8 judged by its socket: %s',
    async (_n, route) => judged(await open(takenBefore, route), route),
  );

  it('what is left (docs/node.md): a session still connecting is judged on its authority', async () => {
    const route: Route = { ...ROUTES[0]!, proven: true };
    const session = await openH2Session(
      takenBefore,
      route.authority(),
      route.options(),
      sessions,
      false,
    );
    const path = `/before/${++seq}`;
    await runWithGray('beta', () => send(session, { ':path': path }));
    expect(topo.hops(path).map((h) => [h.server, h.grayIds])).toEqual([['b', ['beta']]]);
  });
});

describe('controls: node:http keep-alive sockets opened before installGlobal', () => {
  it.each(HTTP_ROUTES.map((r) => [r.name, r] as const))(
    'CTX-13 judged on the agent that connects: %s',
    async (_n, route) => {
      const agent = agents.get(route.name)!;
      for (const c of H2_CONTENTS)
        for (const lane of [true, false]) {
          const path = `/h/${++seq}`;
          const go = (): Promise<void> => route.send(agent, `${hAOrigin}${path}`, c.headers);
          await (lane ? runWithGray('beta', go) : go());
          const got = hSeen.get(path);
          const where = `${lane ? 'lane' : 'no lane'}, ${c.name}`;
          expect(got?.site, `${where}: lands on`).toBe(route.lands);
          const want = route.proven ? (lane ? c.lane : c.none) : { ids: [], grays: [] };
          expect(got?.markers, `${where}: markers`).toEqual({
            grayIds: want.ids,
            grays: want.grays,
          });
        }
    },
  );
});
