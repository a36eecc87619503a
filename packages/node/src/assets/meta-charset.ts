import { isUtf8 } from 'node:buffer';
import { commentEnd, isAlpha, isSpace, rawTextEnd, scriptEnd } from './html-tokens.js';

/**
 * The encoding an HTML document says it is in, from its own bytes, before any decoding: `utf-8`,
 * `other` (any other label, one graylane does not know, or a UTF-16 byte order mark), or
 * `undefined` (nothing said: the browser falls back to its default, `windows-1252`).
 */
export type DeclaredEncoding = 'utf-8' | 'other' | undefined;

/** WHATWG Encoding labels of UTF-8. */
const UTF8_LABELS = new Set([
  'unicode-1-1-utf-8',
  'unicode11utf8',
  'unicode20utf8',
  'utf-8',
  'utf8',
  'x-unicode20utf8',
]);
/** Labels of UTF-16BE/LE: a `<meta>` naming one means UTF-8 (HTML §13.2.3.2, prescan step 13). */
const UTF16_LABELS = new Set([
  'unicodefffe',
  'utf-16be',
  'csunicode',
  'iso-10646-ucs-2',
  'ucs-2',
  'unicode',
  'unicodefeff',
  'utf-16',
  'utf-16le',
]);

/**
 * How far past the head the meta charset is still looked for: the prescan's window
 * (HTML §13.2.3.2 "1024 bytes"), which Blink also reads through whatever the first tags are.
 */
const PRESCAN_BYTES = 1024;
/** Start tags Blink still counts as head when it looks for a meta charset (html_meta_charset_parser.cc). */
const HEAD_TAGS = new Set([
  'script',
  'noscript',
  'style',
  'link',
  'meta',
  'object',
  'title',
  'base',
]);
/** Elements whose text is not markup for Blink's tokenizer: a `<meta>` written in one is text. */
const RAW_TEXT = new Set(['style', 'xmp', 'iframe', 'noembed', 'noframes', 'title', 'textarea']);

/**
 * True when graylane may decode `bytes` as UTF-8, insert its tags and send the result as
 * `charset=utf-8`: the bytes are valid UTF-8, and the document declares UTF-8 or nothing. Any
 * other document is sent byte for byte without a charset, so the browser reads it exactly as
 * it would without graylane.
 */
export function isUtf8Html(bytes: Uint8Array): boolean {
  return declaredEncoding(bytes) !== 'other' && isUtf8(bytes);
}

/**
 * The encoding `bytes` declare: the byte order mark (or a `<` written in UTF-16), else the first
 * meta charset (or an XML declaration's encoding) the way either
 * browser family finds it — the WHATWG prescan (the first 1024 bytes, markup read naively, so a
 * `<meta>` in a script string counts) and Blink's meta charset parser (the whole head, script
 * and title text skipped, then 1024 bytes). Where they could disagree the answer is `other`:
 * a document is only stamped when every reader takes it for UTF-8 (or for undeclared).
 */
export function declaredEncoding(bytes: Uint8Array): DeclaredEncoding {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if ((bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0xff && bytes[1] === 0xfe))
    return 'other';
  // `<` as UTF-16 without a byte order mark (XML 1.0 appendix F): NULs are UTF-8, the page is not.
  if ((bytes[0] === 0x3c && bytes[1] === 0) || (bytes[0] === 0 && bytes[1] === 0x3c))
    return 'other';
  // One byte, one character: the tags and labels looked for are ASCII.
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const found = [xmlDeclaration(text), scan(text, false), scan(text, true)];
  if (found.includes('other')) return 'other';
  return found.includes('utf-8') ? 'utf-8' : undefined;
}

/** An `<?xml … encoding="…"?>` at the very start, as some browsers read it on HTML too. */
function xmlDeclaration(text: string): DeclaredEncoding {
  if (!text.startsWith('<?xml')) return undefined;
  const head = text.slice(0, PRESCAN_BYTES);
  const close = head.indexOf('?>');
  const decl = close < 0 ? head : head.slice(0, close);
  const m = /\sencoding\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(decl);
  return m ? classify(m[1] ?? m[2] ?? '') : undefined;
}

/**
 * The first meta charset of one reader: `blink` skips raw text and reads on while the tags are
 * head tags; without it the walk is the prescan's, over the first 1024 bytes.
 */
function scan(full: string, blink: boolean): DeclaredEncoding {
  const text = blink ? full : full.slice(0, PRESCAN_BYTES);
  const end = text.length;
  let inHead = true;
  let i = 0;
  while (i < end) {
    if (blink && !inHead && i >= PRESCAN_BYTES) return undefined;
    const lt = text.indexOf('<', i);
    if (lt < 0) return undefined;
    const next = text.charCodeAt(lt + 1);
    if (text.startsWith('<!--', lt)) {
      const close = commentEnd(text, lt + 4, end);
      if (close < 0) return undefined;
      i = close + 1;
    } else if (isAlpha(next) || (next === 0x2f && isAlpha(text.charCodeAt(lt + 2)))) {
      const closing = next === 0x2f;
      const tag = readAttributes(text, lt + (closing ? 2 : 1), end, blink);
      if (tag === undefined) return undefined;
      if (!closing && tag.name === 'meta') {
        const said = metaEncoding(tag.attributes);
        if (said !== undefined) return said;
      }
      if (!HEAD_TAGS.has(tag.name) && (closing || (tag.name !== 'html' && tag.name !== 'head')))
        inHead = false;
      i = blink && !closing ? skipRawText(text, tag.name, tag.end, end) : tag.end;
      if (i < 0) return undefined;
    } else if (next === 0x21 || next === 0x2f || next === 0x3f) {
      // `<!doctype>`, `</ >`, `<?…>`: bogus comments, to the first `>`.
      const close = text.indexOf('>', lt + 2);
      if (close < 0) return undefined;
      i = close + 1;
    } else {
      i = lt + 1;
    }
  }
  return undefined;
}

