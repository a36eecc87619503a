import { AsyncLocalStorage } from 'node:async_hooks';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { EdgeRuntime, runServer } from 'edge-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUN, DENO, binaryMissing } from './support/binaries.js';
import { bundleExample, docExample } from './support/docs.js';
import { startDownstream, type Downstream } from './support/downstream.js';
import { startProcess, type Served } from './support/process.js';

const WORKERD = join(
  createRequire(import.meta.url).resolve('workerd/package.json'),
  '..',
  'bin',
  'workerd',
);
const EVERYONE_BETA = JSON.stringify({
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [{ id: 'all', version: 'beta' }],
});

interface Answer {
  version: string;
  api: { marker?: string; lane?: string };
}

/**
 * The complete example of each runtime page in docs/, extracted from the Markdown, bundled and
 * run in that runtime: a marker decides the lane, the internal API (a Node service running
 * graylane's middleware) receives it, and — where the page reads rules from KV or HTTP — the
 * rules arrive without a restart.
 */
describe('docs: every runtime page runs as written', () => {
  let down: Downstream;
  beforeAll(async () => {
    down = await startDownstream();
    down.kv.set('graylane', EVERYONE_BETA);
    down.rules.body = EVERYONE_BETA;
    down.rules.etag = '"docs"';
  });
  afterAll(() => down?.close());

  const check = async (served: Served, rules: boolean): Promise<void> => {
    try {
      const marked = await fetch(`${served.origin}/`, { headers: { 'x-gray-id': 'beta' } });
      expect(marked.status, served.output()).toBe(200);
      expect(await marked.json()).toMatchObject({
        version: 'beta',
        api: { marker: 'beta', lane: 'beta' },
      });
      const first = await fetch(`${served.origin}/`);
      const body = (await first.json()) as Answer;
      expect(body.api.marker).toBe(body.version);
      if (!rules) return;
      // Rules arrive in the background (waitUntil); later requests are decided by them. Five
      // fresh visitors in a row on beta: the page's own 10 % split alone would do that 1 in 10^5.
      let streak = 0;
      for (let i = 0; i < 60 && streak < 5; i++) {
        const answer = (await (await fetch(`${served.origin}/`)).json()) as Answer;
        expect(answer.api.marker).toBe(answer.version);
        streak = answer.version === 'beta' ? streak + 1 : 0;
        if (streak === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(streak).toBe(5);
    } finally {
      await served.stop();
    }
  };

  it('docs/cloudflare-workers.md in workerd', async () => {
    const { dir } = await bundleExample(
      docExample('cloudflare-workers.md', 'src/worker.ts'),
      down.origin,
      'esm',
    );
    const served = await startProcess(
      WORKERD,
      (port) => {
        writeFileSync(
          join(dir, 'config.capnp'),
          `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (
      modules = [(name = "worker", esModule = embed "example.mjs")],
      compatibilityDate = "2025-09-01",
      compatibilityFlags = ["nodejs_compat"],
      bindings = [(name = "RULES", kvNamespace = "kv")],
    )),
    (name = "internet", network = (allow = ["private", "local"])),
    (name = "kv", external = (address = "${new URL(down.origin).host}", http = ())),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);`,
        );
        return ['serve', join(dir, 'config.capnp')];
      },
      { cwd: dir, readyPath: '/' },
    );
    await check(served, true);
  });

  it('docs/vercel-edge.md in edge-runtime (with the global AsyncLocalStorage Vercel provides)', async () => {
    const { code } = await bundleExample(
      docExample('vercel-edge.md', 'api/hello.ts'),
      down.origin,
      'iife',
    );
    const runtime = new EdgeRuntime({
      initialCode: `${code}
addEventListener('fetch', (event) => {
  event.respondWith(Example.default(event.request, { waitUntil: (p) => event.waitUntil(p) }));
});`,
      extend: (context) => Object.assign(context, { AsyncLocalStorage }),
    });
    const server = await runServer({ runtime, port: 0, host: '127.0.0.1' });
    await check(
      { origin: server.url.replace(/\/$/, ''), output: () => '', stop: () => server.close() },
      true,
    );
  });

  it.skipIf(binaryMissing(DENO, 'npm install --no-save --prefix /opt/deno deno@2') !== undefined)(
    'docs/deno.md in Deno',
    async () => {
      const { dir, file } = await bundleExample(
        docExample('deno.md', 'server.ts'),
        down.origin,
        'esm',
      );
      const served = await startProcess(
        DENO,
        () => ['run', '--allow-net=127.0.0.1', '--allow-env', '--no-prompt', file],
        {
          cwd: dir,
          env: { DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(dir, '.deno') },
          portEnv: 'PORT',
          readyPath: '/',
        },
      );
      await check(served, false);
    },
  );

  it.skipIf(binaryMissing(BUN, 'npm install --no-save --prefix /opt/bun bun@1') !== undefined)(
    'docs/bun.md in Bun',
    async () => {
      const { dir, file } = await bundleExample(
        docExample('bun.md', 'server.ts'),
        down.origin,
        'esm',
      );
      const served = await startProcess(BUN, () => ['run', file], {
        cwd: dir,
        portEnv: 'PORT',
        readyPath: '/',
      });
      await check(served, false);
    },
  );
});
