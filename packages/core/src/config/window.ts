/**
 * RFC 3339 §5.6 `date-time` with a mandatory offset (CFG-08: no local times). A fraction may have
 * any number of digits, as the grammar allows (`time-secfrac = "." 1*DIGIT`).
 */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

const DAY_MS = 86_400_000;

/**
 * Parses an RFC 3339 instant with an offset to epoch milliseconds; `undefined` when the text is
 * not such an instant or names an impossible date (2026-02-30). A fraction is read to the
 * millisecond, truncated (`.1234567891` is `.123`). A leap second (§5.7: `23:59:60Z`, or that
 * UTC second in another offset, `15:59:60-08:00`) is read as `23:59:59.999Z`, the last
 * millisecond before the next day: JavaScript time has no leap seconds, and this keeps the
 * instant in the day it names and in order with the seconds around it. `:60` elsewhere is refused.
 */
export function parseInstant(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s, oh, om] = [1, 2, 3, 4, 5, 6, 9, 10].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) return undefined;
  if (h > 23 || mi > 59 || s > 60 || oh > 23 || om > 59) return undefined;
  const leap = s === 60;
  const ms = leap ? 999 : Number((m[7] ?? '').slice(0, 3).padEnd(3, '0'));
  const offset = (m[8] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  const at = utc(y, mo, d, h, mi, leap ? 59 : s, ms) - offset;
  if (leap && ((at % DAY_MS) + DAY_MS) % DAY_MS !== DAY_MS - 1) return undefined;
  return at;
}

/** Epoch ms of a UTC date and time; years 0–99 as written (`Date.UTC` reads them as 19xx). */
function utc(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  ms: number,
): number {
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, s, ms);
  return t.getTime();
}

function daysIn(y: number, mo: number): number {
  const t = new Date(0);
  t.setUTCFullYear(y, mo, 0);
  return t.getUTCDate();
}
