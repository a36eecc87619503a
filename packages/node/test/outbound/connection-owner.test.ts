import { rmSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installGlobal, runWithGray } from '../../src/index.js';
import { closeLocal, markersOf, startTopology, type Topology } from './servers.js';

/*
 * CTX-13 (review 128 D2) with `installGlobal({ allowHosts })`: the host Node connects to decides,
 * and Node connects only through its own Agent (or `net`, with no agent). The old code judged the
 * request's host and port whoever made the connection: a `createConnection` in the options, an
 * agent's own `createConnection`/`createSocket`/`addRequest` (set on the agent object), and the `host`/`port`/`socketPath`
 * Node merges from a Node Agent's own options could send the marker, and the caller's, to a host
 * off the allowlist (or withhold it from an allowlisted one). Now a connection made by other code
 * is judged like a `socketPath` (no marker, the caller's removed: I8) and a Node Agent's options
 * are judged where Node sends them. Each route says where the head really lands (asserted), in
 * a lane and with none, with graylane's marker and with the caller's, through `http.get`,
 * (An agent class overriding those methods — agentkeepalive, msw's and nock's mock agents — is
 * taken to connect where the request names: its rows say so, including one that does not.)
 * `http.request(options)` and a head Node renders in the constructor (judged before the
 * request is built). Controls: Node's own agents (default, keep-alive reused, `agent: false`,
 * https) keep the marker on the allowlisted host and get none elsewhere, and a `lookup` only
 * resolves the name that is judged.
 */

const NAME = 'orders.graylane.test';
const OTHER_NAME = 'other.graylane.test';
const SOCK = join(tmpdir(), `graylane-conn-${process.pid}.sock`);

let topo: Topology;
let pipe: http.Server;
let uninstall: () => void;
let seq = 0;
const piped = new Map<string, ReturnType<typeof markersOf>>();

beforeAll(async () => {
  topo = await startTopology();
  rmSync(SOCK, { force: true });
  pipe = http.createServer({ requireHostHeader: false }, (req: IncomingMessage, res) => {
    piped.set(new URL(req.url ?? '/', 'http://x').pathname.split('/')[2] ?? '', markersOf(req));
    req.resume();
    res.end('pipe');
  });
  await new Promise<void>((resolve) => pipe.listen(SOCK, resolve));
  uninstall = installGlobal({
    allowHosts: [topo.a.origin, topo.tls.origin, `http://${NAME}:${topo.ports.a}`],
  });
});
afterAll(async () => {
  uninstall();
  await closeLocal(pipe);
  await topo.close();
});

type Site = 'a' | 'b' | 'tls' | 'pipe';
const portOf = (s: 'a' | 'b'): number => topo.ports[s];
const toB = (): net.Socket => net.connect(portOf('b'), '127.0.0.1');
const toA = (): net.Socket => net.connect(portOf('a'), '127.0.0.1');
const toTls = (): tls.TLSSocket =>
  tls.connect({ host: '127.0.0.1', port: topo.ports.tls, ca: topo.ca });
type AgentMethods = Record<'addRequest' | 'createSocket', (...a: unknown[]) => unknown>;
const nodeAgent = http.Agent.prototype as unknown as AgentMethods;

/** The shape of agentkeepalive 4's agent: its own createConnection calls Node's. */
class KeepAliveLike extends http.Agent {
  override createConnection(...args: Parameters<http.Agent['createConnection']>) {
    return super.createConnection(...args);
  }
}
class HttpsKeepAliveLike extends https.Agent {
  override createConnection(...args: Parameters<http.Agent['createConnection']>) {
    return super.createConnection(...args);
  }
}
/** An agent whose createSocket moves the connection to server b. */
class MovingSocketAgent extends http.Agent {
  createSocket(req: unknown, options: object, cb: unknown): unknown {
    return nodeAgent.createSocket.call(this, req, { ...options, port: portOf('b') }, cb);
  }
}
/** An agent whose addRequest moves the connection to server b (the path is left alone). */
class MovingRequestAgent extends http.Agent {
  addRequest(req: unknown, options: object): unknown {
    return nodeAgent.addRequest.call(this, req, { ...options, port: portOf('b') });
  }
}
/** An agent that only names its pools differently: Node still connects. */
class NamingAgent extends http.Agent {
  override getName(options?: http.ClientRequestArgs): string {
    return `named:${super.getName(options)}`;
  }
}

