import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAdaptorServer } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import app, { KEY, PEER_HEADERS, PROXY } from './fixtures/peer-app.js';
import { BUN, DENO, binaryMissing } from './support/binaries.js';
import { bundleWorker } from './support/bundle.js';
import { startProcess, type Served } from './support/process.js';
import { rawRequest, setCookies, type RawAnswer } from './support/raw-http.js';

/*
 * GW-04 / HDR-14 (review 64 D1): `@graylane/web/hono` on a runtime with a socket — @hono/node-
 * server, Bun.serve, Deno.serve — compares the runtime's peer with `trustedProxies`, never a
 * header a client sends. The old middleware handed `remoteAddress` the `Request` alone, and the
 * docs' `cf-connecting-ip` option made any client that sent `cf-connecting-ip: 203.0.113.10` the
 * trusted proxy: its `X-Gray-Id: beta` was honoured (edge) and its `X-Forwarded-Proto: https`
 * made the sticky cookie `__Host-`/`Secure` (edge and signed). Every spoof row: raw HTTP from
 * 127.0.0.1 claiming to be 203.0.113.10 through one header (or none), × trust mode × option
 * shape (none, one that reads those headers, a constant). Controls: the real peer listed
 * (127.0.0.1, or `'unix'` on a socket path) is trusted; with no runtime peer (Workers bindings)
 * the option still decides, and receives the hono context.
 */

const FIXTURE = fileURLToPath(new URL('fixtures/peer-app.ts', import.meta.url));

/** Serves `worker.mjs` on GRAY_PORT and on the socket path GRAY_UNIX, `app.fetch` as given. */
const HOST = `import process from 'node:process';
import app from './worker.mjs';
const port = Number(process.env.GRAY_PORT);
const unix = process.env.GRAY_UNIX;
if (typeof globalThis.Deno !== 'undefined') {
  globalThis.Deno.serve({ port, hostname: '127.0.0.1', onListen() {} }, app.fetch);
  globalThis.Deno.serve({ path: unix, transport: 'unix', onListen() {} }, app.fetch);
} else {
  globalThis.Bun.serve({ port, hostname: '127.0.0.1', fetch: app.fetch });
  globalThis.Bun.serve({ unix, fetch: app.fetch });
}
`;

interface Runtime {
  readonly tcp: { port: number };
  readonly unix: { path: string };
}

const runtimes = new Map<string, Runtime>();
const stops: (() => Promise<void>)[] = [];
let dir: string;

