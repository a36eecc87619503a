import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on 127.0.0.1 (bind 0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A temp dir removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A broker process started by a test, in its own process group. */
export interface BrokerProcess {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Spawns `command` detached (its own process group, so a shell wrapper's children are stopped
 * too), waits until `port` accepts connections, bounded by `timeoutMs`, and fails fast with the
 * log tail if the process exits first.
 */
export async function startBroker(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; port: number; timeoutMs: number; log: string },
): Promise<BrokerProcess> {
  const { openSync } = await import('node:fs');
  const out = openSync(options.log, 'a');
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  const stop = async (): Promise<void> => {
    if (exited || child.pid === undefined) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const killed = await Promise.race([
      gone.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 15_000)),
    ]);
    if (!killed) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await gone;
    }
  };
  const deadline = Date.now() + options.timeoutMs;
  while (!(await portOpen(options.port))) {
    if (exited) throw new Error(`${command} exited at start:\n${tail(options.log)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${command} not ready in ${options.timeoutMs} ms:\n${tail(options.log)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, stop };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}
