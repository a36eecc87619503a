import {
  commentEnd,
  decodeNumericReferences,
  isAlpha,
  isSpace,
  rawTextEnd,
  readTag,
  scriptEnd,
  type Tag,
} from './html-tokens.js';
import { HEAD_WALK_CHARS, META_NAME } from './limits.js';
import { templateEnd } from './template-content.js';

/**
 * Elements the parser keeps in `<head>` (HTML §13.2.6.4.4 "in head", and "after head", which
 * puts them back in the head): anything else, or text that is not whitespace, opens `<body>`.
 */
const HEAD_ELEMENTS = new Set(['html', 'head', 'base', 'basefont', 'bgsound', 'link', 'meta']);
/** Head elements whose text is not markup: a `<meta>` written inside one is text. */
const HEAD_RAW_TEXT = new Set(['title', 'style', 'noscript', 'noframes']);
/** End tags that close the head and open `<body>`; any other stray end tag is ignored. */
const BODY_END_TAGS = new Set(['body', 'html', 'br']);

/**
 * The `<meta name="graylane-version">` start tags an HTML parser (scripting enabled, as in a
 * browser running the SDK) puts in the document's `<head>`, as `[start, end)` ranges, walking from
 * `from` — the injection point, where the head's content begins — until the head ends: text that
 * is not whitespace, an element that belongs in `<body>`, `</body>`, or
 * {@link HEAD_WALK_CHARS}. A "meta" inside a comment, an attribute value, a script, a
 * `<title>`/`<style>`/`<noscript>` or a `<template>` is not one, nor is any in the body.
 * Linear: every token is read once. With `seen`, the start of the first head `<script>` before
 * the first meta found is recorded in `seen.script` (a script that may run before the parser
 * reaches that meta).
 */
export function headMetas(
  html: string,
  from: number,
  seen?: { script?: number },
): [number, number][] {
  // The walk never reads past the window, not even in a search for a closing quote.
  const text = html.length > HEAD_WALK_CHARS ? html.slice(0, HEAD_WALK_CHARS) : html;
  const end = text.length;
  const found: [number, number][] = [];
  // Past `</head>` ("after head"): only some elements still go back into the head.
  let after = false;
  let i = from;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c !== 0x3c) {
      // Text: whitespace stays in the head — written as a character reference too (`&#32;`,
      // `&Tab;`), which the parser decodes first; a NUL is dropped (Chromium's tokenizer skips
      // it in text); anything else opens the body.
      if (!isSpace(c) && c !== 0) {
        const past = c === 0x26 ? spaceReference(text, i, end) : -1;
        if (past < 0) return found;
        i = past;
        continue;
      }
      i++;
      continue;
    }
    const next = text.charCodeAt(i + 1);
    let to: number;
    if (next === 0x21 || next === 0x3f) {
      // `<!--…-->`; `<!doctype …>`, `<![CDATA[…>`, `<?…>`: bogus comments, to the first `>`.
      const close = text.startsWith('<!--', i)
        ? commentEnd(text, i + 4, end)
        : text.indexOf('>', i + 2);
      to = close < 0 ? -1 : close + 1;
    } else if (next === 0x2f && isAlpha(text.charCodeAt(i + 2))) {
      const tag = readTag(text, i + 2, end);
      if (tag === undefined) return found;
      if (BODY_END_TAGS.has(tag.name)) return found;
      else if (tag.name === 'head') after = true;
      to = tag.end;
    } else if (next === 0x2f) {
      // `</>` is dropped; `</` and anything else is a bogus comment, to the first `>`.
      const close = text.charCodeAt(i + 2) === 0x3e ? i + 2 : text.indexOf('>', i + 2);
      to = close < 0 ? -1 : close + 1;
    } else if (isAlpha(next)) {
      const tag = readTag(text, i + 1, end);
      if (tag === undefined) return found;
      to = inHead(text, tag, end, after);
      if (to === BODY) return found;
      if (tag.name === 'meta' && isOurs(tag)) found.push([i, tag.end]);
      else if (tag.name === 'script' && seen && found.length === 0) seen.script ??= i;
    } else {
      // `<` not starting a tag is text: it opens the body.
      return found;
    }
    if (to < 0) return found; // unterminated in the window: nothing after it is known
    i = to;
  }
  return found;
}

/** Returned by the element readers: this element opens `<body>`. */
const BODY = -2;

/**
 * Where the walk goes on after a start tag in the head, {@link BODY}, or -1. After `</head>` a
 * `<noscript>` opens the body (HTML §13.2.6.4.6 "after head" sends only base, basefont, bgsound,
 * link, meta, noframes, script, style, template and title back to the head): a meta after it
 * is the body's.
 */
function inHead(text: string, tag: Tag, end: number, after: boolean): number {
  if (after && tag.name === 'noscript') return BODY;
  if (tag.name === 'template') return templateEnd(text, tag.end, end);
  if (HEAD_ELEMENTS.has(tag.name)) return tag.end;
  if (tag.name === 'script') return scriptEnd(text, tag.end, end);
  if (HEAD_RAW_TEXT.has(tag.name)) return rawTextEnd(text, tag.end, tag.name, end);
  return BODY;
}

/**
 * Where a character reference at `i` (`&`) that stands for ASCII whitespace ends — `&#32;`,
 * `&#x0009`, any number of leading zeros, the `;` optional as the parser has it; `&Tab;`,
 * `&NewLine;` — else -1. One forward pass over the digits.
 */
function spaceReference(text: string, i: number, end: number): number {
  if (text.startsWith('&Tab;', i)) return i + 5;
  if (text.startsWith('&NewLine;', i)) return i + 9;
  if (text.charCodeAt(i + 1) !== 0x23) return -1;
  let j = i + 2;
  const hex = (text.charCodeAt(j) | 0x20) === 0x78;
  if (hex) j++;
  const digits = j;
  while (j < end && text.charCodeAt(j) === 0x30) j++;
  const value = j;
  while (j < end && j - value <= 8 && (hex ? /[0-9a-f]/i : /[0-9]/).test(text.charAt(j))) j++;
  if (j === digits) return -1;
  const code = value === j ? 0 : parseInt(text.slice(value, j), hex ? 16 : 10);
  if (!(code === 9 || code === 10 || code === 12 || code === 13 || code === 32)) return -1;
  return text.charCodeAt(j) === 0x3b ? j + 1 : j;
}

/** `name="graylane-version"` exactly, as `meta[name="graylane-version"]` matches it. */
function isOurs(tag: Tag): boolean {
  const value = tag.nameAttribute;
  return value !== undefined && decodeNumericReferences(value) === META_NAME;
}
