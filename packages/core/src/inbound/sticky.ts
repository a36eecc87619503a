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
  /** STK-03: the client's cookie was overruled by a `reevaluate` rule; rewrite it. */
  readonly reevaluated?: boolean;
}

/**
 * What a request without sticky cookies writes (shared, never mutated). A plain literal, not
 * `Object.freeze` calls, so bundlers that do not use it can drop it.
 */
const NO_WRITES: StickyWrites = { setCookies: [], pending: [] };

/**
 * Sticky cookies: minted subject ids, and the version cookie after a weighted assignment or
 * when the client's cookie marker was ignored and the rules decided again (PREC-03: rewritten
 * on the next response). A header, query or baggage marker serves this request only (QS-02,
 * STK-02) unless `sticky.persistMarkers` names its carrier; in signed mode the cookie then holds
 * the same token — its key id, its expiry — so it never outlives it nor gains a newer key (STK-01).
 */
export function stickyCookies(
  opts: ResolvedInbound<never>,
  input: StickyInput,
  hmac: HmacSha256 | undefined,
): StickyWrites {
  const sticky = opts.sticky;
  if (!sticky) return NO_WRITES;
  const out: StickyWrites = { setCookies: [], pending: [] };
  for (const [name, id] of input.minted)
    if (isSafeCookieValue(id)) out.setCookies.push(formatSetCookie(name, id, sticky, input.tls));
  const { decision, found } = input;
  const plan = input.reevaluated ? 'fresh' : versionCookiePlan(sticky, decision, found);
  if (!sticky.cookie || opts.cookie === false || opts.trust === 'edge' || !plan) return out;
  // The name the browser SDK writes without a Domain: `__Host-gray` when the cookie carries
  // `Secure`. It is read first, before the `__Secure-gray` a page with `cookie.domain` writes.
  const name = isSecure(sticky, input.tls) ? opts.secureCookie || opts.cookie : opts.cookie;
  if (opts.trust !== 'signed') {
    if (isSafeCookieValue(decision.version))
      out.setCookies.push(formatSetCookie(name, decision.version, sticky, input.tls));
    return out;
  }
  const nowSeconds = Math.floor(input.now / 1000);
  let kid: string | undefined;
  let exp: number;
  if (plan === 'token') {
    // STK-01: the token's own key and expiry; HMAC is deterministic, so this is the same token.
    const token = found.token;
    if (token === undefined) return out;
    kid = token.kid;
    exp = Math.floor(token.expiresAt / 1000);
  } else {
    kid = opts.signingKid;
    exp = nowSeconds + sticky.maxAgeSeconds;
  }
  const maxAge = Math.min(exp - nowSeconds, sticky.maxAgeSeconds);
  const key = kid === undefined ? undefined : opts.keys?.get(kid);
  if (kid === undefined || key === undefined || maxAge <= 0 || !isSignableSubject(input.subject))
    return out;
  const signer = kid;
  const data = signedPayload(decision.version, exp, signer, input.subject);
  const finish = (signature: Uint8Array): string | undefined => {
    if (signature.length !== 32) return undefined;
    const token = formatSignedToken(decision.version, exp, signer, signature);
    return isSafeCookieValue(token)
      ? formatSetCookie(name, token, sticky, input.tls, maxAge)
      : undefined;
  };
  if (hmac === undefined) {
    out.pending.push({ kid: signer, key, data, finish });
    return out;
  }
  const cookie = finish(hmac(key, data));
  if (cookie !== undefined) out.setCookies.push(cookie);
  return out;
}

/**
 * What the version cookie should hold, if anything: `fresh` for a version the rules assigned
 * (a weighted split, or any rule decision after the client's cookie was ignored), `token` for a
 * client marker the options persist; undefined otherwise (a valid cookie is never renewed, and
 * conflicting marker cookies are left to the page).
 */
function versionCookiePlan(
  sticky: NonNullable<ResolvedInbound<never>['sticky']>,
  decision: Decision,
  found: Extraction,
): 'fresh' | 'token' | undefined {
  if (found.source === undefined) {
    // Marker cookies of one name that differ come from other paths or a parent domain: a write
    // (host-wide, at `/`) replaces none of them, cannot settle the conflict, and would overwrite
    // the one at `/` — the page's own, a QA choice included (STK-04; the browser SDK removes its
    // names at longer paths and reads again). Nothing is written; the rules serve this request.
    if (found.cookieConflict === true) return undefined;
    // No client marker decided: the rules did.
    if (decision.reason === 'weight') return 'fresh';
    return found.rejections.some((r) => r.source === 'cookie') ? 'fresh' : undefined;
  }
  if (found.source === 'cookie') return undefined;
  return sticky.persistMarkers.has(found.source) ? 'token' : undefined;
}
