import type { GrayConfig } from '../config/types.js';

/**
 * Split rules that can never fire for a visitor who arrives without the cookie they hash: every
 * subject of the rule's `bucketBy` chain is a `cookie:` that graylane does not mint (`sticky` off,
 * or `sticky.subjectCookie` names another cookie). Unless the page or another layer sets that
 * cookie, such a split serves the default to everyone (issue 15). Pure; ids in config order.
 */
export function unmintedCookieSplits(
  config: GrayConfig,
  minted: ReadonlySet<string> | undefined,
): string[] {
  const ids: string[] = [];
  for (const rule of config.rules) {
    if (rule.kind !== 'split') continue;
    const chain = rule.bucketChain;
    if (chain.length === 0) continue;
    if (chain.every((s) => s.kind === 'cookie' && !minted?.has(s.name))) ids.push(rule.id);
  }
  return ids;
}

/** The warning for a rule {@link unmintedCookieSplits} found. */
export function unmintedCookieWarning(ruleId: string, cookies: readonly string[]): string {
  return (
    `[graylane] rule "${ruleId}" splits by ${cookies.map((c) => `cookie:${c}`).join(', ')}, which ` +
    `graylane does not set (sticky is off): a visitor without it gets the default. Turn on ` +
    `sticky: true (graylane mints an anonymous id), or set the cookie in the page (the browser ` +
    `SDK's anonymous id) or at your gateway.`
  );
}
