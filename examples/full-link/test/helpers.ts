/**
 * Test helpers: free loopback ports, the built demo, and child processes started in their own
 * process group so `afterAll` can stop everything they started.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** examples/full-link */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEMO_JS = resolve(PACKAGE_ROOT, 'dist/demo.js');
export const WEB_ROOT = resolve(PACKAGE_ROOT, 'dist/web');

/** Builds the example if `npm test`'s build step did not (e.g. running vitest directly). */
export function ensureBuilt(): void {
  if (existsSync(DEMO_JS) && existsSync(resolve(WEB_ROOT, 'stable/index.html'))) return;
  const r = spawnSync(process.execPath, ['scripts/build.mjs'], {
    cwd: PACKAGE_ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`example build failed:\n${r.stderr}`);
}

/** True when `port` can be bound on 127.0.0.1 right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer();
    s.once('error', () => done(false));
    s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
  });
}

/** A free ephemeral port (closed again: a tiny race, acceptable on a test machine). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => done(port));
    });
  });
}

/** A base port with `count` consecutive free ports, away from the demo's default 4100. */
export async function freePortBase(
  count: number,
  from = 20_000 + (process.pid % 200) * 50,
): Promise<number> {
  for (let base = from; base < 60_000; base += count + 3) {
    const checks = await Promise.all(Array.from({ length: count }, (_, i) => isPortFree(base + i)));
    if (checks.every(Boolean)) return base;
  }
  throw new Error('no free port range on 127.0.0.1');
}

/** A finished child process. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a command in its own process group; kills the group after `timeoutMs`. */
export function run(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  track: Set<ChildProcess>,
): Promise<RunResult> {
  const started = Date.now();
  const child = spawn(process.execPath, args, {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => killGroup(child), timeoutMs);
  return new Promise((done) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      track.delete(child);
      done({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Kills a detached child's whole process group (it leads the group: pgid = pid). */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
