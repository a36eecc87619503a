import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './io.js';
import { printable, quoted } from './text.js';

/** `util.parseArgs` in strict mode, with its errors turned into clear CLI errors. */
type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<T extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
>;

export function parse<T extends Options>(
  args: readonly string[],
  options: T,
  help: string,
): Parsed<T> {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (err) {
    // util.parseArgs quotes the option as given: input, escaped (I1).
    throw new CliError(`${printable((err as Error).message)}\n\n${help}`);
  }
}

/** Splits `k=v` (or `K: V` for headers) into a pair. */
export function pair(text: string, separator: '=' | ':', what: string): [string, string] {
  const at = text.indexOf(separator);
  if (at <= 0)
    throw new CliError(
      `--${what} expects ${separator === ':' ? "'Name: value'" : 'name=value'}, got ${quoted(text)}`,
    );
  return [text.slice(0, at).trim(), text.slice(at + 1).trim()];
}

/**
 * The one value of an option declared `multiple: true` so that a repeat can be seen: `undefined`
 * when absent, a usage error naming the flag when given twice (`util.parseArgs` would keep the
 * last one silently). `why` says why one is all there can be.
 */
export function once(
  values: readonly string[] | undefined,
  flag: string,
  why: string,
): string | undefined {
  if (values === undefined || values.length <= 1) return values?.[0];
  throw new CliError(
    `--${flag} given ${values.length} times (${values.map((v) => quoted(v)).join(', ')}): ${why}`,
  );
}
