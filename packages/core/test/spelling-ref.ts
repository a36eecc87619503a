/**
 * The query-key spellings `key-spelling.ts` removes (GW-01/02), written the slow, obvious way, one
 * parser at a time, so the fast single-pass code can be checked against it: decode every run of
 * escapes as URLSearchParams does, fold case, then ask each parser's rule for the key's root.
 * The PHP rule is checked against php-cli itself in `php-spellings.test.ts`, Rack 2's is the
 * regex of its `normalize_params` (rack 2.2, `lib/rack/query_parser.rb`).
 */
const FOLDS: Record<string, string> = {
  ...{ ß: 'ss', İ: 'i', ı: 'i', ſ: 's', '\u212a': 'k', ﬀ: 'ff', ﬁ: 'fi', ﬂ: 'fl' },
  ...{ ﬃ: 'ffi', ﬄ: 'ffl', ﬅ: 'st', ﬆ: 'st' },
};

/** ASCII letters lower-cased, the characters whose case mapping is ASCII letters expanded. */
export const foldRef = (s: string): string =>
  [...s].map((c) => FOLDS[c] ?? (/[A-Z]/.test(c) ? c.toLowerCase() : c)).join('');

/** `+` as a space, each run of escapes decoded as UTF-8 (a bad sequence is U+FFFD). */
export const decodeRef = (raw: string): string =>
  raw
    .replace(/\+/g, ' ')
    .replace(/(?:%[\da-f]{2})+/gi, (run) =>
      new TextDecoder().decode(Buffer.from(run.replace(/%/g, ''), 'hex')),
    );

/** qs (with and without `allowDots`), URLSearchParams and the other flat parsers. */
export const qsReads = (k: string, n: string): boolean => {
  const at = (i: number) => k[i] ?? '';
  return (
    k === n ||
    k.startsWith(`${n}[`) ||
    (k.startsWith(`${n}.`) && at(n.length + 1) !== '' && !'.['.includes(at(n.length + 1))) ||
    k.startsWith(`[${n}]`) ||
    (k.startsWith(`.${n}`) && (at(n.length + 1) === '' || '.[]'.includes(at(n.length + 1))))
  );
};

/** Rack 2 matches `\A[\[\]]*([^\[\]]+)\]*` for the root; `after == "["` files the whole name. */
export const rack2Root = (k: string): string | undefined => {
  const m = /^[[\]]*([^[\]]+)\]*/.exec(k);
  if (m === null) return undefined;
  return k.slice(m[0].length) === '[' ? k : m[1];
};

/**
 * PHP (`php_default_treat_data`, `php_register_variable_ex`): the key ends at a NUL, leading
 * spaces go, an array's name ends at its `[` when a `]` follows, ` ` and `.` (and an unclosed
 * `[`) read as `_`.
 */
export const phpRoot = (k: string): string | undefined => {
  const nul = k.indexOf('\0');
  const s = (nul === -1 ? k : k.slice(0, nul)).replace(/^ +/, '');
  const open = s.indexOf('[');
  if (open === 0) return undefined; // the name before the `[` is empty
  const root =
    open !== -1 && s.indexOf(']', open + 1) !== -1
      ? s.slice(0, open).replace(/[ .]/g, '_')
      : s.replace(/[ .[]/g, '_');
  return root === '' ? undefined : root;
};

/** True when qs, a flat parser or Rack 2 reads the raw (wire) key as `name`, in any case. */
export const othersRead = (raw: string, name: string): boolean => {
  const k = foldRef(decodeRef(raw));
  const n = foldRef(name);
  return n !== '' && (qsReads(k, n) || rack2Root(k) === n);
};

/** True when some parser reads the raw (wire) key as `name`, in any case. */
export const spellsRef = (raw: string, name: string): boolean => {
  const k = foldRef(decodeRef(raw));
  const n = foldRef(name);
  if (n === '') return false;
  return qsReads(k, n) || rack2Root(k) === n || phpRoot(k) === n;
};
