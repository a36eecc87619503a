import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long a started etcd may take to report healthy. */
const HEALTH_TIMEOUT_MS = 15_000;
const INSTALL_HINT = 'apt-get install etcd-server';

/**
 * The etcd binary, or `undefined` (tests skip with {@link ETCD_SKIP_MESSAGE}). Under `CI=true` a
 * missing binary throws: CI must run the real thing.
 */
export function findEtcdBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  if (process.env['CI'] === 'true')
    throw new Error(`etcd is not installed: ${INSTALL_HINT} (CI requires it)`);
  return undefined;
}

/** Printed when the etcd tests skip. */
export const ETCD_SKIP_MESSAGE = `etcd binary not found: skipping the etcd integration tests (${INSTALL_HINT})`;

/** A free loopback port (bind to 0, read, release). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** A real etcd process on loopback with a temp data dir. */
export interface EtcdProcess {
  readonly endpoint: string;
  readonly port: number;
  /** SIGTERM and wait; the data dir stays for a restart. */
  stop(): Promise<void>;
  /** Start again on the same ports and data. */
  start(): Promise<void>;
  /** Stop and delete the data dir. */
  dispose(): Promise<void>;
}

/**
 * Starts etcd on free 127.0.0.1 ports with a temp data dir and waits for `/health`.
 *
 * @example
 * ```ts
 * const etcd = await startEtcd(binary);
 * await etcd.stop(); await etcd.start(); // a real outage
 * await etcd.dispose();
 * ```
 */
export async function startEtcd(binary: string): Promise<EtcdProcess> {
  const port = await freePort();
  const peer = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'graylane-etcd-'));
  const endpoint = `http://127.0.0.1:${port}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const args = [
    '--name=graylane-test',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=graylane-test=${peerUrl}`,
    '--logger=zap',
    '--log-level=error',
  ];
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    await waitHealthy(endpoint, proc, () => stderr);
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    endpoint,
    port,
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitHealthy(
  endpoint: string,
  proc: ChildProcess,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`etcd exited with ${proc.exitCode}: ${stderr()}`);
    try {
      const res = await fetch(`${endpoint}/health`);
      const body = (await res.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error(`etcd did not become healthy in ${HEALTH_TIMEOUT_MS} ms: ${stderr()}`);
}

/** A loopback TCP proxy that can cut every connection, to disconnect one client while etcd stays up. */
export interface TcpProxy {
  readonly endpoint: string;
  /** Destroys open connections and refuses new ones. */
  block(): void;
  unblock(): void;
  close(): Promise<void>;
}

/** Starts a {@link TcpProxy} to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let blocked = false;
  const server: Server = createServer((inbound) => {
    if (blocked) return void inbound.destroy();
    const outbound = connect(targetPort, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no proxy port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    block() {
      blocked = true;
      for (const s of sockets) s.destroy();
    },
    unblock() {
      blocked = false;
    },
    async close() {
      blocked = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
