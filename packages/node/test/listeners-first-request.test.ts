// CTX-05 on a process's first request, with a listener library that binds each request's
// `req`/`res` to a context of its own (an APM, cls-hooked): on the `request` event, before any
// middleware, it puts own-property listener methods on the request that call the methods it
// found there (or captured from the prototypes when it loaded). graylane installed its prototype
// wrappers only when it decided its first request, after that: the first request's methods (and
// every request's, for a library that captured the prototypes) called Node's own, and a listener
// the handler added saw no lane. Now `createGraylane()` / `graylaneHono()` install them. Each row
// is a fresh child process (the fixture, bundled from the package source): its first request,
// then a second one; every listener method, in the handler and after an await; trust open, edge.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const src = fileURLToPath(new URL('../src/', import.meta.url));
let dir = '';
let app = '';

/** `@graylane/node` and its subpaths from the package source (the change under test). */
const fromSource: Plugin = {
  name: 'graylane-node-source',
  setup(b) {
    const entries: Record<string, string> = {
      '@graylane/node': 'index.ts',
      '@graylane/node/hono': 'adapters/hono.ts',
      '@graylane/node/express': 'adapters/express.ts',
      '@graylane/node/koa': 'adapters/koa.ts',
      '@graylane/node/fastify': 'adapters/fastify.ts',
    };
    b.onResolve({ filter: /^@graylane\/node(\/|$)/ }, (args) => {
      const file = entries[args.path];
      return file === undefined ? undefined : { path: join(src, file) };
    });
  },
};

beforeAll(async () => {
  mkdirSync(join(repo, '.tmp'), { recursive: true });
  dir = mkdtempSync(join(repo, '.tmp', 'listeners-first-'));
  app = join(dir, 'app.mjs');
  await build({
    entryPoints: [
      fileURLToPath(new URL('./fixtures/listeners-first-request-app.mjs', import.meta.url)),
    ],
    outfile: app,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    plugins: [fromSource],
    logLevel: 'silent',
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Mode = 'open' | 'edge';
/** The client sends `beta`: open honours it, edge decides without it. */
const DECIDED: Record<Mode, string> = { open: 'beta', edge: 'stable' };
const METHODS = ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener'];
const KEYS = [
  ...['req:data', 'req:end', 'req:close', 'res:finish', 'res:close'].map((e) => `sync:${e}`),
  // (After the await the body may have ended already: no 'end' there.)
  ...['res:finish', 'res:close'].map((e) => `await:${e}`),
].flatMap((k) => METHODS.map((m) => `${k}:${m}`));

function start(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [app], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start: ${err}`)), 20_000);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (!line) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ child, port: (JSON.parse(line) as { port: number }).port });
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}

/** One request over a plain socket; the response body. */
function raw(port: number, head: string, body = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve(text.slice(text.indexOf('\r\n\r\n') + 4));
    });
    sock.write(`${head}host: 127.0.0.1\r\nconnection: close\r\n\r\n${body}`);
  });
}

async function request(port: number, rid: string): Promise<{ body: string; lanes: object }> {
  const payload = 'x'.repeat(200_000);
  const body = await raw(
    port,
    `POST /p?rid=${rid} HTTP/1.1\r\nx-gray-id: beta\r\ncontent-length: ${payload.length}\r\n`,
    payload,
  );
  let lanes: Record<string, string[]> = {};
  for (let i = 0; i < 100; i++) {
    lanes = JSON.parse(await raw(port, `GET /report?rid=${rid} HTTP/1.1\r\n`)) as typeof lanes;
    if (KEYS.every((k) => k in lanes)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { body, lanes: Object.fromEntries(KEYS.map((k) => [k, lanes[k]?.join('|')])) };
}

interface Setup {
  fw: 'node' | 'express' | 'hono' | 'koa' | 'fastify';
  lib: 'otel-cm' | 'cls' | 'capture' | 'none';
  mode: Mode;
  order?: 'before';
}

const SETUPS: Setup[] = [
  ...(['node', 'express', 'hono', 'koa', 'fastify'] as const).flatMap((fw) =>
    (['otel-cm', 'cls', 'capture'] as const).flatMap((lib) =>
      (['open', 'edge'] as const).map((mode): Setup => ({ fw, lib, mode })),
    ),
  ),
  // Controls: no listener library (graylane's wrappers were in place before the handler ran).
  { fw: 'node', lib: 'none', mode: 'open' },
  { fw: 'express', lib: 'none', mode: 'edge' },
];

describe.each(SETUPS)('CTX-05 first request: $fw, library $lib, trust $mode', (setup) => {
  let svc: { child: ChildProcess; port: number };
  beforeAll(async () => {
    svc = await start({ FW: setup.fw, LIB: setup.lib, MODE: setup.mode });
  });
  afterAll(() => stop(svc.child));
  const want = Object.fromEntries(KEYS.map((k) => [k, DECIDED[setup.mode]]));

  it.each(['first', 'second'])(
    "the process's %s request: every req/res listener sees the decided lane",
    async (which) => {
      const { body, lanes } = await request(svc.port, which);
      expect(body, 'the handler').toBe(DECIDED[setup.mode]);
      expect(lanes).toEqual(want);
    },
  );
});

describe('CTX-05 control: a library that captured the prototypes before graylane was created', () => {
  // Out of graylane's reach: the methods it kept are Node's own. Documents the limit (load the
  // library after creating graylane).
  it('node:http: its listeners see no lane, first request or not', async () => {
    const svc = await start({ FW: 'node', LIB: 'capture', MODE: 'open', ORDER: 'before' });
    try {
      for (const rid of ['first', 'second']) {
        const { body, lanes } = await request(svc.port, rid);
        expect(body).toBe('beta');
        // The request's 'end' and 'close' come from the socket, outside any request context (a
        // response's 'finish'/'close' follow the handler's own write, which has the lane anyway).
        const fromSocket = Object.entries(lanes).filter(([k]) => /:req:(end|close):/.test(k));
        expect(fromSocket.map(([, v]) => v)).toEqual(Array(10).fill('undefined'));
      }
    } finally {
      await stop(svc.child);
    }
  });
});