function listen(server: Server, at: number | string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (typeof at === 'number') server.listen(at, '127.0.0.1', () => resolve());
    else server.listen(at, () => resolve());
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-web-peer-'));
  // @hono/node-server: one server on 127.0.0.1, one on a socket path.
  const tcp = createAdaptorServer({ fetch: app.fetch }) as unknown as Server;
  const unix = createAdaptorServer({ fetch: app.fetch }) as unknown as Server;
  await listen(tcp, 0);
  await listen(unix, join(dir, 'node.sock'));
  for (const s of [tcp, unix]) stops.push(() => new Promise((r) => s.close(() => r())));
  const address = tcp.address();
  runtimes.set('@hono/node-server', {
    tcp: { port: typeof address === 'object' && address ? address.port : 0 },
    unix: { path: join(dir, 'node.sock') },
  });
  const hosts: [string, string, string[]][] = [
    ['Bun.serve', BUN, ['run']],
    [
      'Deno.serve',
      DENO,
      [
        'run',
        `--allow-net=127.0.0.1,unix:${join(dir, 'Deno.sock')}`,
        '--allow-env',
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
      ],
    ],
  ];
  if (hosts.some(([, bin]) => binaryMissing(bin, '') === undefined)) {
    writeFileSync(join(dir, 'worker.mjs'), await bundleWorker({ entry: FIXTURE }, 'esm', 'Peer'));
    writeFileSync(join(dir, 'host.mjs'), HOST);
  }
  for (const [name, bin, args] of hosts) {
    if (binaryMissing(bin, '') !== undefined) continue;
    const path = join(dir, `${name.split('.')[0]}.sock`);
    let port = 0;
    const served: Served = await startProcess(
      bin,
      (p) => {
        port = p;
        return [...args, join(dir, 'host.mjs')];
      },
      {
        cwd: dir,
        env: { DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(dir, '.deno'), GRAY_UNIX: path },
        portEnv: 'GRAY_PORT',
      },
    );
    stops.push(() => served.stop());
    runtimes.set(name, { tcp: { port }, unix: { path } });
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(stops.map((stop) => stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One header naming 203.0.113.10 in the spelling its readers take, or none. */
const SPOOFS: [string, string | undefined][] = [
  ['no peer header', undefined],
  ...PEER_HEADERS.map((name): [string, string] => [
    name,
    `${name}: ${name === 'forwarded' ? `for=${PROXY};proto=https` : PROXY}`,
  ]),
  ['x-forwarded-for with a chain', `x-forwarded-for: ${PROXY}, 10.0.0.1`],
  ['forwarded quoted', `forwarded: for="${PROXY}"`],
  ['cf-connecting-ip + x-forwarded-for', `cf-connecting-ip: ${PROXY}\r\nx-forwarded-for: ${PROXY}`],
];
const SHAPES = ['none', 'header', 'constant'] as const;
const MODES = ['edge', 'signed'] as const;

/** A client's first visit: a bare `beta` (or none), `X-Forwarded-Proto: https`, the spoof. */
const ask = (to: Runtime['tcp'] | Runtime['unix'], path: string, spoof?: string, marker = true) =>
  rawRequest(to, `${path}/p`, [
    ...(marker ? ['X-Gray-Id: beta'] : []),
    'X-Forwarded-Proto: https',
    ...(spoof === undefined ? [] : [spoof]),
  ]);

function decided(answer: RawAnswer): { version: string; reason: string } {
  expect(answer.status, answer.body).toBe(200);
  return JSON.parse(answer.body) as { version: string; reason: string };
}

/** The sticky cookies (`gray_uid`, signed mode's version): `Secure` only if a trusted peer said https. */
function expectCookie(answer: RawAnswer, secure: boolean): void {
  const cookies = setCookies(answer);
  expect(cookies.length, answer.headers.join('\n')).toBeGreaterThan(0);
  for (const c of cookies)
    if (secure) expect(c).toMatch(/;\s*Secure/i);
    else expect(c).not.toMatch(/^__Host-|^__Secure-|;\s*Secure/i);
}

const RUNTIMES: [string, boolean][] = [
  ['@hono/node-server', true],
  ['Bun.serve', binaryMissing(BUN, '') === undefined],
  ['Deno.serve', binaryMissing(DENO, '') === undefined],
];

describe.each(RUNTIMES)('%s', (name, present) => {
  const rt = (): Runtime => runtimes.get(name) as Runtime;

  describe.skipIf(!present).each(MODES)(
    'GW-04 HDR-14 trust %s: a client naming a trusted proxy stays a client',
    (mode) => {
      for (const shape of SHAPES)
        it.each(SPOOFS)(`option ${shape}: %s`, async (_label, spoof) => {
          const answer = await ask(rt().tcp, `/${mode}/${shape}/proxy`, spoof);
          const d = decided(answer);
          expect(d.version).toBe('stable');
          expect(d.reason).not.toBe('header');
          expectCookie(answer, false);
        });
    },
  );

  describe.skipIf(!present).each(MODES)(
    'GW-04 trust %s: the runtime peer is the one compared',
    (mode) => {
      it.each(SHAPES)('127.0.0.1 listed, option %s: trusted', async (shape) => {
        const d = decided(await ask(rt().tcp, `/${mode}/${shape}/loopback`));
        if (mode === 'edge') expect(d).toMatchObject({ version: 'beta', reason: 'header' });
        else expect(d.version).toBe('stable');
        expectCookie(await ask(rt().tcp, `/${mode}/${shape}/loopback`, undefined, false), true);
      });
      it.each(SHAPES)("Unix domain socket, 'unix' listed, option %s: trusted", async (shape) => {
        const d = decided(await ask(rt().unix, `/${mode}/${shape}/unix`));
        if (mode === 'edge') expect(d).toMatchObject({ version: 'beta', reason: 'header' });
        else expect(d.version).toBe('stable');
      });
      it.each(SHAPES)(
        "Unix domain socket, 'unix' not listed, option %s, cf-connecting-ip spoofed: untrusted",
        async (shape) => {
          const answer = await ask(
            rt().unix,
            `/${mode}/${shape}/proxy`,
            `cf-connecting-ip: ${PROXY}`,
          );
          expect(decided(answer).version).toBe('stable');
          expectCookie(answer, false);
        },
      );
    },
  );
});

describe('GW-04 no runtime peer (Workers bindings as c.env): the option decides', () => {
  const call = (path: string, headers: Record<string, string>, env: object) =>
    app.fetch(
      new Request(`https://app.example${path}/p`, { headers: { 'x-gray-id': 'beta', ...headers } }),
      env,
    );
  it.each([
    [
      'header option, cf-connecting-ip set by Cloudflare',
      'header',
      { 'cf-connecting-ip': PROXY },
      {},
      'beta',
    ],
    ['header option, no header', 'header', {}, {}, 'stable'],
    ['context option, env.PEER the proxy', 'context', {}, { PEER: PROXY }, 'beta'],
    ['context option, env.PEER another', 'context', {}, { PEER: '198.51.100.7' }, 'stable'],
    ['no option', 'none', { 'cf-connecting-ip': PROXY }, {}, 'stable'],
  ] as const)('%s', async (_label, shape, headers, env, want) => {
    const res = await call(`/edge/${shape}/proxy`, headers, { RULES: {}, ...env });
    expect(((await res.json()) as { version: string }).version).toBe(want);
  });
  it('signed keys stay usable (fixture)', () => expect(KEY.length).toBeGreaterThanOrEqual(16));
});

/**
 * A Workers service binding as workerd gives it: an object whose every property is an RPC stub,
 * a function that sends its arguments (a `Request` with its body) to the bound service.
 */
function rpcBinding(calls: string[]): object {
  const stub = (path: string): unknown =>
    new Proxy(function rpc() {}, {
      get: (_t, key) => (key === 'then' ? undefined : stub(`${path}.${String(key)}`)),
      apply: (_t, _this, args: unknown[]) => {
        calls.push(path);
        for (const a of args) if (a instanceof Request) void a.text().catch(() => undefined);
        return stub(`${path}()`);
      },
    });
  return new Proxy({}, { get: (_t, key) => (key === 'then' ? undefined : stub(String(key))) });
}

describe('GW-04 review 67 D1: Workers bindings named like a runtime are never called', () => {
  const NAMES = ['server', 'incoming', 'remoteAddr', 'requestIP', 'outgoing', 'env'] as const;
  const ROWS = [...NAMES.map((n) => [n] as const), [NAMES.join('+')] as const].flatMap(([names]) =>
    (['header', 'context', 'none'] as const).flatMap((shape) =>
      (['GET', 'POST'] as const).map((method) => [names, shape, method] as const),
    ),
  );
  it.each(ROWS)('bindings %s, %s option, %s', async (names, shape, method) => {
    const calls: string[] = [];
    const env: Record<string, unknown> = { RULES: {}, PEER: PROXY };
    for (const name of names.split('+')) env[name] = rpcBinding(calls);
    const request = new Request(`https://app.example/edge/${shape}/proxy/p`, {
      method,
      headers: { 'x-gray-id': 'beta', 'cf-connecting-ip': PROXY },
      ...(method === 'POST' ? { body: 'the order' } : {}),
    });
    const res = await app.fetch(request, env);
    const body = (await res.json()) as { version: string };
    expect(calls).toEqual([]);
    // The request's body is the handler's, untouched.
    expect(request.bodyUsed).toBe(false);
    // No runtime peer: the option decides, as on Workers.
    expect(body.version).toBe(shape === 'none' ? 'stable' : 'beta');
  });
});
