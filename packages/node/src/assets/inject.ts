import {
  HEAD_SEARCH_CHARS,
  INLINE_CONFIG_GLOBAL,
  MAX_INLINE_CONFIG_BYTES,
  META_NAME,
} from './limits.js';

/**
 * `<meta name="graylane-version" content="…">`: the version this page was served for, read by
 * `initGray` so the browser SDK starts on the same lane as the HTML. `version` is a validated
 * label (`VERSION_PATTERN`); it is escaped anyway.
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
 * Inserts `tags` right after the `<head>` start tag, so they come before any script; without a
 * `<head>`, after the doctype (content before it would switch the page to quirks mode); else at
 * the start. The search is linear and limited to the first {@link HEAD_SEARCH_CHARS} characters.
 */
export function injectIntoHead(html: string, tags: string): string {
  const at = insertionPoint(html);
  return html.slice(0, at) + tags + html.slice(at);
}

function insertionPoint(html: string): number {
  const head = html.slice(0, HEAD_SEARCH_CHARS).toLowerCase();
  for (let from = 0; ;) {
    const open = head.indexOf('<head', from);
    if (open === -1) break;
    // `<head>`, `<head lang=…>`, `<head/>`; not `<header>`.
    if (/[\s>/]/.test(head.charAt(open + 5))) {
      const close = tagEnd(head, open + 5);
      // An unterminated tag runs to the end of the window: no later `<head` can end either.
      if (close === -1) break;
      return close + 1;
    }
    from = open + 5;
  }
  const doctype = /^\ufeff?\s*<!doctype\b/.exec(head);
  if (doctype) {
    const close = head.indexOf('>', doctype[0].length);
    if (close !== -1) return close + 1;
  }
  return html.charCodeAt(0) === 0xfeff ? 1 : 0;
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