interface Route {
  readonly name: string;
  /** The origin the request names. */
  readonly aim: 'a' | 'b' | 'tls' | 'a via 127.0.0.2' | 'name' | 'other name';
  readonly options: () => https.RequestOptions;
  /** Where the head really goes. */
  readonly lands: Site;
  /** Whether that hop may carry the marker. */
  readonly allowed: boolean;
  /** Sent twice on one agent (the second on a reused socket). */
  readonly twice?: boolean;
}

const lookupTo127 = (_host: string, o: { all?: boolean }, cb: (...a: unknown[]) => void): void => {
  if (o.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
};

const ROUTES: Route[] = [
  // --- connections made by code other than Node's: never judged on the request's host --------
  {
    name: 'createConnection in the options, to b',
    aim: 'a',
    options: () => ({ createConnection: toB }),
    lands: 'b',
    allowed: false,
  },
  {
    name: 'createConnection in the options, socket given to the callback later',
    aim: 'a',
    options: () => ({
      createConnection: (_o: unknown, cb: (e: Error | null, s: net.Socket) => void) => {
        const s = toB();
        s.once('connect', () => cb(null, s));
        return undefined as unknown as net.Socket;
      },
    }),
    lands: 'b',
    allowed: false,
  },
  {
    name: 'createConnection in the options, to the same host (still not Node’s)',
    aim: 'a',
    options: () => ({ createConnection: toA }),
    lands: 'a',
    allowed: false,
  },
  {
    name: 'createConnection in the options, agent: undefined',
    aim: 'a',
    options: () => ({ agent: undefined, createConnection: toB }),
    lands: 'b',
    allowed: false,
  },
  {
    name: 'an agent with its own createConnection, to b',
    aim: 'a',
    options: () => {
      const agent = new http.Agent();
      agent.createConnection = toB;
      return { agent };
    },
    lands: 'b',
    allowed: false,
  },
  {
    name: 'an agent class overriding createConnection (agentkeepalive’s shape)',
    aim: 'a',
    options: () => ({ agent: new KeepAliveLike({ keepAlive: true }) }),
    lands: 'a',
    allowed: true,
  },
  {
    name: 'an agent class overriding createSocket, to b (documented: a class is taken to connect where the request names, so its marker goes there)',
    aim: 'a',
    options: () => ({ agent: new MovingSocketAgent() }),
    lands: 'b',
    allowed: true,
  },
  {
    name: 'an agent class overriding addRequest, to b (documented: a class is taken to connect where the request names, so its marker goes there)',
    aim: 'a',
    options: () => ({ agent: new MovingRequestAgent() }),
    lands: 'b',
    allowed: true,
  },
  {
    name: 'https: an agent class overriding createConnection',
    aim: 'tls',
    options: () => ({ agent: new HttpsKeepAliveLike({ ca: topo.ca }) }),
    lands: 'tls',
    allowed: true,
  },
  {
    name: 'https: an agent with its own createConnection',
    aim: 'tls',
    options: () => {
      const agent = new https.Agent({ ca: topo.ca });
      agent.createConnection = toTls as unknown as typeof agent.createConnection;
      return { agent };
    },
    lands: 'tls',
    allowed: false,
  },
  // --- a Node Agent's own options: Node merges them over the request's ------------------------
  {
    name: 'a Node Agent with options.port of b',
    aim: 'a',
    options: () => ({ agent: new http.Agent({ port: portOf('b') } as http.AgentOptions) }),
    lands: 'b',
    allowed: false,
  },
  {
    name: 'a Node Agent with options.port set afterwards',
    aim: 'a',
    options: () => {
      const agent = new http.Agent();
      (agent as unknown as { options: { port: number } }).options.port = portOf('b');
      return { agent };
    },
    lands: 'b',
    allowed: false,
  },
  {
    name: 'a Node Agent with options.socketPath',
    aim: 'a',
    options: () => ({ agent: new http.Agent({ socketPath: SOCK } as http.AgentOptions) }),
    lands: 'pipe',
    allowed: false,
  },
  {
    name: 'a Node Agent with options.port of a, the request aimed at b',
    aim: 'b',
    options: () => ({ agent: new http.Agent({ port: portOf('a') } as http.AgentOptions) }),
    lands: 'a',
    allowed: true,
  },
  {
    name: 'a Node Agent with options.host 127.0.0.1, the request aimed at 127.0.0.2',
    aim: 'a via 127.0.0.2',
    options: () => ({ agent: new http.Agent({ host: '127.0.0.1' } as http.AgentOptions) }),
    lands: 'a',
    allowed: true,
  },
  // --- controls: Node's own connection ---------------------------------------------------------
  { name: 'control: the global agent', aim: 'a', options: () => ({}), lands: 'a', allowed: true },
  {
    name: 'control: the global agent, to b',
    aim: 'b',
    options: () => ({}),
    lands: 'b',
    allowed: false,
  },
  {
    name: 'control: a keep-alive Node Agent, socket reused',
    aim: 'a',
    options: () => ({ agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) }),
    lands: 'a',
    allowed: true,
    twice: true,
  },
  {
    name: 'control: a keep-alive Node Agent, to b',
    aim: 'b',
    options: () => ({ agent: new http.Agent({ keepAlive: true }) }),
    lands: 'b',
    allowed: false,
  },
  {
    name: 'control: agent: false',
    aim: 'a',
    options: () => ({ agent: false }),
    lands: 'a',
    allowed: true,
  },
  {
    name: 'control: createConnection beside an agent (Node ignores it)',
    aim: 'a',
    options: () => ({ agent: new http.Agent(), createConnection: toB }),
    lands: 'a',
    allowed: true,
  },
  {
    name: 'control: createConnection beside agent: false (Node ignores it)',
    aim: 'a',
    options: () => ({ agent: false, createConnection: toB }),
    lands: 'a',
    allowed: true,
  },
  {
    name: 'control: a subclass that only renames its pools',
    aim: 'a',
    options: () => ({ agent: new NamingAgent({ keepAlive: true }) }),
    lands: 'a',
    allowed: true,
  },
  {
    name: 'control: an agent whose own createConnection is Node’s',
    aim: 'a',
    options: () => {
      const agent = new http.Agent();
      agent.createConnection = http.Agent.prototype.createConnection;
      return { agent };
    },
    lands: 'a',
    allowed: true,
  },
  {
    name: 'control: a Node Agent with options.port equal to the request’s',
    aim: 'a',
    options: () => ({ agent: new http.Agent({ port: portOf('a') } as http.AgentOptions) }),
    lands: 'a',
    allowed: true,
  },
  {
    name: 'control: a lookup resolving the allowlisted name',
    aim: 'name',
    options: () => ({ lookup: lookupTo127 as unknown as net.LookupFunction }),
    lands: 'a',
    allowed: true,
  },
  {
    name: 'control: a lookup resolving a name not allowlisted',
    aim: 'other name',
    options: () => ({ lookup: lookupTo127 as unknown as net.LookupFunction }),
    lands: 'a',
    allowed: false,
  },
  {
    name: 'control: a lookup beside an IP literal (Node never calls it)',
    aim: 'a',
    options: () => ({
      lookup: (() => {
        throw new Error('not called for an IP literal');
      }) as unknown as net.LookupFunction,
    }),
    lands: 'a',
    allowed: true,
  },
  {
    name: 'control: https, the global agent',
    aim: 'tls',
    options: () => ({ ca: topo.ca }),
    lands: 'tls',
    allowed: true,
  },
  {
    name: 'control: https, a keep-alive Node Agent, socket reused',
    aim: 'tls',
    options: () => ({ agent: new https.Agent({ keepAlive: true, maxSockets: 1, ca: topo.ca }) }),
    lands: 'tls',
    allowed: true,
    twice: true,
  },
];

