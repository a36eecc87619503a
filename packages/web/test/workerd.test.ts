import { copyFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { bundleApp } from './support/bundle.js';
import { startProcess } from './support/process.js';
import { describeRuntime, type RuntimeSetup } from './support/suite.js';

const require = createRequire(import.meta.url);
const WORKERD = join(require.resolve('workerd/package.json'), '..', 'bin', 'workerd');

/**
 * A workerd config with two workers on two sockets: `main` with `nodejs_compat`, whose entry
 * hands graylane `node:async_hooks`' AsyncLocalStorage, and `bare` with no compatibility flags
 * (no AsyncLocalStorage: lanes travel explicitly). Both
 * reach 127.0.0.1 through an `internet` network service allowing private/local addresses, and
 * read rules from a real KV namespace binding backed by the Node downstream.
 */
function capnp(setup: RuntimeSetup, port: number, barePort: number): string {
  const kv = new URL(setup.kvUrl).host;
  const worker = (flags: string[]): string => `(
    modules = [
      ${flags.length > 0 ? '(name = "entry", esModule = embed "workerd-entry.mjs"),' : ''}
      (name = "./app.bundle.mjs", esModule = embed "app.bundle.mjs"),
    ],
    compatibilityDate = "2025-09-01",
    compatibilityFlags = [${flags.map((f) => JSON.stringify(f)).join(', ')}],
    bindings = [
      (name = "SETUP", json = ${JSON.stringify(JSON.stringify(setup))}),
      (name = "RULES", kvNamespace = "kv"),
    ],
  )`;
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = ${worker(['nodejs_compat'])}),
    (name = "bare", worker = ${worker([])}),
    (name = "internet", network = (allow = ["private", "local"])),
    (name = "kv", external = (address = "${kv}", http = ())),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:${port}", http = (), service = "main"),
    (name = "bare", address = "127.0.0.1:${barePort}", http = (), service = "bare"),
  ],
);
`;
}

async function startWorkerd(setup: RuntimeSetup, variant: 'main' | 'bare') {
  const { dir } = await bundleApp('esm');
  copyFileSync(
    fileURLToPath(new URL('fixtures/workerd-entry.mjs', import.meta.url)),
    join(dir, 'workerd-entry.mjs'),
  );
  const { freePort } = await import('./support/ports.js');
  const otherPort = await freePort();
  const served = await startProcess(
    WORKERD,
    (port) => {
      const [mainPort, barePort] = variant === 'main' ? [port, otherPort] : [otherPort, port];
      writeFileSync(join(dir, 'config.capnp'), capnp(setup, mainPort, barePort));
      return ['serve', join(dir, 'config.capnp'), '--verbose'];
    },
    { cwd: dir, timeoutMs: 30_000 },
  );
  return { ...served, als: variant === 'main' };
}

describeRuntime(
  'workerd (nodejs_compat: AsyncLocalStorage)',
  () => undefined,
  (setup) => startWorkerd(setup, 'main'),
);
describeRuntime(
  'workerd (no compatibility flags: explicit lanes)',
  () => undefined,
  (setup) => startWorkerd(setup, 'bare'),
);
