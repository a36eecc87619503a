/**
 * RE2 (Envoy `safe_regex`, matched against the whole `cookie` header) for graylane's cookie
 * reader (`@graylane/core` `readCookies`): a pair's name is trimmed of spaces and tabs, its value
 * trimmed and stripped of one pair of double quotes. RE2 has no look-around and no
 * back-references, so each route is the conjunction of matchers built here (see `envoy.ts`).
 */

/** Spaces and tabs graylane's reader trims (OWS). */
const OWS = '[ \\t]*';

/** One or more characters of a value, the last neither space nor tab. */
const ANY_END = '[^;]*[^; \\t]';

/** From a pair's start (the header's start or after a `;`) through `name=`. */
function pairOf(name: string): string {
  return `(?:.*;)?${OWS}${name}${OWS}=`;
}

/** Some pair is named `name` (present at all, whatever its value). */
export function cookiePresent(name: string): string {
  return `${pairOf(name)}.*`;
}

/**
 * Some pair `name` whose value is `value` (a regex), bare or in one pair of quotes. Spaces inside
 * the quotes are not accepted: graylane compares duplicates before trimming inside the quotes
 * (`" beta"` and `beta` are ambiguous), which RE2 cannot follow, so such a value is left to the
 * default lane (documented).
 */
export function cookiePair(name: string, value: string): string {
  return `${pairOf(name)}${OWS}(?:${value}|"${value}")${OWS}(?:;.*)?`;
}

/** A second pair named `name`, whatever the values (used where values are not a finite set). */
export function cookieTwice(name: string): string {
  return `${pairOf(name)}[^;]*;(?:.*;)?${OWS}${name}${OWS}=.*`;
}

/**
 * Some pair `name` whose value does not read as exactly `label` — bare `label` or `"label"`,
 * with spaces only outside the quotes — so any such pair beside a `label` pair makes the cookie
 * ambiguous (CK-02), while identical duplicates (`gray=beta; gray="beta"`) do not.
 *
 * The value `R` (between `=` and `;`) is `OWS C OWS` with `C` empty or starting and ending with
 * neither space nor tab; `R` is fine iff `C` is `label` or `"label"`. So this matches `C` in the
 * complement of that two-word set, built on its trie (two chains from the root): at each node,
 * the value may end there (unless the node is a whole word), take a character off the chain, or
 * follow it. Every branch ends on a character other than a space or tab, so the split of `R`
 * into `OWS C OWS` is forced.
 */
export function cookieOtherThan(name: string, label: string): string {
  // After the node reached by `word[0..i)`, i ≥ 1: a whole word needs something more; a proper
  // prefix may end there, leave the chain (a character other than the next one and not OWS,
  // then anything; or OWS then something), or follow the chain.
  const after = (word: string, i: number): string => {
    if (i === word.length) return ANY_END;
    const c = word[i] as string;
    return `(?:[^; \\t${escapeClass(c)}](?:${ANY_END})?|[ \\t]${ANY_END}|${c}${after(word, i + 1)})?`;
  };
  const l0 = label[0] as string;
  // At the root: empty, or a first character off both chains (never OWS: it would be trimmed),
  // or into either chain.
  const value = `(?:[^; \\t"${escapeClass(l0)}](?:${ANY_END})?|${l0}${after(label, 1)}|"${after(`"${label}"`, 1)})?`;
  return `${pairOf(name)}${OWS}${value}${OWS}(?:;.*)?`;
}

/** A label character inside a `[...]` class (`-` must be escaped there). */
function escapeClass(c: string): string {
  return c === '-' ? '\\-' : c;
}
