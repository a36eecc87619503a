import { headMetas } from './head-metas.js';
import { commentEnd, isSpace, nameAt, readTag } from './html-tokens.js';
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
 *
 * With `meta` (graylane's `<meta name="graylane-version">`), the page ends up with exactly that
 * one in its head: a graylane-version meta the head already holds (an SSR app's own, a
 * template's hard-coded one) is replaced by it where it stands — a React-rendered head keeps its
 * shape for hydration — and any further one is removed (see {@link headMetas}); without one, or
 * when a head `<script>` comes before the first (it may read the meta before the parser reaches
 * it), `meta` goes in with `tags` and every one the head held is removed. A meta in `<body>` is left as it is: the browser SDK never reads
 * one there (it may be content the page echoes), and the body is not graylane's to rewrite.
 */
export function injectIntoHead(html: string, tags: string, meta = ''): string {
  const at = insertionPoint(html);
  const seen: { script?: number } = {};
  const present = meta === '' ? [] : headMetas(html, at, seen);
  if (present.length === 0) return html.slice(0, at) + meta + tags + html.slice(at);
  // A head script before the page's meta may run (`initGray()` in it) before the parser reaches
  // that meta: graylane's then goes first, as when the page has none (review 156 D2).
  const first = seen.script === undefined ? undefined : meta;
  const parts = [html.slice(0, at), first ?? '', tags];
  let pos = at;
  present.forEach(([start, stop], k) => {
    parts.push(html.slice(pos, start), k === 0 && first === undefined ? meta : '');
    pos = stop;
  });
  parts.push(html.slice(pos));
  return parts.join('');
}

/** Where the parser is still before any content: tokens that never open `<body>` are skipped. */
function insertionPoint(html: string): number {
  const text = html.length > HEAD_SEARCH_CHARS ? html.slice(0, HEAD_SEARCH_CHARS) : html;
  const end = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (;;) {
    // HTML whitespace only: any other character (even U+00A0) is content that opens <body>.
    while (i < end && isSpace(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== 0x3c) return i;
    const next = text.charCodeAt(i + 1);
    let to: number;
    let head = false;
    if (next === 0x21 || next === 0x3f) {
      // `<!--…-->`; `<!doctype …>`, `<![CDATA[…>`, `<?xml …>`: bogus comments, to the first `>`.
      const close = text.startsWith('<!--', i)
        ? commentEnd(text, i + 4, end)
        : text.indexOf('>', i + 2);
      to = close < 0 ? -1 : close + 1;
    } else {
      head = nameAt(text, i + 1, 'head', end);
      // Any other tag is content (or opens the implied head): the tags go before it.
      if (!head && !nameAt(text, i + 1, 'html', end)) return i;
      to = readTag(text, i + 1, end)?.end ?? -1;
    }
    // Unterminated in the window: the tags go before it, into the implied head.
    if (to < 0) return i;
    i = to;
    if (head) return i;
  }
}

function escapeAttribute(value: string): string {
  return value.replace(/[&"<>']/g, (c) => `&#${c.charCodeAt(0)};`);
}
