/**
 * The cookie-name spellings `cookie-spelling.ts` removes (GW-02), written the slow, obvious way,
 * so the single-pass code can be checked against it: trim what some reader trims, read the name
 * as it is and percent-decoded, fold case, then ask for an exact name or PHP's root. The PHP
 * rule is checked against php-cli itself (`$_COOKIE` through `php -S`) in
 * `test/markers/spellings-gw02.test.ts`.
 */

/** What PHP's `isspace`, Python's `str.strip()` (on Latin-1 text) or JS `trim()` take off a name. */
const AROUND = '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0';
const trimAround = (s: string): string => {
  let a = 0;
  let b = s.length;
  while (a < b && AROUND.includes(s[a] as string)) a++;
  while (b > a && AROUND.includes(s[b - 1] as string)) b--;
  return s.slice(a, b);
};

/** ASCII letters lower-cased; `ſ` and `ı`, which .NET's `OrdinalIgnoreCase` reads as `S`, `I`. */
export const foldCookieRef = (s: string): string =>
  [...s]
    .map((c) => (c === 'ſ' ? 's' : c === 'ı' ? 'i' : /[A-Z]/.test(c) ? c.toLowerCase() : c))
    .join('');

/** `+` as a space, each run of escapes decoded as UTF-8 (a bad sequence is U+FFFD). */
export const decodeCookieRef = (raw: string): string =>
  raw
    .replace(/\+/g, ' ')
    .replace(/(?:%[\da-f]{2})+/gi, (run) =>
      new TextDecoder().decode(Buffer.from(run.replace(/%/g, ''), 'hex')),
    );

/**
 * PHP (`php_register_variable_ex`): the name ends at a NUL, leading spaces go, an array's name
 * ends at its `[` when a `]` follows, ` ` and `.` (and an unclosed `[`) read as `_`; an empty
 * name is dropped.
 */
export const phpCookieRoot = (k: string): string | undefined => {
  const nul = k.indexOf('\0');
  const s = (nul === -1 ? k : k.slice(0, nul)).replace(/^ +/, '');
  const open = s.indexOf('[');
  if (open === 0) return undefined;
  const root =
    open !== -1 && s.indexOf(']', open + 1) !== -1
      ? s.slice(0, open).replace(/[ .]/g, '_')
      : s.replace(/[ .[]/g, '_');
  return root === '' ? undefined : root;
};

/** True when some reader takes the cookie name `raw` (as on the wire, before `=`) for `name`. */
export const spellsCookieRef = (raw: string, name: string): boolean => {
  const t = trimAround(raw);
  if (t === '' || name === '') return false;
  const n = foldCookieRef(name);
  const forms = /[%+]/.test(t) ? [t, decodeCookieRef(t)] : [t];
  return forms.some((f) => {
    const root = phpCookieRoot(f);
    return foldCookieRef(f) === n || (root !== undefined && foldCookieRef(root) === n);
  });
};
