import type { Decision } from '../rules/types.js';
import { formatSignedToken, isSignableSubject, signedPayload } from '../signed/token.js';
import type { HmacSha256 } from '../signed/verify.js';
import { formatSetCookie, isSafeCookieValue, isSecure } from './cookies.js';
import type { Extraction } from './extract.js';
import type { MintedSubjects } from './request.js';
import type { ResolvedInbound } from './resolve.js';

/** A signed sticky cookie waiting for its MAC (platforms whose HMAC is async). */
export interface PendingSignedCookie {
  readonly kid: string;
  readonly key: Uint8Array<ArrayBuffer>;
  /** The bytes to MAC with HMAC-SHA256 under `key`. */
  readonly data: Uint8Array<ArrayBuffer>;
  /** The `Set-Cookie` value for the 32-byte MAC over `data`, or undefined for a wrong-size MAC. */
  finish(signature: Uint8Array): string | undefined;
}

/** The cookies one decision writes. */
export interface StickyWrites {
  readonly setCookies: string[];
  readonly pending: PendingSignedCookie[];
}

/** Per-request inputs of the sticky decision. */
export interface StickyInput {
  readonly decision: Decision;
  readonly found: Extraction;
  readonly minted: MintedSubjects;
  readonly tls: boolean;
  readonly subject: string | undefined;
  readonly now: number;
}

/**
 * Sticky cookies: minted subject ids, and the version cookie after a weighted assignment or
 * when the client's cookie marker was ignored (PREC-03: rewritten on the next response). A
 * marker from a header or the query is never persisted (QS-02: this request only).
 */
export function stickyCookies(
  opts: ResolvedInbound<never>,
  input: StickyInput,
  hmac: HmacSha256 | undefined,
): StickyWrites {
  const out: StickyWrites = { setCookies: [], pending: [] };
  const sticky = opts.sticky;
  if (!sticky) return out;
  for (const [name, id] of input.minted)
    if (isSafeCookieValue(id)) out.setCookies.push(formatSetCookie(name, id, sticky, input.tls));
  const { decision, found } = input;
  const cookieRejected = found.rejections.some((r) => r.source === 'cookie');
  const persist = decision.reason === 'weight' || (cookieRejected && found.source !== 'cookie');
  if (!sticky.cookie || opts.cookie === false || opts.trust === 'edge' || !persist) return out;
  // The name the browser SDK would use: `__Host-gray` when the cookie carries `Secure`.
  const name = isSecure(sticky, input.tls) ? opts.secureCookie || opts.cookie : opts.cookie;
  if (opts.trust !== 'signed') {
    if (isSafeCookieValue(decision.version))
      out.setCookies.push(formatSetCookie(name, decision.version, sticky, input.tls));
    return out;
  }
  const kid = opts.signingKid;
  const key = kid === undefined ? undefined : opts.keys?.get(kid);
  if (kid === undefined || key === undefined || !isSignableSubject(input.subject)) return out;
  const exp = Math.floor(input.now / 1000) + sticky.maxAgeSeconds;
  const data = signedPayload(decision.version, exp, kid, input.subject);
  const finish = (signature: Uint8Array): string | undefined => {
    if (signature.length !== 32) return undefined;
    const token = formatSignedToken(decision.version, exp, kid, signature);
    return isSafeCookieValue(token) ? formatSetCookie(name, token, sticky, input.tls) : undefined;
  };
  if (hmac === undefined) {
    out.pending.push({ kid, key, data, finish });
    return out;
  }
  const cookie = finish(hmac(key, data));
  if (cookie !== undefined) out.setCookies.push(cookie);
  return out;
}
