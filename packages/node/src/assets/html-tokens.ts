/**
 * The few pieces of the WHATWG HTML tokenizer (HTML §13.2.5) the head walk needs: a start or
 * end tag with its attributes, the end of a comment, of a raw-text element and of a script.
 * Every reader is one forward pass from where it starts and stops at `end`: linear on any
 * input, no regular expression over the document (I4).
 */

const TAB = 0x09;
const LF = 0x0a;
const FF = 0x0c;
const CR = 0x0d;
const SPACE = 0x20;
const BANG = 0x21;
const DQUOTE = 0x22;
const QUOTE = 0x27;
const DASH = 0x2d;
const SLASH = 0x2f;
const LT = 0x3c;
const EQUALS = 0x3d;
const GT = 0x3e;

/** HTML whitespace (CR is one: the input stream turns it into LF). */
export function isSpace(c: number): boolean {
  return c === SPACE || c === LF || c === TAB || c === FF || c === CR;
}

/** An ASCII letter: what a tag name starts with. */
export function isAlpha(c: number): boolean {
  return (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
}

/** A start or end tag: its name (ASCII lower case), where it ends, its first `name` attribute. */
export interface Tag {
  readonly name: string;
  /** The index just after the `>`. */
  readonly end: number;
  /** The value of the first `name` attribute, as written (a later duplicate is ignored). */
  readonly nameAttribute: string | undefined;
  /** The value of the first `encoding` attribute (MathML `<annotation-xml>`), as written. */
  readonly encoding: string | undefined;
  /** A `color`, `face` or `size` attribute: a `<font>` with one leaves foreign content. */
  readonly fontAttribute: boolean;
  /** Written `/>`: a foreign element (`<svg/>`) is closed at once; HTML ignores it. */
  readonly selfClosing: boolean;
}

/** ASCII lower case only, as the tokenizer does (`'K'`, the Kelvin sign, stays as it is). */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/**
 * The tag whose name starts at `at` (just after `<` or `</`), read with the tokenizer's
 * attribute states: names end at whitespace, `/`, `>` or `=`; values are `"…"`, `'…'` or run
 * to whitespace or `>`, so a `>` inside quotes does not end the tag. `undefined` when the tag does
 * not end before `end`.
 */
export function readTag(html: string, at: number, end: number): Tag | undefined {
  let i = at;
  while (i < end && !isNameEnd(html.charCodeAt(i))) i++;
  const name = asciiLower(html.slice(at, i));
  let nameAttribute: string | undefined;
  let encoding: string | undefined;
  let fontAttribute = false;
  for (;;) {
    const skip = i;
    while (i < end && (isSpace(html.charCodeAt(i)) || html.charCodeAt(i) === SLASH)) i++;
    if (i >= end) return undefined;
    if (html.charCodeAt(i) === GT) {
      // `/` right before `>`, not part of a value: the self-closing flag.
      const selfClosing = i > skip && html.charCodeAt(i - 1) === SLASH;
      return { name, end: i + 1, nameAttribute, encoding, fontAttribute, selfClosing };
    }
    // An attribute name; a leading `=` belongs to it.
    const from = i++;
    while (i < end && !isNameEnd(html.charCodeAt(i)) && html.charCodeAt(i) !== EQUALS) i++;
    // Only the first `name` (and `encoding`) attribute's value is copied out.
    const length = i - from;
    const isName = nameAttribute === undefined && length === 4 && wordAt(html, from, 'name');
    const isEncoding = encoding === undefined && length === 8 && wordAt(html, from, 'encoding');
    const wanted = isName || isEncoding;
    if (
      (length === 5 && wordAt(html, from, 'color')) ||
      (length === 4 && (wordAt(html, from, 'face') || wordAt(html, from, 'size')))
    )
      fontAttribute = true;
    while (i < end && isSpace(html.charCodeAt(i))) i++;
    let value = '';
    if (html.charCodeAt(i) === EQUALS) {
      i++;
      while (i < end && isSpace(html.charCodeAt(i))) i++;
      const q = html.charCodeAt(i);
      if (q === DQUOTE || q === QUOTE) {
        const close = html.indexOf(q === DQUOTE ? '"' : "'", i + 1);
        if (close < 0 || close >= end) return undefined;
        if (wanted) value = html.slice(i + 1, close);
        i = close + 1;
      } else {
        const v = i;
        while (i < end && !isSpace(html.charCodeAt(i)) && html.charCodeAt(i) !== GT) i++;
        if (wanted) value = html.slice(v, i);
      }
    }
    if (isName) nameAttribute = value;
    else if (isEncoding) encoding = value;
  }
}

function isNameEnd(c: number): boolean {
  return isSpace(c) || c === SLASH || c === GT;
}

/**
 * The index of the `>` that closes a comment whose text starts at `from` (just after `<!--`):
 * `-->`, `--!>`, or the abrupt `<!-->` and `<!--->`; -1 when it does not close before `end`.
 */
export function commentEnd(html: string, from: number, end: number): number {
  if (html.charCodeAt(from) === GT) return from;
  if (html.charCodeAt(from) === DASH && html.charCodeAt(from + 1) === GT) return from + 1;
  for (let i = from; i + 1 < end; i++) {
    if (html.charCodeAt(i) !== DASH || html.charCodeAt(i + 1) !== DASH) continue;
    let j = i + 2;
    while (j < end && html.charCodeAt(j) === DASH) j++;
    if (j < end && html.charCodeAt(j) === GT) return j;
    if (j + 1 < end && html.charCodeAt(j) === BANG && html.charCodeAt(j + 1) === GT) return j + 1;
    i = j - 1;
  }
  return -1;
}

/** True when `name` (lower case) starts at `at`, any case, followed by whitespace, `/` or `>`. */
export function nameAt(html: string, at: number, name: string, end: number): boolean {
  return (
    at + name.length < end && wordAt(html, at, name) && isNameEnd(html.charCodeAt(at + name.length))
  );
}

/** True when the lower-case `word` is written at `at`, in any ASCII case. */
function wordAt(html: string, at: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) {
    if ((html.charCodeAt(at + k) | 0x20) !== word.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * The index after the end tag `</name…>` that closes a raw-text or RCDATA element (`title`,
 * `style`, `noscript`, `textarea`…) whose text starts at `from`; -1 when none before `end`.
 */
export function rawTextEnd(html: string, from: number, name: string, end: number): number {
  for (let i = html.indexOf('</', from); i >= 0 && i < end; i = html.indexOf('</', i + 2)) {
    if (nameAt(html, i + 2, name, end)) return readTag(html, i + 2, end)?.end ?? -1;
  }
  return -1;
}

/**
 * The index after the `</script…>` that closes a script whose text starts at `from`, following
 * the tokenizer's script data states: inside `<!--` a `<script` opens a "double escaped" run in
 * which `</script>` does not end the element (HTML §13.2.5.15–31). -1 when none before `end`.
 */
export function scriptEnd(html: string, from: number, end: number): number {
  // 0: script data; 1: escaped (after `<!--`); 2: double escaped (`<!--<script>`).
  let state = 0;
  let dashes = 0;
  for (let i = from; i < end; i++) {
    const c = html.charCodeAt(i);
    if (c === DASH) {
      dashes++;
      continue;
    }
    const run = dashes;
    dashes = 0;
    if (c === GT) {
      if (state !== 0 && run >= 2) state = 0;
    } else if (c === LT) {
      if (state === 0 && html.startsWith('!--', i + 1)) {
        state = 1;
        dashes = 2;
        i += 3;
      } else if (html.charCodeAt(i + 1) === SLASH && nameAt(html, i + 2, 'script', end)) {
        if (state !== 2) return readTag(html, i + 2, end)?.end ?? -1;
        state = 1;
        i += 7;
      } else if (state === 1 && nameAt(html, i + 1, 'script', end)) {
        state = 2;
        i += 6;
      }
    }
  }
  return -1;
}

/** `&#45;`, `&#x2D;` (with or without `;`) decoded: how an attribute value is read. */
export function decodeNumericReferences(value: string): string {
  if (!value.includes('&#')) return value;
  // Leading zeros are any number long (`&#00000045;` is `-`), as the parser reads them.
  return value.replace(/&#(?:[xX]0*([0-9a-fA-F]{1,8})|0*([0-9]{1,10}));?/g, (ref, hex, dec) => {
    const code = hex === undefined ? Number(dec) : parseInt(hex as string, 16);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ref;
  });
}
