import { CliError, InputTooLarge, type CliIo } from '../io.js';

/** One command run: the io plus what may be consumed only once (stdin). */
export interface Run extends CliIo {
  /** Standard input's bytes; a second `-` in the same command is a usage error. */
  takeStdin(what: string, maxBytes: number): Promise<Uint8Array>;
  /** Prints a warning once per distinct text. */
  warnOnce(text: string): void;
}

/** Wraps an io into a {@link Run}. */
export function createRun(io: CliIo): Run {
  let stdinFor: string | undefined;
  const warned = new Set<string>();
  return {
    ...io,
    out: (line) => io.out(line),
    err: (line) => io.err(line),
    async takeStdin(what, maxBytes) {
      if (stdinFor !== undefined)
        throw new CliError(
          `- (stdin) is already the ${stdinFor}; it cannot also be the ${what}`,
          2,
          'usage',
        );
      stdinFor = what;
      if (!io.stdin) throw new CliError(`no standard input to read the ${what} from`);
      const bytes = await io.stdin(maxBytes);
      if (bytes === undefined)
        throw new InputTooLarge(`the ${what} on stdin is larger than ${maxBytes} bytes`, maxBytes);
      return bytes;
    },
    warnOnce(text) {
      if (warned.has(text)) return;
      warned.add(text);
      io.err(`warning: ${text}`);
    },
  };
}
