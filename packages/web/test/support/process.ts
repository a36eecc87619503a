import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitReady } from './ports.js';

/** A server process under test, reachable on 127.0.0.1. */
export interface Served {
  readonly origin: string;
  readonly output: () => string;
  stop(): Promise<void>;
}

/**
 * Starts `command` (which must listen on the port it is given), waits for `GET readyPath` = 200
 * within `timeoutMs`, and returns a handle that kills it (SIGTERM, then SIGKILL after 3 s).
 */
export async function startProcess(
  command: string,
  args: (port: number) => string[],
  options: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
    portEnv?: string;
    /** Readiness probe path (must answer 200). Default `/health`. */
    readyPath?: string;
  } = {},
): Promise<Served> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(command, args(port), {
      cwd: options.cwd,
      env: {
        ...process.env,
        ...options.env,
        ...(options.portEnv ? { [options.portEnv]: String(port) } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    let exit: string | undefined;
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    child.on('exit', (code, signal) => (exit = `exit ${code ?? signal}\n${log}`));
    const origin = `http://127.0.0.1:${port}`;
    try {
      await waitReady(
        `${origin}${options.readyPath ?? '/health'}`,
        options.timeoutMs ?? 30_000,
        () => exit,
      );
      return { origin, output: () => log, stop: () => kill(child) };
    } catch (err) {
      lastError = err;
      await kill(child);
      // The port may have been taken between freePort() and listen: try a fresh one.
      if (!/EADDRINUSE|Address already in use|address in use/i.test(String(err))) break;
    }
  }
  throw lastError;
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
