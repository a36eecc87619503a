import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startProcess, type Served } from './process.js';

/** The workerd binary of the `workerd` npm package. */
export const WORKERD = join(
  createRequire(import.meta.url).resolve('workerd/package.json'),
  '..',
  'bin',
  'workerd',
);

/**
 * Serves the ES module `dir/<module>` (already written) with workerd on a free 127.0.0.1 port;
 * with `internet`, its `fetch` may reach loopback and private addresses (the test's servers).
 */
export function startWorkerd(
  dir: string,
  { module = 'worker.mjs', internet = true }: { module?: string; internet?: boolean } = {},
): Promise<Served> {
  const network = internet
    ? `
    (name = "internet", network = (allow = ["private", "local"])),`
    : '';
  const capnp = (port: number): string => `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = (
      modules = [(name = "worker", esModule = embed "${module}")],
      compatibilityDate = "2025-09-01",
    )),${network}
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
`;
  return startProcess(
    WORKERD,
    (port) => {
      writeFileSync(join(dir, 'config.capnp'), capnp(port));
      return ['serve', join(dir, 'config.capnp')];
    },
    { cwd: dir, timeoutMs: 30_000 },
  );
}
