import http from 'node:http';
import net from 'node:net';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as gray from '@graylane/node';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  selfSignedCert,
  startTopology,
  type Hop,
  type Topology,
} from '../../packages/node/test/outbound/servers.js';

/*
 * CTX-13 (RELIABILITY §10): with `installGlobal()`, the allowlist judges the host Node actually
 * connects to, for every argument shape of `http.request`/`http.get`/`https.request`/`https.get`
 * where the target differs from the first argument. The precedence is Node's own
 * (lib/_http_client.js): URL fields, then the options' own fields over them; `hostname` before
 * `host`; `port` before `defaultPort` before the agent's; `socketPath` is not a host; the `Host`
 * header never counts. Each case goes to a real loopback server, and the assertion is on what
 * that server received.
 */

const TLS = selfSignedCert();
let topo: Topology;
let sock: { path: string; hops: Hop[]; server: http.Server };
let dir: string;
let uninstall: () => void = () => {};
let seq = 0;

beforeAll(async () => {
  topo = await startTopology(TLS);
  dir = mkdtempSync(join(tmpdir(), 'graylane-sock-'));
  const hops: Hop[] = [];
  const server = http.createServer((req, res) => {
    hops.push({
      server: 'unix',
      host: req.headers.host ?? '',
      method: req.method ?? '',
      path: req.url ?? '',
      body: '',
      grayIds: req.headers['x-gray-id'] === undefined ? [] : [String(req.headers['x-gray-id'])],
      baggage: req.headers.baggage === undefined ? [] : [String(req.headers.baggage)],
    });
    res.end('{}');
  });
  const path = join(dir, 'graylane.sock');
  await new Promise<void>((resolve) => server.listen(path, resolve));
  sock = { path, hops, server };
  uninstall = gray.installGlobal();
}, 30_000);

