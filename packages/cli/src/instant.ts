import { parseInstant as parseConfigInstant } from '@graylane/core';
import { CliError } from './io.js';
import { quoted } from './text.js';

/**
 * RFC 3339 `date-time` with its offset (`2026-12-01T09:00:00Z`, `…T10:00+01:00`, seconds and a
 * fraction of any length optional), or a `full-date` (`2026-12-01`, midnight UTC). Nothing else:
 * `Date.parse` reads a time without an offset (`2026-12-01T09:00:00`, `2026-12-01 09:00`) in the
 * operator's time zone, so the same command would mean a different instant on another machine.
 */
const INSTANT = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/i;

/**
 * Epoch ms of an instant in the one format every command accepts ({@link INSTANT}), or
 * `undefined` for anything else, an impossible date (`2026-02-30`) included. Read by core's
 * reader of a config's instants, so `--at` means what a rule's window means: a fraction to the
 * millisecond, truncated; a leap second (`23:59:60Z`, or that UTC second in another offset) as
 * `23:59:59.999Z`, and `:60` anywhere else refused.
 *
 * @example
 * ```ts
 * parseInstant('2026-12-02T10:00:00+01:00'); // Date.UTC(2026, 11, 2, 9)
 * parseInstant('2026-12-02T10:00:00');       // undefined (local time)
 * ```
 */
export function parseInstant(text: string): number | undefined {
  const m = INSTANT.exec(text);
  if (!m) return undefined;
  const [, date, hm, seconds, zone] = m;
  return parseConfigInstant(
    hm === undefined ? `${date}T00:00:00Z` : `${date}T${hm}${seconds ?? ':00'}${zone}`,
  );
}

/** An instant option (`--at`, `--now`): now when absent, else {@link parseInstant} or a usage error. */
export function instantOption(text: string | undefined, flag: string): number {
  if (text === undefined) return Date.now();
  const at = parseInstant(text);
  if (at === undefined)
    throw new CliError(
      `${flag} expects an ISO instant with an offset (e.g. 2026-12-01T09:00:00Z) or a date (2026-12-01, UTC); a local time is refused. Got ${quoted(text)}`,
    );
  return at;
}
