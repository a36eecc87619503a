import { storage } from './storage.js';

/** A rule document as a page or a cache holds it, with the ETag it was served with. */
export interface Cached {
  readonly doc: unknown;
  readonly etag?: string | undefined;
}

/** The id of the `<script type="application/json">` a server renders the rules into. */
export const BOOTSTRAP_ID = 'graylane-rules';

/**
 * @internal The rules the server rendered into the page:
 * `<script type="application/json" id="graylane-rules" data-etag="…">{…}</script>`. Read when
 * the remote rules are created (never at import); `undefined` without a page or a tag. Only a
 * JSON `<script>` counts — any other element with the id is markup the page shows (a comment, an
 * injected fragment: sanitizers keep ids but never scripts) — and only when it is the one such
 * script: two are ambiguous, like two metas, and neither is trusted.
 */
export function pageBootstrap(): Cached | undefined {
  if (typeof document != 'object') return undefined;
  const tags = document.querySelectorAll<HTMLScriptElement>(
    `script#${BOOTSTRAP_ID}[type="application/json"]`,
  );
  const tag = tags.length === 1 ? tags[0] : undefined;
  const text = tag?.textContent;
  return text ? { doc: text, etag: tag?.dataset['etag'] } : undefined;
}

/** @internal The last good document of an earlier page view (the cache is the LKG, I5). */
export function readCache(key: string | false): Cached | undefined {
  if (key === false) return undefined;
  try {
    const raw = JSON.parse(storage.get(key) ?? 'null') as { doc?: unknown; etag?: unknown };
    return typeof raw?.doc == 'string'
      ? { doc: raw.doc, etag: typeof raw.etag == 'string' ? raw.etag : undefined }
      : undefined;
  } catch {
    return undefined;
  }
}

/** @internal Remembers a document that passed validation, with its ETag. */
export function writeCache(key: string | false, doc: string, etag: string | undefined): void {
  const value = JSON.stringify({ doc, etag });
  // Up to 1 MiB: write only what changed, not on every page view.
  if (key !== false && storage.get(key) !== value) storage.set(key, value);
}
