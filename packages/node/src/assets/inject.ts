import {
  HEAD_SEARCH_CHARS,
  INLINE_CONFIG_GLOBAL,
  MAX_INLINE_CONFIG_BYTES,
  META_NAME,
} from './limits.js';

/**
 * `<meta name="graylane-version" content="…">`: the version this page was served for, read by
 * `initGray` so the browser SDK starts on the same lane as the HTML. It rules that page view only:
 * the browser never stores it (the server's sticky cookie persists what may be persisted).
 * `version` is a validated label (`VERSION_PATTERN`); it is escaped anyway.
 */
export function metaTag(version: string): string {
  return `<meta name="${META_NAME}" content="${escapeAttribute(version)}">`;
}

/** `<script nonce>window.__GRAYLANE__=…</script>`, or `undefined` when the JSON is unusable. */
export function inlineConfigScript(json: string, nonce: string | undefined): string {
  const attr = nonce === undefined ? '' : ` nonce="${escapeAttribute(nonce)}"`;
  return `<script${attr}>window.${INLINE_CONFIG_GLOBAL}=${json};</script>`;
}

/**
 * JSON that is safe inside a `<script>` element (no `</script>`, `<!--`, or line separators that
 * end a JS string in old engines), or `undefined` when the value cannot be serialized (cycles,
 * BigInt, a throwing `toJSON`) or is larger than {@link MAX_INLINE_CONFIG_BYTES}.
 */
export function scriptJson(value: unknown): string | undefined {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return undefined;
  }
  if (typeof json !== 'string' || json.length > MAX_INLINE_CONFIG_BYTES) return undefined;
  return json.replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Inserts `tags` where an HTML parser puts them in `<head>`, before any script: right after the
 * `<head>` start tag when it is the first element (after a BOM, the doctype, comments and the
 * `<html>` start tag); otherwise right before the first content, where the parser opens an
 * implied `<head>` for them. A `<head>` that follows content — or sits in a comment, an attribute
 * value or a script — is not the head start tag, and tags put after it would land in `<body>`,
 * where the browser SDK does not read them. The walk is linear and limited to the first
 * {@link HEAD_SEARCH_CHARS} characters.
 */
export function injectIntoHead(html: string, tags: string): string {
  const at = insertionPoint(html);
  return html.slice(0, at) + tags + html.slice(at);
}

/** Where the parser is still before any content: tokens that never open `<body>` are skipped. */
function insertionPoint(html: string): number {
  const text = html.slice(0, HEAD_SEARCH_CHARS);
  const lower = text.toLowerCase();
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (;;) {
    // HTML whitespace only: any other character (even U+00A0) is content that opens <body>.
    while (/[\t\n\f\r ]/.test(text.charAt(i))) i++;
    if (text.charAt(i) !== '<') return i;
    let end: number;
    let name: string | undefined;
    if (lower.startsWith('<!--', i)) {
      const close = lower.indexOf('-->', i + 4);
      end = close < 0 ? -1 : close + 2;
    } else if (/[!?]/.test(text.charAt(i + 1))) {
      // `<!doctype …>`, `<![CDATA[…>`, `<?xml …>`: bogus comments that end at the first `>`.
      end = lower.indexOf('>', i);
    } else {
      name = /^<(html|head)[\t\n\f\r />]/.exec(lower.slice(i, i + 6))?.[1];
      // Any other tag is content (or opens the implied head): the tags go before it.
      if (name === undefined) return i;
      end = tagEnd(lower, i + 1 + name.length);
    }
    // Unterminated in the window: the tags go before it, into the implied head.
    if (end < 0) return i;
    i = end + 1;
    if (name === 'head') return i;
  }
}

/** The index of the `>` that ends a start tag, skipping quoted attribute values; -1 if none. */
function tagEnd(text: string, from: number): number {
  let quote = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) {
      quote = c;
    } else if (c === 0x3e) {
      return i;
    }
  }
  return -1;
}

function escapeAttribute(value: string): string {
  return value.replace(/[&"<>']/g, (c) => `&#${c.charCodeAt(0)};`);
}
