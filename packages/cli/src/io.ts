import { createInterface } from 'node:readline/promises';
import { redact } from './secrets.js';
import { escapeChar } from './text.js';

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
 * Wraps an io so that no diagnostic (stderr) can carry a registered secret (MISC-03), and no line
 * carries a character a terminal acts on from the input it reports on (I1). Text from input is
 * escaped where a line is built (`text.ts`: a header name holding a line feed, `ESC[8m` or a
 * right-to-left override is shown as `\u000a`, `\u001b[8m`, `\u202e`); this is the last check
 * on the finished line: the only characters of `text.ts`'s set that stay raw are the line feeds
 * graylane composes (a multi-line message, a JSON document) and, when colour is on, the exact
 * colour codes {@link paint} writes. Anything else — an `ESC[8m`, a tab, a carriage return — is
 * escaped here too.
 *
 * Standard output is data — a config (`pause`), a snippet (`render`), a report — and is never
 * scrubbed: it is the user's own data, and replacing text in it would corrupt what is piped on
 * (`pause … | push - …` writing `x-***-group`). What the CLI composes for stdout around data is
 * scrubbed where it is built: a location is printed in its display form (a userinfo as `***@`,
 * a URL-like text refused before it could be a file name), `push` scrubs the locations in its
 * lines, and a `--json` error field, the one diagnostic on stdout, is scrubbed as stderr is
 * (MISC-03). The escaping still applies on stdout and changes no data there: JSON and YAML output
 * hold these characters only inside strings, where `\uXXXX` is the same character.
 */
export function redactingIo(io: CliIo): CliIo {
  return {
    ...io,
    out: (line) => io.out(neutralise(line, io.color)),
    err: (line) => io.err(neutralise(redact(line), io.color)),
  };
}

/** The SGR codes {@link paint} writes, by name. */
const COLOURS = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
/** Every sequence {@link paint} writes: its colours and the reset. */
const OWN_SEQUENCES: ReadonlySet<string> = new Set(
  [...Object.values(COLOURS), 0].map((code) => `\u001b[${code}m`),
);

/**
 * An SGR sequence (kept only when it is one of graylane's own), or a character of `text.ts`'s
 * set but the line feed.
 */
const CONTROL =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /\u001b\[[0-9;]*m|[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * `line` with every control, separator and bidi character but the line feed shown as `\uXXXX`;
 * graylane's own colour sequences are kept when `color` is on.
 */
export function neutralise(line: string, color: boolean): string {
  return line.replace(CONTROL, (m) =>
    m.length > 1 && color && OWN_SEQUENCES.has(m) ? m : `${escapeChar(m)}${m.slice(1)}`,
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
export function paint(io: CliIo, color: keyof typeof COLOURS, text: string): string {
  if (!io.color) return text;
  return `\u001b[${COLOURS[color]}m${text}\u001b[0m`;
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

/**
 * A document larger than the limit of what it is (read no further than that). A config this large
 * is an invalid config, as every rule source says (`loadConfig`); a sample or key file, a failure.
 */
export class InputTooLarge extends CliError {
  constructor(
    message: string,
    /** The limit, in bytes. */
    readonly maxBytes: number,
    /** The size, when it is known before reading (a regular file). */
    readonly size?: number | undefined,
  ) {
    super(message, 2, 'io');
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
