/**
 * The decision header is sealed: the proxy signs it, and the server reads only what verifies.
 * A client can send `x-graylane-decision` itself, and the proxy does not run on every path (its
 * `matcher`), so an unverified value must never become the lane. The seal is a graylane signed
 * marker (`<version>.<exp>.<kid>.<HMAC>`, the format of core's `spec/signed.json`) bound to
 * the rest of the decision as its subject, valid for a few minutes.
 *
 * The key: `GRAYLANE_DECISION_KEY` from the environment when set (required where the proxy and
 * the render are not one JavaScript realm: middleware on the edge runtime, separate
 * deployments), else a random key made once per realm (Next 16's `proxy.ts` runs in the
 * server's own realm, so it needs no configuration).
 */
import { compileSigningKeys, GraylaneError, isVersionLabel, type Decision } from '@graylane/core';
import { signMarker, verifyMarker } from '@graylane/web';
import { formatDecision, parseDecision } from './decision.js';

/**
 * The environment variable holding the key shared by the proxy and the app (a secret, ≥ 16
 * bytes). Needed when they do not run in one JavaScript realm: middleware on the edge runtime,
 * or a proxy deployed apart from the app. Read at call time.
 *
 * @example
 * ```sh
 * GRAYLANE_DECISION_KEY="$(openssl rand -base64 32)" next start
 * ```
 */
export const DECISION_KEY_ENV = 'GRAYLANE_DECISION_KEY';
/**
 * A second key, accepted when a seal is verified and never used to seal: rotating
 * `GRAYLANE_DECISION_KEY` where the proxy and the app deploy apart. Set the new key here
 * everywhere, then make it `GRAYLANE_DECISION_KEY` with the old one here, then (after
 * {@link DECISION_SEAL_TTL_SECONDS}) remove this. Each step can roll out one instance at a time.
 *
 * @example
 * ```sh
 * GRAYLANE_DECISION_KEY="$NEW" GRAYLANE_DECISION_KEY_FALLBACK="$OLD" next start
 * ```
 */
export const DECISION_KEY_FALLBACK_ENV = 'GRAYLANE_DECISION_KEY_FALLBACK';
/**
 * How long a sealed decision verifies. A request's decision is read while it is rendered; a
 * leaked header (an app that forwards its request headers elsewhere) replays for this long at most.
 *
 * @example
 * ```ts
 * // a render that reads the lane later than this after the proxy ran sees no decision
 * console.log(DECISION_SEAL_TTL_SECONDS); // 300
 * ```
 */
export const DECISION_SEAL_TTL_SECONDS = 300;
/**
 * A seal's expiry may lie this far past the verifier's clock at most: the proxy seals for
 * {@link DECISION_SEAL_TTL_SECONDS}, and another as long is left for a proxy whose clock is ahead.
 * A later expiry is refused, so even a buggy signer's seal replays for minutes, not a year.
 */
const MAX_SEAL_AHEAD_MS = 2 * DECISION_SEAL_TTL_SECONDS * 1000;
/** Key ids: which key sealed a decision (a realm's own, or the shared one). */
const KID_SHARED = 'env';
const KID_REALM = 'realm';
/** The seal field appended to the decision header. */
const SEAL_FIELD = 'seal';

const REALM_KEY = Symbol.for('@graylane/next.decision-key');

interface DecisionKey {
  readonly kid: string;
  readonly key: Uint8Array;
  /** `GRAYLANE_DECISION_KEY_FALLBACK`: verifies a shared seal too, never seals. */
  readonly fallback?: Uint8Array | undefined;
}

/**
 * The key in force: the environment's when set (validated, with its fallback; throws
 * `INVALID_OPTIONS` when one is too short — called at proxy construction, so the mistake shows at
 * startup), else this realm's.
 */
