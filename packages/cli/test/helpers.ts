import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI entry, and the committed shim npm links as `graylane`. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
export const SHIM = fileURLToPath(new URL('../bin/graylane.mjs', import.meta.url));

/** One CLI run. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runGraylane}. */
export interface RunOptions {
  /** Bytes written to stdin (then closed). Default: stdin closed empty. */
  readonly stdin?: string | Uint8Array | undefined;
  readonly env?: NodeJS.ProcessEnv | undefined;
  readonly cwd?: string | undefined;
  /** The script to run (default the built `dist/bin.js`). */
  readonly entry?: string | undefined;
  readonly timeoutMs?: number | undefined;
  /** Node options before the entry (e.g. `--import` a resolve hook). */
  readonly nodeArgs?: readonly string[] | undefined;
}

/** Runs `node <entry> ...args` with `NO_COLOR`, feeding stdin; never rejects. */
export function runGraylane(args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [...(options.nodeArgs ?? []), options.entry ?? BIN, ...args],
      {
        cwd: options.cwd,
        env: { ...process.env, NO_COLOR: '1', ...options.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 99, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}
