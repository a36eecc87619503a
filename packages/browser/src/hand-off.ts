import { AMBIGUOUS } from './read.js';

/** The `<meta name>` a server renders the page's version into. */
export const VERSION_META = 'graylane-version';

/**
 * @internal The version the server rendered this page for: `serverVersion` when given, else the
 * content of `<meta name="graylane-version">` (read here, at `initGray`, never at import).
 * Several metas that disagree are ambiguous, like two cookies (CK-02).
 */
export function serverHandOff(serverVersion: string | undefined): string | undefined {
  if (serverVersion !== undefined) return serverVersion;
  const contents = new Set<string>();
  for (const meta of document.querySelectorAll<HTMLMetaElement>(`meta[name="${VERSION_META}"]`))
    contents.add(meta.content);
  return contents.size > 1 ? AMBIGUOUS : [...contents][0];
}