afterAll(async () => {
  uninstall();
  await new Promise<void>((resolve) => sock.server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
  await topo.close();
});

type Ports = Topology['ports'];
type Send = (p: Ports, path: string) => http.ClientRequest;
interface Case {
  readonly name: string;
  /** Builds the request from the running servers' ports; `path` is unique per run. */
  readonly send: Send;
  /** Where the request lands, and whether the marker must be on it. */
  readonly lands: 'a' | 'b' | 'v6' | 'tls' | 'unix';
  readonly marker: boolean;
}

const done = (req: http.ClientRequest): Promise<void> =>
  new Promise((resolve, reject) => {
    req.on('response', (res) => res.resume().on('end', resolve));
    req.on('error', reject);
  });

const inherit = <T extends object>(proto: T, own: object): T =>
  Object.assign(Object.create(proto) as T, own);

function agentWithDefaultPort(port: number): http.Agent {
  const agent = new http.Agent();
  (agent as http.Agent & { defaultPort: number }).defaultPort = port;
  return agent;
}

/** `a` is 127.0.0.1:PA (allowlisted); `localhost:PA` is the same server under another name. */
const CASES: Case[] = [
  {
    name: 'string URL, allowlisted',
    lands: 'a',
    marker: true,
    send: (p, path) => http.request(`http://127.0.0.1:${p.a}${path}`),
  },
  {
    name: 'string URL, other port',
    lands: 'b',
    marker: false,
    send: (p, path) => http.request(`http://127.0.0.1:${p.b}${path}`),
  },
  {
    name: 'URL object, allowlisted',
    lands: 'a',
    marker: true,
    send: (p, path) => http.request(new URL(`http://127.0.0.1:${p.a}${path}`)),
  },
  {
    name: 'URL object, other name',
    lands: 'a',
    marker: false,
    send: (p, path) => http.request(new URL(`http://localhost:${p.a}${path}`)),
  },
  // The URL's hostname beats options.host: Node connects to the URL's host.
  {
    name: '(url other name, { host: allowlisted })',
    lands: 'a',
    marker: false,
    send: (p, path) => http.request(`http://localhost:${p.a}${path}`, { host: '127.0.0.1' }),
  },
  {
    name: '(url allowlisted, { host: other name })',
    lands: 'a',
    marker: true,
    send: (p, path) => http.request(`http://127.0.0.1:${p.a}${path}`, { host: 'localhost' }),
  },
  {
    name: '(url allowlisted, { hostname: other name })',
    lands: 'a',
    marker: false,
    send: (p, path) => http.request(`http://127.0.0.1:${p.a}${path}`, { hostname: 'localhost' }),
  },
  {
    name: '(url other name, { hostname: allowlisted })',
    lands: 'a',
    marker: true,
    send: (p, path) => http.request(`http://localhost:${p.a}${path}`, { hostname: '127.0.0.1' }),
  },
  {
    name: '(url other port, { port: allowlisted })',
    lands: 'a',
    marker: true,
    send: (p, path) => http.request(`http://127.0.0.1:${p.b}${path}`, { port: p.a }),
  },
  {
    name: '(url allowlisted, { port: other })',
    lands: 'b',
    marker: false,
    send: (p, path) => http.request(`http://127.0.0.1:${p.a}${path}`, { port: p.b }),
  },
  {
    name: '(url other port, inherited { port }: not copied by Node)',
    lands: 'b',
    marker: false,
    send: (p, path) => http.request(`http://127.0.0.1:${p.b}${path}`, inherit({ port: p.a }, {})),
  },
  {
    name: '{ host, port }',
    lands: 'a',
    marker: true,
    send: (p, path) => http.request({ host: '127.0.0.1', port: p.a, path }),
  },
  {
    name: '{ hostname, host: other name }',
    lands: 'a',
    marker: true,
    send: (p, path) => http.request({ hostname: '127.0.0.1', host: 'localhost', port: p.a, path }),
  },
  {
    name: "{ hostname: '', host: other name }",
    lands: 'a',
    marker: false,
    send: (p, path) => http.request({ hostname: '', host: 'localhost', port: p.a, path }),
  },
  {
    name: 'inherited { host: other name }',
    lands: 'a',
    marker: false,
    send: (p, path) => http.request(inherit({ host: 'localhost' }, { port: p.a, path })),
  },
  {
    name: '{ host, defaultPort }',
    lands: 'a',
    marker: true,
    send: (p, path) => http.request({ host: '127.0.0.1', defaultPort: p.a, path }),
  },
  {
    name: '{ host, port: other, defaultPort: allowlisted }',
    lands: 'b',
    marker: false,
    send: (p, path) => http.request({ host: '127.0.0.1', port: p.b, defaultPort: p.a, path }),
  },
  {
    name: '{ host, agent.defaultPort }',
    lands: 'a',
    marker: true,
    send: (p, path) => http.request({ host: '127.0.0.1', agent: agentWithDefaultPort(p.a), path }),
  },
  {
    name: '{ other port, a Host header naming the allowlisted one }',
    lands: 'b',
    marker: false,
    send: (p, path) =>
      http.request({ host: '127.0.0.1', port: p.b, path, headers: { host: `127.0.0.1:${p.a}` } }),
  },
  {
    name: '{ setHost: false }',
    lands: 'a',
    marker: true,
    send: (p, path) => http.request({ host: '127.0.0.1', port: p.a, path, setHost: false }),
  },
  {
    name: '{ socketPath } with an allowlisted host',
    lands: 'unix',
    marker: false,
    send: (p, path) => http.request({ socketPath: sock.path, host: '127.0.0.1', port: p.a, path }),
  },
  {
    name: 'IPv6 { hostname: ::1 }, not allowlisted',
    lands: 'v6',
    marker: false,
    send: (p, path) => http.request({ hostname: '::1', port: p.v6, path }),
  },
  {
    name: 'IPv6 URL [::1], not allowlisted',
    lands: 'v6',
    marker: false,
    send: (p, path) => http.request(`http://[::1]:${p.v6}${path}`),
  },
  // Absolute-form path: a forward proxy. The head reaches the proxy Node connects to and is meant
  // for the URL in the path: both must be allowed. Any other path not starting with `/` names a
  // host the head never reaches: only the connected host could vouch, and it is not asked.
  {
    name: 'absolute-form path to the allowlisted target, via another port',
    lands: 'b',
    marker: false,
    send: (p, path) =>
      http.request({ host: '127.0.0.1', port: p.b, path: `http://127.0.0.1:${p.a}${path}` }),
  },
  {
    name: 'absolute-form path (upper-case scheme) to the allowlisted target, via another port',
    lands: 'b',
    marker: false,
    send: (p, path) =>
      http.request({ host: '127.0.0.1', port: p.b, path: `HTTP://127.0.0.1:${p.a}${path}` }),
  },
  {
    name: 'absolute-form path to the allowlisted target, via the allowlisted port',
    lands: 'a',
    marker: true,
    send: (p, path) =>
      http.request({ host: '127.0.0.1', port: p.a, path: `http://127.0.0.1:${p.a}${path}` }),
  },
  {
    name: 'URL to another port, options.path absolute-form to the allowlisted target',
    lands: 'b',
    marker: false,
    send: (p, path) =>
      http.request(`http://127.0.0.1:${p.b}/`, { path: `http://127.0.0.1:${p.a}${path}` }),
  },
  {
    name: 'absolute-form path to another name, via the allowlisted port',
    lands: 'a',
    marker: false,
    send: (p, path) =>
      http.request({ host: '127.0.0.1', port: p.a, path: `http://localhost:${p.b}${path}` }),
  },
  {
    name: 'http.get string',
    lands: 'a',
    marker: true,
    send: (p, path) => http.get(`http://127.0.0.1:${p.a}${path}`),
  },
  {
    name: 'http.get (url allowlisted, { hostname: other name })',
    lands: 'a',
    marker: false,
    send: (p, path) => http.get(`http://127.0.0.1:${p.a}${path}`, { hostname: 'localhost' }),
  },
  {
    name: 'http.get { host, port: other }',
    lands: 'b',
    marker: false,
    send: (p, path) => http.get({ host: '127.0.0.1', port: p.b, path }),
  },
  {
    name: 'https.request, scheme allowlisted',
    lands: 'tls',
    marker: true,
    send: (p, path) => https.request(`https://127.0.0.1:${p.tls}${path}`, { ca: TLS.cert }),
  },
  {
    name: 'https.request (url, { hostname: other name })',
    lands: 'tls',
    marker: false,
    send: (p, path) =>
      https.request(`https://127.0.0.1:${p.tls}${path}`, { hostname: 'localhost', ca: TLS.cert }),
  },
  {
    name: 'https.get { host, port }',
    lands: 'tls',
    marker: true,
    send: (p, path) => https.get({ host: '127.0.0.1', port: p.tls, path, ca: TLS.cert }),
  },
];

/** Three spellings: host:port + origin, origins only, anchored RegExps. */
function allowVariants(t: Topology): NonNullable<gray.OutboundOptions['allowHosts']>[] {
  const { a, tls } = t.ports;
  return [
    [`127.0.0.1:${a}`, `https://127.0.0.1:${tls}`],
    [`http://127.0.0.1:${a}`, `https://127.0.0.1:${tls}`],
    [new RegExp(`^http://127\\.0\\.0\\.1:${a}$`), new RegExp(`^https://127\\.0\\.0\\.1:${tls}$`)],
  ];
}

function received(t: Topology, lands: Case['lands'], id: string): Hop[] {
  if (lands === 'unix') return sock.hops.filter((h) => h.path.includes(id));
  return t.hops(id).filter((h) => h.server === lands);
}

describe('CTX-13 the allowlist judges the host Node connects to', () => {
  it.each(CASES.map((c) => [c.name, c] as const))(
    'CTX-13 %s, with three allowlist spellings',
    async (_name, c) => {
      for (const allowHosts of allowVariants(topo)) {
        const id = `t${++seq}`;
        await gray.runWithGray('beta', () => done(c.send(topo.ports, `/echo/${id}`).end()), {
          allowHosts,
        });
        const hops = received(topo, c.lands, id);
        expect(hops, `landed on ${c.lands}`).toHaveLength(1);
        const hop = hops[0] as Hop;
        expect(hop.grayIds, 'X-Gray-Id').toEqual(c.marker ? ['beta'] : []);
        expect(hop.baggage.join(','), 'baggage').toBe(c.marker ? 'gray=beta' : '');
      }
    },
  );

  it('CTX-13 IPv6 and an allowlisted [::1] entry: the connected address decides', async () => {
    const { v6 } = topo.ports;
    const sends: ((path: string) => http.ClientRequest)[] = [
      (path) => http.request({ hostname: '::1', port: v6, path }),
      (path) => http.request(`http://[::1]:${v6}${path}`),
      (path) => http.request(`http://127.0.0.1:${v6}${path}`, { hostname: '::1' }),
      (path) => http.get({ host: '::1', port: v6, path }),
    ];
    for (const send of sends) {
      const id = `v${++seq}`;
      await gray.runWithGray('beta', () => done(send(`/echo/${id}`).end()), {
        allowHosts: [`[::1]:${v6}`],
      });
      expect(received(topo, 'v6', id)[0]?.grayIds).toEqual(['beta']);
    }
  });

  // The head goes to the host Node connects to whatever the path names. A raw server records it
  // (the echo servers route on an origin-form path), and answers every method, CONNECT included.
  it.each([
    ['a scheme-less host:port/path', 'GET', (a: number) => `127.0.0.1:${a}/x`],
    ['an authority-form target', 'GET', (a: number) => `127.0.0.1:${a}`],
    ['a scheme-less name/path', 'POST', () => 'localhost/x'],
    ['a CONNECT to the allowlisted host', 'CONNECT', (a: number) => `127.0.0.1:${a}`],
    ['an absolute-form https path', 'GET', (a: number) => `https://127.0.0.1:${a}/x`],
  ] as const)(
    'CTX-13 %s, sent to a host that is not allowlisted: no marker on the wire',
    async (_name, method, path) => {
      const heads: string[] = [];
      const raw = net.createServer((socket) => {
        let head = '';
        socket.on('data', (chunk) => {
          head += chunk.toString('latin1');
          if (!head.includes('\r\n\r\n')) return;
          heads.push(head);
          socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        });
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
      const evil = (raw.address() as net.AddressInfo).port;
      try {
        await gray.runWithGray(
          'beta',
          () =>
            new Promise<void>((resolve) => {
              const req = http.request({
                host: '127.0.0.1',
                port: evil,
                method,
                path: path(topo.ports.a),
              });
              req.on('response', (res) => res.resume().on('end', resolve));
              req.on('connect', (_res, socket) => {
                socket.destroy();
                resolve();
              });
              req.on('error', () => resolve());
              req.end();
            }),
          { allowHosts: [`127.0.0.1:${topo.ports.a}`, `https://127.0.0.1:${topo.ports.a}`] },
        );
        expect(heads).toHaveLength(1);
        expect(heads[0]).toMatch(new RegExp(`^${method} `));
        expect(heads[0]?.toLowerCase()).not.toContain('x-gray-id');
        expect(heads[0]?.toLowerCase()).not.toContain('gray=beta');
      } finally {
        await new Promise<void>((resolve) => raw.close(() => resolve()));
      }
    },
  );

  // undici: an absolute-form path on a client connected elsewhere (a forward proxy without a
  // tunnel). Both hosts must be allowed, as for http.request.
  it.each([
    ['the proxy is not allowlisted', false],
    ['the proxy is allowlisted too', true],
  ] as const)(
    'CTX-13 undici Client, absolute-form path to the allowlisted target: %s',
    async (_name, proxyAllowed) => {
      const heads: string[] = [];
      const raw = http.createServer((req, res) => {
        heads.push(
          JSON.stringify({
            url: req.url,
            id: req.headers['x-gray-id'] ?? null,
            baggage: req.headers.baggage ?? null,
          }),
        );
        res.end();
      });
      await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
      const proxy = (raw.address() as net.AddressInfo).port;
      const client = new Client(`http://127.0.0.1:${proxy}`);
      try {
        const a = topo.ports.a;
        const allowHosts = [`127.0.0.1:${a}`, ...(proxyAllowed ? [`127.0.0.1:${proxy}`] : [])];
        await gray.runWithGray(
          'beta',
          async () => {
            const res = await client.request({ method: 'GET', path: `http://127.0.0.1:${a}/x` });
            await res.body.dump();
          },
          { allowHosts },
        );
        expect(heads.map((h) => JSON.parse(h) as unknown)).toEqual([
          {
            url: `http://127.0.0.1:${a}/x`,
            id: proxyAllowed ? 'beta' : null,
            baggage: proxyAllowed ? 'gray=beta' : null,
          },
        ]);
      } finally {
        await client.close();
        await new Promise<void>((resolve) => raw.close(() => resolve()));
      }
    },
  );

  it('CTX-13 I1 a malformed or hostile argument never makes graylane throw: Node decides', async () => {
    const { a } = topo.ports;
    const hostile: (() => http.ClientRequest)[] = [
      () => http.request({ host: `127.0.0.1:${a}`, port: a, path: '/echo/x' }), // host with a port: DNS fails
      () => http.request({ hostname: '127.0.0.1', port: a, path: '/echo/x', protocol: 'http:' }),
    ];
    for (const make of hostile) {
      await gray.runWithGray(
        'beta',
        () =>
          new Promise<void>((resolve) => {
            const req = make();
            req.on('error', () => resolve());
            req.on('response', (res) => res.resume().on('end', resolve));
            req.end();
          }),
        { allowHosts: [`127.0.0.1:${a}`] },
      );
    }
    // Node rejects these itself; graylane's wrapper lets Node's own error through unchanged.
    expect(() => http.request({ host: 42 as unknown as string })).toThrow(/hostname|host/);
    expect(() => http.request(`http://127.0.0.1:${a}/`, { protocol: 'ftp:' })).toThrow(/protocol/i);
  });
});
