import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorker } from './support/bundle.js';
import { startProcess, type Served } from './support/process.js';

/*
 * GW-04 (review 67 D1) in real workerd: a Workers app on `@graylane/web/hono` whose bindings are
 * named like a runtime's peer (`server`, `incoming`, `remoteAddr`, `requestIP`). A service
 * binding answers any property with an RPC method, so a peer probe that calls one sends the
 * request — body and all — to that service. The middleware must never call a binding: the body
 * reaches the handler whole, and `edge` mode's peer comes from the `remoteAddress` option
 * (`cf-connecting-ip` on Workers), trusted when it names a listed proxy.
 */

const require = createRequire(import.meta.url);
const WORKERD = join(require.resolve('workerd/package.json'), '..', 'bin', 'workerd');
const PROXY = '203.0.113.10';

const APP = `
import { Hono } from 'hono';
import { graylaneHono } from '@graylane/web/hono';
const config = { versions: ['stable', 'beta'], default: 'stable' };
const app = new Hono();
app.get('/health', (c) => c.text('ok'));
app.use('/open/*', graylaneHono({ config }));
app.use('/edge/*', graylaneHono({
  config,
  trust: 'edge',
  trustedProxies: ['${PROXY}'],
  remoteAddress: (request) => request.headers.get('cf-connecting-ip') ?? undefined,
}));
app.all('*', async (c) =>
  c.json({ version: c.get('grayVersion'), reason: c.get('grayDecision')?.reason, body: await c.req.text() }),
);
export default app;
`;

// A backend that records whether anything reached it (a call through a binding would).
const BACKEND = `
import { WorkerEntrypoint } from 'cloudflare:workers';
let hits = 0;
export default class extends WorkerEntrypoint {
  async fetch() { hits++; return new Response(String(hits)); }
}
`;

/** Binding names per variant: each a service binding to the backend. */
const VARIANTS: Record<string, readonly string[]> = {
  server: ['server'],
  'incoming + remoteAddr + requestIP': ['incoming', 'remoteAddr', 'requestIP'],
  'server + incoming + remoteAddr + requestIP': ['server', 'incoming', 'remoteAddr', 'requestIP'],
  'SERVER (control)': ['SERVER'],
};

function capnp(port: number, portOf: Record<string, number>): string {
  const worker = (bindings: readonly string[]) => `(
    modules = [(name = "app.mjs", esModule = embed "app.bundle.mjs")],
    compatibilityDate = "2025-09-01",
    compatibilityFlags = ["nodejs_compat"],
    bindings = [${bindings.map((b) => `(name = "${b}", service = "backend")`).join(', ')}],
  )`;
  const names = Object.keys(VARIANTS);
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    ${names.map((n, k) => `(name = "app${k}", worker = ${worker(VARIANTS[n] as string[])}),`).join('\n    ')}
    (name = "backend", worker = (
      modules = [(name = "backend.mjs", esModule = embed "backend.mjs")],
      compatibilityDate = "2025-09-01",
    )),
  ],
  sockets = [
    (name = "probe", address = "127.0.0.1:${port}", http = (), service = "app0"),
    ${names.map((n, k) => `(name = "s${k}", address = "127.0.0.1:${portOf[n]}", http = (), service = "app${k}"),`).join('\n    ')}
  ],
);
`;
}

let dir: string;
let served: Served | undefined;
const origins: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-workerd-hono-'));
  const code = await bundleWorker(
    { contents: APP, resolveDir: fileURLToPath(new URL('.', import.meta.url)) },
    'esm',
    'App',
  );
  writeFileSync(join(dir, 'app.bundle.mjs'), code);
  writeFileSync(join(dir, 'backend.mjs'), BACKEND);
  const { freePort } = await import('./support/ports.js');
  const portOf: Record<string, number> = {};
  for (const name of Object.keys(VARIANTS)) portOf[name] = await freePort();
  served = await startProcess(
    WORKERD,
    (port) => {
      writeFileSync(join(dir, 'config.capnp'), capnp(port, portOf));
      return ['serve', join(dir, 'config.capnp'), '--verbose'];
    },
    { cwd: dir, timeoutMs: 30_000 },
  );
  for (const [name, port] of Object.entries(portOf)) origins[name] = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await served?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ROWS = Object.keys(VARIANTS).flatMap((variant) =>
  (['open', 'edge'] as const).flatMap((mode) =>
    (['GET', 'POST'] as const).map((method) => ({ variant, mode, method })),
  ),
);

describe('GW-04 workerd: bindings named like a runtime peer are never called', () => {
  it.each(ROWS)('$variant, $mode, $method', async ({ variant, mode, method }) => {
    const res = await fetch(`${origins[variant]}/${mode}/p`, {
      method,
      headers: {
        'x-gray-id': 'beta',
        'cf-connecting-ip': PROXY,
        ...(method === 'POST' ? { 'content-type': 'text/plain' } : {}),
      },
      ...(method === 'POST' ? { body: 'the order' } : {}),
    });
    const text = await res.text();
    expect(res.status, `${text}\n${served?.output().slice(-2000)}`).toBe(200);
    const answer = JSON.parse(text) as { version: string; reason: string; body: string };
    // The body is the handler's, whole; the header marker is honoured (open mode, and edge mode
    // through the trusted proxy the option names).
    expect(answer.body).toBe(method === 'POST' ? 'the order' : '');
    expect(answer).toMatchObject({ version: 'beta', reason: 'header' });
  });

  it('an untrusted cf-connecting-ip is still untrusted (control)', async () => {
    const res = await fetch(`${origins.server}/edge/p`, {
      headers: { 'x-gray-id': 'beta', 'cf-connecting-ip': '198.51.100.7' },
    });
    expect(await res.json()).toMatchObject({ version: 'stable', reason: 'untrusted_marker' });
  });
});