/** Where markup resumes after a start tag in Blink's tokenizer: past script and raw text. */
function skipRawText(text: string, name: string, from: number, end: number): number {
  if (name === 'script') return scriptEnd(text, from, end);
  if (name === 'plaintext') return -1;
  return RAW_TEXT.has(name) ? rawTextEnd(text, from, name, end) : from;
}

interface AttributeTag {
  readonly name: string;
  readonly end: number;
  /** Lower-case name → value; the first of a name wins, as in the tokenizer and the prescan. */
  readonly attributes: Map<string, string>;
}

/**
 * A tag whose name starts at `at`, with its attributes (names in ASCII lower case). `decode`
 * decodes numeric character references in values, as Blink's tokenizer does (the prescan does
 * not). `undefined` when it does not end before `end`.
 */
function readAttributes(
  text: string,
  at: number,
  end: number,
  decode: boolean,
): AttributeTag | undefined {
  let i = at;
  while (i < end && !isNameEnd(text.charCodeAt(i))) i++;
  const name = text.slice(at, i).toLowerCase();
  const attributes = new Map<string, string>();
  for (;;) {
    while (i < end && (isSpace(text.charCodeAt(i)) || text.charCodeAt(i) === 0x2f)) i++;
    if (i >= end) return undefined;
    if (text.charCodeAt(i) === 0x3e) return { name, end: i + 1, attributes };
    const from = i++;
    while (i < end && !isNameEnd(text.charCodeAt(i)) && text.charCodeAt(i) !== 0x3d) i++;
    const key = text.slice(from, i).toLowerCase();
    while (i < end && isSpace(text.charCodeAt(i))) i++;
    let value = '';
    if (text.charCodeAt(i) === 0x3d) {
      i++;
      while (i < end && isSpace(text.charCodeAt(i))) i++;
      const q = text.charCodeAt(i);
      if (q === 0x22 || q === 0x27) {
        const close = text.indexOf(q === 0x22 ? '"' : "'", i + 1);
        if (close < 0 || close >= end) return undefined;
        value = text.slice(i + 1, close);
        i = close + 1;
      } else {
        const v = i;
        while (i < end && !isSpace(text.charCodeAt(i)) && text.charCodeAt(i) !== 0x3e) i++;
        value = text.slice(v, i);
      }
    }
    if (!attributes.has(key)) attributes.set(key, decode ? decodeReferences(value) : value);
  }
}

function isNameEnd(c: number): boolean {
  return isSpace(c) || c === 0x2f || c === 0x3e;
}

/** `&#45;` / `&#x2d;` in a label: what a tokenizer hands on. */
function decodeReferences(value: string): string {
  if (!value.includes('&')) return value;
  return value.replace(/&#(?:[xX]([0-9a-fA-F]{1,6})|([0-9]{1,7}));?/g, (ref, hex, dec) => {
    const code = hex === undefined ? Number(dec) : parseInt(hex as string, 16);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ref;
  });
}

/**
 * What a `<meta>` declares: `charset`, or `http-equiv="content-type"` with a `content` naming a
 * charset. A meta that names two labels (both attributes) is read the stricter way: the
 * prescan lets a later `charset` win, Blink the first one.
 */
function metaEncoding(attributes: Map<string, string>): DeclaredEncoding {
  const labels: string[] = [];
  const charset = attributes.get('charset');
  if (charset !== undefined) labels.push(charset);
  const pragma = attributes.get('http-equiv')?.trim().toLowerCase() === 'content-type';
  const content = attributes.get('content');
  const fromContent = pragma && content !== undefined ? contentCharset(content) : undefined;
  if (fromContent !== undefined) labels.push(fromContent);
  if (labels.length === 0) return undefined;
  return labels.some((l) => classify(l) === 'other') ? 'other' : 'utf-8';
}

/**
 * The charset in a `content` value (HTML "the algorithm for extracting a character encoding
 * from a meta element"): after `charset`, optional spaces, `=`, a quoted value or one up to a
 * space or `;`.
 */
function contentCharset(content: string): string | undefined {
  const lower = content.toLowerCase();
  let at = 0;
  for (;;) {
    const found = lower.indexOf('charset', at);
    if (found < 0) return undefined;
    let i = found + 7;
    while (isSpace(lower.charCodeAt(i))) i++;
    if (lower.charCodeAt(i) !== 0x3d) {
      at = found + 7;
      continue;
    }
    i++;
    while (isSpace(lower.charCodeAt(i))) i++;
    const q = lower.charCodeAt(i);
    if (q === 0x22 || q === 0x27) {
      const close = lower.indexOf(lower.charAt(i), i + 1);
      return close < 0 ? undefined : content.slice(i + 1, close);
    }
    let j = i;
    while (j < lower.length && !isSpace(lower.charCodeAt(j)) && lower.charCodeAt(j) !== 0x3b) j++;
    return j === i ? undefined : content.slice(i, j);
  }
}

/**
 * UTF-8 for the UTF-8 labels and the UTF-16 ones (a meta cannot switch to UTF-16: the bytes
 * were read as ASCII); `other` for anything else, a label browsers would ignore included (the
 * safe side: the document is then sent untouched).
 */
function classify(label: string): DeclaredEncoding {
  const name = label.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '').toLowerCase();
  return UTF8_LABELS.has(name) || UTF16_LABELS.has(name) ? 'utf-8' : 'other';
}
