import { propagation } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { DEFAULT_BAGGAGE_KEY } from './constants.js';
import { acceptVersion, toMarkerPolicyOrNone } from './policy.js';
import type { VersionPolicy } from './policy.js';

/** Options shared by the baggage helpers. */
export interface GrayBaggageOptions {
  /** Baggage member key. Default `gray`. */
  readonly key?: string;
  /**
   * Accepted versions: a list, a `GrayConfig` or your config document. Default: any well-formed
   * label. A value that is none of these accepts no version (these helpers never throw).
   */
  readonly versions?: VersionPolicy;
}

/**
 * Reads the marker from the OTel baggage of `ctx`. Returns the version only when it is valid
 * for `options.versions`; a missing, malformed or unknown value gives `undefined`. Never throws.
 *
 * @example
 * ```ts
 * import { context } from '@opentelemetry/api';
 * const version = getGrayBaggage(context.active(), { versions: ['stable', 'beta'] });
 * ```
 */
export function getGrayBaggage(ctx: Context, options?: GrayBaggageOptions): string | undefined {
  try {
    const entry = propagation.getBaggage(ctx)?.getEntry(options?.key ?? DEFAULT_BAGGAGE_KEY);
    return acceptVersion(entry?.value, toMarkerPolicyOrNone(options?.versions));
  } catch {
    return undefined;
  }
}

/**
 * Returns a context whose baggage carries `key=version`, keeping every other baggage entry.
 * An invalid `version` leaves the marker out: the result is `ctx` without the key (never throws).
 * The member is for code that reads OTel baggage; it puts nothing on a lane: `GrayPropagator`
 * never sends it, and graylane's outbound code carries only a graylane lane. To run a job on a
 * lane, use `runWithGray` from `@graylane/node`.
 *
 * @example
 * ```ts
 * import { context } from '@opentelemetry/api';
 * const ctx = setGrayBaggage(context.active(), 'beta');
 * getGrayBaggage(ctx); // 'beta'
 * ```
 */
export function setGrayBaggage(
  ctx: Context,
  version: string,
  options?: GrayBaggageOptions,
): Context {
  const key = options?.key ?? DEFAULT_BAGGAGE_KEY;
  try {
    if (acceptVersion(version, toMarkerPolicyOrNone(options?.versions)) === undefined) {
      return removeGrayBaggage(ctx, options);
    }
    const current = propagation.getBaggage(ctx);
    if (current?.getEntry(key)?.value === version) return ctx;
    const next = (current ?? propagation.createBaggage()).setEntry(key, { value: version });
    return propagation.setBaggage(ctx, next);
  } catch {
    return ctx;
  }
}

/**
 * Returns a context whose baggage no longer has the marker entry (other entries kept). Use it
 * before calling a destination that must not learn the lane. Never throws.
 *
 * @example
 * ```ts
 * context.with(removeGrayBaggage(context.active()), () => callThirdParty());
 * ```
 */
export function removeGrayBaggage(
  ctx: Context,
  options?: Pick<GrayBaggageOptions, 'key'>,
): Context {
  try {
    const key = options?.key ?? DEFAULT_BAGGAGE_KEY;
    const current = propagation.getBaggage(ctx);
    if (current === undefined || current.getEntry(key) === undefined) return ctx;
    const next = current.removeEntry(key);
    return next.getAllEntries().length === 0
      ? propagation.deleteBaggage(ctx)
      : propagation.setBaggage(ctx, next);
  } catch {
    return ctx;
  }
}
