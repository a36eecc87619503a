import type { GrayConfig } from '../config/types.js';

/**
 * Split rules that can never fire for a visitor who arrives without the cookie they hash: every
 * subject of the rule's `bucketBy` chain is a `cookie:` that graylane does not mint (`sticky` off,
 * `sticky.subjectCookie` names another cookie, or the platform writes no cookies: gRPC). Unless the page or another layer sets that
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

/**
 * The warning for a rule {@link unmintedCookieSplits} found. `cookiesWritten` is false on a
 * platform whose responses carry no cookies (gRPC): there `sticky` cannot help, so the advice is
 * a `header:` or `attr:` subject.
 */
export function unmintedCookieWarning(
  ruleId: string,
  cookies: readonly string[],
  cookiesWritten = true,
): string {
  const subjects = cookies.map((c) => `cookie:${c}`).join(', ');
  if (!cookiesWritten)
    return (
      `[graylane] rule "${ruleId}" splits by ${subjects}, which graylane cannot set here (gRPC ` +
      `has no cookies: sticky writes none): a call without it in its cookie metadata gets the ` +
      `default. Split on a header: or attr: subject (bucketBy: "header:x-user-id" or ` +
      `"attr:userId"), or have the client send the cookie (a grpc-web gateway forwards the ` +
      `browser's).`
    );
  return (
    `[graylane] rule "${ruleId}" splits by ${subjects}, which ` +
    `graylane does not set (sticky is off): a visitor without it gets the default. Turn on ` +
    `sticky: true (graylane mints an anonymous id), or set the cookie in the page (the browser ` +
    `SDK's anonymous id) or at your gateway.`
  );
}
