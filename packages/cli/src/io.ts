/** Where a command writes. Injected so tests and embedders can capture output. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Colours only on a TTY and when NO_COLOR is unset. */
  readonly color: boolean;
}

/** The process's stdout/stderr. */
export function processIo(): CliIo {
  const color =
    Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'] && process.env['TERM'] !== 'dumb';
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    color,
  };
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

/** A user-facing failure: printed without a stack trace, with an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}
