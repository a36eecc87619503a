import { AMBIGUOUS } from './read.js';

/**
 * @internal The version the server rendered this page for: `serverVersion` when given, else the
 * content of `<meta name="graylane-version">` in the document's `<head>` (read here, at
 * `initGray`, never at import; without a page, `serverVersion` alone). A meta in `<body>` is not the server's hand-off — it may be
 * markup the page echoes (user content, an injected fragment) — so it is never read. Several
 * head metas that disagree are ambiguous, like two cookies (CK-02). Without a meta, a non-string
 * `serverVersion` comes back as it is: `readMarker` ignores it.
 */
export function serverHandOff(serverVersion: string | undefined, page: boolean): unknown {
  // Any non-string (`null` from a JSON hand-off) is absent: the meta is read instead.
  let found: unknown = serverVersion;
  if (page && typeof found != 'string')
    for (const meta of document.head?.querySelectorAll<HTMLMetaElement>(
      'meta[name="graylane-version"]',
    ) ?? [])
      found = typeof found != 'string' || found === meta.content ? meta.content : AMBIGUOUS;
  return found;
}
