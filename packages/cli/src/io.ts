import { createInterface } from 'node:readline/promises';
import { redact } from './secrets.js';

/** Where a command reads and writes. Injected so tests and embedders can capture output. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Colours only on a TTY and when NO_COLOR is unset. */
  readonly color: boolean;
  /**
   * Standard input, for `-` arguments: its bytes, or `undefined` once it exceeds `maxBytes` (the
   * read stops there). Default: `process.stdin`.
   */
  readonly stdin?: ((maxBytes: number) => Promise<Uint8Array | undefined>) | undefined;
  /**
   * Asks a yes/no question (`graylane push` before it writes). Absent or returning `undefined`
   * means nobody can answer: the command needs `--yes`. Default: a prompt when stdin and stderr
   * are terminals.
   */
  readonly confirm?: ((question: string) => Promise<boolean | undefined>) | undefined;
}

/** The process's stdout/stderr/stdin. */
export function processIo(): CliIo {
  const color =
    Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'] && process.env['TERM'] !== 'dumb';
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    color,
    stdin: (maxBytes) => readCapped(process.stdin, maxBytes),
    confirm: (question) => promptTty(question),
  };
}

/**
 * Wraps an io so that no diagnostic (stderr) can carry a registered secret (MISC-03), and nothing
 * printed carries a terminal control sequence from the input it reports on (a config key holding
 * `ESC[2J` or a title-setting `ESC]0;…BEL` is shown escaped, `\u001b[2J`, never executed). Line
 * feeds and tabs stay; the colour sequences graylane's own `paint` writes stay when colour is on.
 *
 * Standard output is data — a config (`pause`), a snippet (`render`), a report — and is never
 * scrubbed: it is the user's own data, and replacing text in it would corrupt what is piped on
 * (`pause … | push - …` writing `x-***-group`). What the CLI composes for stdout around data is
 * scrubbed where it is built: a location is printed in its display form (a userinfo as `***@`,
 * a URL-like text refused before it could be a file name), `push` scrubs the locations in its
 * lines, and a `--json` error field, the one diagnostic on stdout, is scrubbed as stderr is
 * (MISC-03). Control characters are still escaped on
 * stdout: JSON and YAML output already escape them, so this changes no data there.
 */
export function redactingIo(io: CliIo): CliIo {
  return {
    ...io,
    out: (line) => io.out(neutralise(line, io.color)),
    err: (line) => io.err(neutralise(redact(line), io.color)),
  };
}

/** An SGR colour sequence, or one C0 (but tab and line feed), DEL or C1 control character. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /\u001b\[[0-9;]*m|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `line` with every control character shown as `\uXXXX` (colour sequences kept if `color`). */
export function neutralise(line: string, color: boolean): string {
  return line.replace(CONTROL, (m) =>
    m.length > 1 && color ? m : `\\u${m.charCodeAt(0).toString(16).padStart(4, '0')}${m.slice(1)}`,
  );
}

/** Reads a stream to its end, or stops (and returns `undefined`) past `maxBytes`. */
export async function readCapped(
  stream: NodeJS.ReadableStream,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf = Buffer.from(chunk as Uint8Array);
    total += buf.length;
    if (total > maxBytes) {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      return undefined;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, total);
}

async function promptTty(question: string): Promise<boolean | undefined> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Wraps text in an ANSI colour when the io allows it. */
export function paint(
  io: CliIo,
  color: 'red' | 'green' | 'yellow' | 'dim' | 'bold',
  text: string,
): string {
  if (!io.color) return text;
  const codes = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
  return `\u001b[${codes[color]}m${text}\u001b[0m`;
}

/**
 * What kind of failure a `--json` error document names (`error.code`): a usage error, a file or
 * etcd location that cannot be read or written, an invalid config, a push target that is not a
 * graylane config, a conflict, a push not confirmed, or a bug (`internal`).
 */
export type CliErrorCode =
  'usage' | 'io' | 'invalid_config' | 'not_a_config' | 'conflict' | 'not_confirmed' | 'internal';

/** One problem of an invalid config, with its JSON path. */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

/** A user-facing failure: printed without a stack trace, with an exit code. */
export class CliError extends Error {
  /** The kind of failure (`--json`'s `error.code`). */
  readonly code: CliErrorCode;
  /** True when the kind was given, not derived from the exit code. */
  readonly kindGiven: boolean;
  constructor(
    message: string,
    readonly exitCode = 2,
    /** Default: from the exit code (1 `invalid_config`, 3 `conflict`, 4 `not_confirmed`, else `usage`). */
    code?: CliErrorCode,
    readonly problems?: readonly Problem[] | undefined,
  ) {
    super(message);
    this.code = code ?? DEFAULT_CODES[exitCode] ?? 'usage';
    this.kindGiven = code !== undefined;
  }
}

const DEFAULT_CODES: Readonly<Record<number, CliErrorCode>> = {
  1: 'invalid_config',
  3: 'conflict',
  4: 'not_confirmed',
};

/** `err` as a failure of kind `io` (a location that cannot be read), unless it has a kind. */
export function asIoError(err: unknown): unknown {
  if (!(err instanceof CliError) || err.kindGiven || err.exitCode !== 2) return err;
  return new CliError(err.message, err.exitCode, 'io', err.problems);
}

/**
 * The `--json` document of a failure: `{"ok": false, "error": {"code", "message", "problems"?},
 * "exitCode"}` — the same shape for every command and every failure, the message scrubbed of
 * secrets as stderr is (MISC-03).
 */
export function errorDocument(err: CliError, extra: Record<string, unknown> = {}): string {
  return JSON.stringify(
    {
      ok: false,
      ...extra,
      error: {
        code: err.code,
        message: redact(err.message),
        ...(err.problems ? { problems: err.problems } : {}),
      },
      exitCode: err.exitCode,
    },
    null,
    2,
  );
}