// --- how the request is made ------------------------------------------------------------------

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
        moduleFor(url).get(url.href, o, wait(resolve)).on('error', reject);
      }),
  ],
  [
    'request(options)',
    (url, o) =>
      new Promise((resolve, reject) => {
        const req = moduleFor(url).request(
          { ...o, method: 'POST', host: url.hostname, port: url.port, path: url.pathname },
          wait(resolve),
        );
        req.on('error', reject);
        req.end('body');
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

interface Contents {
  readonly name: string;
  readonly headers: Record<string, string>;
  /** What an allowed hop carries, in a lane and with none. */
  readonly lane: { ids: string[]; grays: string[] };
  readonly none: { ids: string[]; grays: string[] };
}

const CONTENTS: Contents[] = [
  {
    name: 'graylane’s marker',
    headers: { baggage: 'a=1' },
    lane: { ids: ['beta'], grays: ['gray=beta'] },
    none: { ids: [], grays: [] },
  },
  {
    name: 'the caller’s marker and member',
    headers: { 'X-Gray-Id': 'stable', baggage: 'a=1,gray=stable' },
    lane: { ids: ['stable'], grays: ['gray=stable'] },
    none: { ids: ['stable'], grays: ['gray=stable'] },
  },
];

function urlFor(aim: Route['aim'], id: string): URL {
  const { a, b, tls: t } = topo;
  const pa = topo.ports.a;
  const base = {
    a: a.origin,
    b: b.origin,
    tls: t.origin,
    'a via 127.0.0.2': `http://127.0.0.2:${pa}`,
    name: `http://${NAME}:${pa}`,
    'other name': `http://${OTHER_NAME}:${pa}`,
  }[aim];
  return new URL(`${base}/echo/${id}`);
}

/** Where request `id` arrived, and what it carried. */
function arrival(id: string): { site: Site; ids: string[]; grays: string[] } {
  const hops = topo.hops(id);
  const pipeHop = piped.get(id);
  expect(hops.length + (pipeHop ? 1 : 0), `one arrival for ${id}`).toBe(1);
  if (pipeHop) return { site: 'pipe', ids: pipeHop.grayIds, grays: pipeHop.grays };
  const hop = hops[0]!;
  const grays = hop.baggage
    .flatMap((v) => v.split(','))
    .map((m) => m.trim())
    .filter((m) => m.startsWith('gray'));
  return { site: hop.server as Site, ids: hop.grayIds, grays };
}

async function send(route: Route, call: Call, c: Contents, lane: boolean): Promise<void> {
  const options = route.options();
  for (let i = 0; i < (route.twice ? 2 : 1); i++) {
    const id = `c${++seq}`;
    const url = urlFor(route.aim, id);
    const o = { ...options, headers: { ...c.headers } };
    await (lane ? runWithGray('beta', () => call(url, o)) : call(url, o));
    const got = arrival(id);
    const where = `${lane ? 'lane' : 'no lane'}, ${c.name}, request ${i + 1}`;
    expect(got.site, `${where}: lands on`).toBe(route.lands);
    const want = route.allowed ? (lane ? c.lane : c.none) : { ids: [], grays: [] };
    expect(got.ids, `${where}: X-Gray-Id`).toEqual(want.ids);
    expect(got.grays, `${where}: gray members`).toEqual(want.grays);
  }
  (options.agent as http.Agent | undefined)?.destroy?.();
}

describe.each(CALLS)('%s', (_callName, call) => {
  it.each(ROUTES.map((r) => [r.name, r] as const))(
    'CTX-13 I8 judged where the connection goes: %s',
    async (_name, route) => {
      for (const c of CONTENTS) for (const lane of [true, false]) await send(route, call, c, lane);
    },
  );
});
