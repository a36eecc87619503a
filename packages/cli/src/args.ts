import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './io.js';

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
    throw new CliError(`${(err as Error).message}\n\n${help}`);
  }
}

/** Splits `k=v` (or `K: V` for headers) into a pair. */
export function pair(text: string, separator: '=' | ':', what: string): [string, string] {
  const at = text.indexOf(separator);
  if (at <= 0)
    throw new CliError(
      `--${what} expects ${separator === ':' ? "'Name: value'" : 'name=value'}, got ${JSON.stringify(text)}`,
    );
  return [text.slice(0, at).trim(), text.slice(at + 1).trim()];
}

/** Parses a duration like `90s`, `15m`, `2h`, `1d` (or plain seconds) into seconds. */
export function duration(text: string): number {
  const m = /^(\d+)(s|m|h|d)?$/.exec(text);
  if (!m)
    throw new CliError(
      `--ttl expects a duration like 90s, 15m, 2h or 1d, got ${JSON.stringify(text)}`,
    );
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  const seconds = Number(m[1]) * unit;
  if (seconds <= 0) throw new CliError('--ttl must be positive');
  return seconds;
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
    `--${flag} given ${values.length} times (${values.map((v) => JSON.stringify(v)).join(', ')}): ${why}`,
  );
}
