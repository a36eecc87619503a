import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { NEXT_BIN, NEXT_ENV } from './build.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/**
 * `next start` on a free port, ready when it answers (bounded). As users start it: without `-H`
 * by default (Next listens on every interface and calls itself `localhost`), or with `host` as
 * `-H` (`0.0.0.0` in containers). Where Next sees another origin than the proxy's request URL
 * (`-H 127.0.0.1`), a proxy rewrite to that URL is an external proxy hop, elsewhere an internal
 * rewrite: the suites must not test only one of them (review 172 D2).
 */
export async function startNext(
  dir: string,
  env: Record<string, string>,
  host?: string,
): Promise<{ origin: string; output(): string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [NEXT_BIN, 'start', '-p', String(port), ...(host === undefined ? [] : ['-H', host])],
    {
      cwd: dir,
      env: { ...process.env, ...NEXT_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const origin = `http://${host === 'localhost' ? 'localhost' : '127.0.0.1'}:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited ${child.exitCode}:\n${log}`);
    try {
      const res = await fetch(`${origin}/favicon.ico`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop(child);
        throw new Error(`next start not ready after 60 s:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { origin, output: () => log, stop: () => stop(child) };
}

function stop(child: ChildProcess): Promise<void> {
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