export function decisionKey(verifying = false): DecisionKey {
  const shared = envKey(DECISION_KEY_ENV);
  const fallback = envKey(DECISION_KEY_FALLBACK_ENV);
  let extra: Uint8Array | undefined;
  try {
    extra = fallback === undefined ? undefined : sharedKey(fallback, DECISION_KEY_FALLBACK_ENV);
  } catch (err) {
    // Where a seal is read (an app deployed apart from its proxy, which never ran the startup
    // check), a bad fallback must not refuse what the main key sealed: it is left out, said once.
    if (!verifying) throw err;
    warnOnce(
      `[graylane] ${String((err as Error).message).replace(/^\[graylane\] /, '')}: it is ignored, seals are verified with ${DECISION_KEY_ENV} alone`,
    );
  }
  if (shared !== undefined)
    return { kid: KID_SHARED, key: sharedKey(shared, DECISION_KEY_ENV), fallback: extra };
  const g = globalThis as { [REALM_KEY]?: Uint8Array };
  g[REALM_KEY] ??= crypto.getRandomValues(new Uint8Array(32));
  return { kid: KID_REALM, key: g[REALM_KEY], fallback: extra };
}

function sharedKey(text: string, name: string): Uint8Array {
  try {
    return compileSigningKeys({ [KID_SHARED]: text }).get(KID_SHARED) as Uint8Array;
  } catch (err) {
    // Named by its variable: the key ring's message speaks of a key id the user never wrote.
    throw new GraylaneError('INVALID_OPTIONS', `${name} is shorter than 16 bytes`, { cause: err });
  }
}

const WARNED_FALLBACK = Symbol.for('@graylane/next.warned-fallback');

function warnOnce(message: string): void {
  const g = globalThis as { [WARNED_FALLBACK]?: boolean };
  if (g[WARNED_FALLBACK]) return;
  g[WARNED_FALLBACK] = true;
  console.warn(message);
}

/** True when a shared key is configured (the proxy then needs no shared realm with the app). */
export function hasSharedKey(): boolean {
  return envKey(DECISION_KEY_ENV) !== undefined;
}

function envKey(name: string): string | undefined {
  try {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
      ?.env;
    const value = env?.[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The header value the proxy writes: the decision, then `; seal=<token>`. */
export async function sealDecision(decision: Decision, now: number = Date.now()): Promise<string> {
  const { kid, key } = decisionKey();
  const text = formatDecision(decision);
  const seal = await signMarker(decision.version, {
    key,
    kid,
    ttlSeconds: DECISION_SEAL_TTL_SECONDS,
    subject: text,
    now: () => now,
  });
  return `${text}; ${SEAL_FIELD}=${seal}`;
}

/** Why a decision header was not used. */
export type OpenFailure = 'absent' | 'malformed' | 'unsealed' | 'bad_seal';

/**
 * The decision in a header value, only when its seal verifies with the key in force; never
 * throws. A forged, altered, expired, or other-key value is refused with the reason.
 */
export async function openDecision(
  value: string | null | undefined,
  now: number = Date.now(),
): Promise<{ decision: Decision } | { failure: OpenFailure }> {
  if (value === null || value === undefined || value === '') return { failure: 'absent' };
  const decision = parseDecision(value);
  if (decision === undefined) return { failure: 'malformed' };
  const seal = sealOf(value);
  if (seal === undefined) return { failure: 'unsealed' };
  try {
    const { kid, key, fallback } = decisionKey(true);
    const verify = (k: Uint8Array, id: string) =>
      verifyMarker(seal, {
        keys: new Map([[id, k]]),
        subject: formatDecision(decision),
        now: () => now,
      });
    let result = await verify(key, kid);
    // The fallback is a shared key: it verifies what a proxy sealed with the shared key id.
    if (!result.ok && result.reason === 'bad_signature' && fallback !== undefined)
      result = await verify(fallback, KID_SHARED);
    if (
      !result.ok ||
      result.version !== decision.version ||
      !isVersionLabel(result.version) ||
      result.expiresAt > now + MAX_SEAL_AHEAD_MS
    )
      return { failure: 'bad_seal' };
    return { decision };
  } catch {
    return { failure: 'bad_seal' };
  }
}

/** The `seal=` field: exactly one, last. */
function sealOf(value: string): string | undefined {
  const at = value.lastIndexOf(`; ${SEAL_FIELD}=`);
  if (at === -1 || value.indexOf(`${SEAL_FIELD}=`) !== at + 2) return undefined;
  return value.slice(at + SEAL_FIELD.length + 3);
}
