import { CliError } from './io.js';

/**
 * RFC 3339 `date-time` with its offset (`2026-12-01T09:00:00Z`, `…T10:00+01:00`, seconds and a
 * fraction optional), or a `full-date` (`2026-12-01`, midnight UTC). Nothing else: `Date.parse`
 * reads a time without an offset (`2026-12-01T09:00:00`, `2026-12-01 09:00`) in the operator's
 * time zone, so the same command would mean a different instant on another machine.
 */
const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(?:Z|([+-])(\d{2}):(\d{2})))?$/i;

/**
 * Epoch ms of an instant in the one format every command accepts ({@link INSTANT}), or
 * `undefined` for anything else, an impossible date (`2026-02-30`) included.
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
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as number[];
  const ms = Math.floor(Number(`0${m[7] ?? ''}`) * 1000);
  const local = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s, ms);
  const back = new Date(local);
  const same =
    back.getUTCFullYear() === y &&
    back.getUTCMonth() === (mo as number) - 1 &&
    back.getUTCDate() === d &&
    back.getUTCHours() === h &&
    back.getUTCMinutes() === mi &&
    back.getUTCSeconds() === s;
  const offsetHours = Number(m[9] ?? 0);
  const offsetMinutes = Number(m[10] ?? 0);
  if (!same || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const offset = (m[8] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  return local - offset;
}

/** An instant option (`--at`, `--now`): now when absent, else {@link parseInstant} or a usage error. */
export function instantOption(text: string | undefined, flag: string): number {
  if (text === undefined) return Date.now();
  const at = parseInstant(text);
  if (at === undefined)
    throw new CliError(
      `${flag} expects an ISO instant with an offset (e.g. 2026-12-01T09:00:00Z) or a date (2026-12-01, UTC); a local time is refused. Got ${JSON.stringify(text)}`,
    );
  return at;
}
