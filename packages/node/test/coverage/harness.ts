import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { coverageStats } from '@graylane/node';

/** A loopback server that answers every request with 200 and records the marker it got. */
export interface Target {
  readonly origin: string;
  readonly host: string;
  /** `X-Gray-Id` of every request received, in order (`''` when absent). */
  readonly seen: string[];
  close(): Promise<void>;
}

export async function startTarget(): Promise<Target> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const id = req.headers['x-gray-id'];
    seen.push(typeof id === 'string' ? id : '');
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  server.keepAliveTimeout = 500;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The coverage row of one destination (all zero when it has none yet). */
export function rowOf(destination: string) {
  return (
    coverageStats().destinations.find((r) => r.destination === destination) ?? {
      destination,
      carried: 0,
      missing: 0,
      withheld: 0,
      lastMissingSite: null,
    }
  );
}

/** The change of one destination's counts made by `fn`. */
export async function delta(destination: string, fn: () => Promise<unknown>) {
  const before = rowOf(destination);
  await fn();
  const after = rowOf(destination);
  return {
    carried: after.carried - before.carried,
    missing: after.missing - before.missing,
    withheld: after.withheld - before.withheld,
    site: after.lastMissingSite,
  };
}

/** A logger that keeps what it was told. */
export function memoryLogger() {
  const lines: string[] = [];
  return {
    lines,
    logger: { warn: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) },
  };
}

/** Whether this Node publishes `http.client.request.created` (22.13+, 23.2+): http call sites. */
export const HTTP_SITES = (() => {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major >= 24 || (major === 23 && minor >= 2) || (major === 22 && minor >= 13);
})();
