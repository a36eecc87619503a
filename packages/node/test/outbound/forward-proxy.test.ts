import http, { type IncomingMessage } from 'node:http';
import axios from 'axios';
import { HttpProxyAgent } from 'http-proxy-agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installGlobal, runWithGray } from '../../src/index.js';
import { closeLocal, listenLocal, markersOf, startTopology, type Topology } from './servers.js';

/*
 * CTX-13, I8 with `installGlobal()`: a forward proxy set through an http Agent receives the
 * whole head, so it must be allowlisted as well as the target. http-proxy-agent rewrites
 * `req.path` to absolute form and connects to the proxy while `req.host` still names the
 * target: the old code took `req.host` for the host Node connects to and sent the marker to a
 * proxy outside the allowlist. An agent that rewrites the path without naming its proxy cannot
 * be judged: no marker (fail closed). A caller who writes the absolute-form path to a proxy
 * host themselves is judged on that host and the URL, as before.
 */

interface Seen extends ReturnType<typeof markersOf> {
  readonly line: string;
}

let topo: Topology;
let proxy: http.Server;
let proxyOrigin: string;
let uninstall: () => void;
const seen: Seen[] = [];
let allowHosts: string[] = [];

function record(req: IncomingMessage): Seen {
  return { line: `${req.method} ${req.url}`, ...markersOf(req) };
}

beforeAll(async () => {
  topo = await startTopology();
  // A forward proxy: records what reaches it, fetches the absolute-form URL, answers with it.
  proxy = http.createServer((req, res) => {
    seen.push(record(req));
    req.resume();
    const url = new URL(req.url ?? '/');
    http
      .get(url, (up) => {
        res.writeHead(up.statusCode ?? 502);
        up.pipe(res);
      })
      .on('error', () => res.writeHead(502).end());
  });
  proxyOrigin = await listenLocal(proxy);
  uninstall = installGlobal();
});
afterAll(async () => {
  uninstall();
  await closeLocal(proxy);
  await topo.close();
});

/** An agent that proxies like http-proxy-agent but does not say where to (no `agent.proxy`). */
class SilentProxyAgent extends http.Agent {
  constructor(private readonly to: URL) {
    super();
  }
  addRequest(req: http.ClientRequest, options: http.RequestOptions): void {
    req.path = `http://${String(options.host)}:${String(options.port)}${req.path}`;
    const via = { ...options, host: this.to.hostname, port: Number(this.to.port) };
    (
      http.Agent.prototype as unknown as { addRequest(r: unknown, o: unknown): void }
    ).addRequest.call(this, req, via);
  }
}

const get = (url: string, options: http.RequestOptions): Promise<void> =>
  new Promise((resolve, reject) => {
    http
      .get(url, options, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });

type Send = (target: string) => Promise<unknown>;
const CLIENTS: [string, () => Send][] = [
  [
    'http.get, HttpProxyAgent(string)',
    () => (t) => get(t, { agent: new HttpProxyAgent(proxyOrigin) }),
  ],
  [
    'http.get, HttpProxyAgent(URL)',
    () => (t) => get(t, { agent: new HttpProxyAgent(new URL(proxyOrigin)) }),
  ],
  [
    'axios http adapter, httpAgent: HttpProxyAgent',
    () => {
      const ax = axios.create({
        adapter: 'http',
        proxy: false,
        httpAgent: new HttpProxyAgent(proxyOrigin),
      });
      return (t) => ax.get(t);
    },
  ],
];

interface Row {
  readonly name: string;
  readonly allow: () => string[];
  readonly marker: boolean;
}
const ROWS: Row[] = [
  { name: 'only the target allowlisted', allow: () => [topo.a.origin], marker: false },
  { name: 'only the proxy allowlisted', allow: () => [proxyOrigin], marker: false },
  {
    name: 'the proxy and the target allowlisted',
    allow: () => [topo.a.origin, proxyOrigin],
    marker: true,
  },
];

async function send(fn: Send, row: Row): Promise<Seen> {
  allowHosts = row.allow();
  seen.length = 0;
  await runWithGray('beta', () => fn(`${topo.a.origin}/echo/p`), { allowHosts });
  expect(seen).toHaveLength(1);
  return seen[0] as Seen;
}

function expectMarker(s: Seen, marker: boolean, where: string): void {
  expect(s.line, where).toMatch(/^GET http:\/\//);
  expect(s.grayIds, `${where}: X-Gray-Id`).toEqual(marker ? ['beta'] : []);
  expect(s.grays, `${where}: gray member`).toEqual(marker ? ['gray=beta'] : []);
}

describe.each(CLIENTS)('%s', (name, make) => {
  it.each(ROWS.map((r) => [r.name, r] as const))(
    'CTX-13 I8 a forward proxy named by the agent is judged with the target: %s',
    async (rowName, row) => {
      expectMarker(await send(make(), row), row.marker, `${name}, ${rowName}`);
    },
  );
});

describe('an agent that rewrites the path without naming its proxy', () => {
  it.each(ROWS.map((r) => [r.name, r] as const))(
    'CTX-13 I8 fail closed: %s',
    async (rowName, row) => {
      const agent = new SilentProxyAgent(new URL(proxyOrigin));
      expectMarker(await send((t) => get(t, { agent }), row), false, rowName);
    },
  );
});

describe('an absolute-form path the caller wrote to the proxy host', () => {
  it.each(ROWS.map((r) => [r.name, r] as const))(
    'CTX-13 judged on both hosts: %s',
    async (rowName, row) => {
      const p = new URL(proxyOrigin);
      const fn: Send = (t) =>
        new Promise<void>((resolve, reject) => {
          http
            .get({ host: p.hostname, port: p.port, path: t }, (res) => {
              res.resume();
              res.on('end', resolve);
            })
            .on('error', reject);
        });
      expectMarker(await send(fn, row), row.marker, rowName);
    },
  );
});
