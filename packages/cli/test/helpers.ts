import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../src/index.js';

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

/** Options of {@link runInProcess}. */
export interface InProcessOptions {
  /** The bytes on stdin (a string as UTF-8). Default: stdin empty. */
  readonly stdin?: string | Uint8Array | undefined;
  /** Answers push's question. Default: nobody can answer (`--yes` is needed). */
  readonly confirm?: CliIo['confirm'];
}

/**
 * One run of the CLI's `runCli` in this process, without colour: its exit code and the lines it
 * wrote to stdout and stderr, each joined with `\n`.
 */
export async function runInProcess(
  args: readonly string[],
  options: InProcessOptions = {},
): Promise<{ code: number; out: string; err: string }> {
  // Loaded on first use: the suites that only spawn the CLI do not load its source.
  const { runCli } = await import('../src/index.js');
  const out: string[] = [];
  const err: string[] = [];
  const { stdin = Buffer.alloc(0) } = options;
  const io: CliIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    color: false,
    // Past the cap, `undefined`: what `processIo` reads from a real stdin that goes on.
    stdin: (max) => {
      const bytes = typeof stdin === 'string' ? Buffer.from(stdin) : stdin;
      return Promise.resolve(bytes.length > max ? undefined : bytes);
    },
    confirm: options.confirm ?? (() => Promise.resolve(undefined)),
  };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
