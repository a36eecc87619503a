import { AsyncLocalStorage } from 'node:async_hooks';
import { EdgeRuntime, runServer } from 'edge-runtime';
import { bundleApp } from './support/bundle.js';
import { describeRuntime, type RuntimeSetup } from './support/suite.js';

/**
 * Vercel's edge-runtime (the sandbox Vercel Edge Functions are emulated with): the fixture app as
 * a classic script with a `fetch` event listener, served on a loopback port. Plain
 * edge-runtime has no AsyncLocalStorage (lanes travel explicitly); Next.js's edge sandbox and
 * Vercel Edge put `AsyncLocalStorage` on the global (next/dist/server/web/sandbox/context.js),
 * which the second variant reproduces with edge-runtime's own `extend` hook.
 */
async function startEdge(setup: RuntimeSetup, withAls: boolean) {
  const { code } = await bundleApp('iife');
  const initialCode = `${code}
const setup = ${JSON.stringify(setup)};
const env = {
  SETUP: setup,
  RULES: {
    async get(key) {
      const res = await fetch(setup.kvUrl + '/' + encodeURIComponent(key));
      return res.status === 404 ? null : res.text();
    },
  },
};
addEventListener('fetch', (event) => {
  event.respondWith(GraylaneApp.default.fetch(event.request, env, { waitUntil: (p) => event.waitUntil(p) }));
});`;
  const runtime = withAls
    ? new EdgeRuntime({
        initialCode,
        extend: (context) => Object.assign(context, { AsyncLocalStorage }),
      })
    : new EdgeRuntime({ initialCode });
  const server = await runServer({ runtime, port: 0, host: '127.0.0.1' });
  return {
    origin: server.url.replace(/\/$/, ''),
    output: () => '',
    als: withAls,
    stop: () => server.close(),
  };
}

describeRuntime(
  'edge-runtime (plain: explicit lanes)',
  () => undefined,
  (setup) => startEdge(setup, false),
);
describeRuntime(
  'edge-runtime as Vercel Edge / Next.js (globalThis.AsyncLocalStorage)',
  () => undefined,
  (setup) => startEdge(setup, true),
);
