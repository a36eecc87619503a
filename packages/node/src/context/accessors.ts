import { GraylaneError, type Decision } from '@graylane/core';
import { currentStore } from './storage.js';

/**
 * The version decided for the current request. Throws `GraylaneError('NO_CONTEXT')` outside a
 * request handled by graylane or a `runWithGray` scope — use {@link tryGetGrayVersion} where
 * that is expected.
 *
 * @example
 * ```ts
 * app.get('/checkout', (req, res) => {
 *   res.send(getGrayVersion() === 'beta' ? newCheckout() : oldCheckout());
 * });
 * ```
 */
export function getGrayVersion(): string {
  const store = currentStore();
  if (!store) {
    throw new GraylaneError(
      'NO_CONTEXT',
      'getGrayVersion() called outside a graylane request context; add the middleware, wrap jobs in runWithGray(), or use tryGetGrayVersion()',
    );
  }
  return store.decision.version;
}

/**
 * The version decided for the current request, or undefined outside one. Never throws.
 *
 * @example
 * ```ts
 * const version = tryGetGrayVersion() ?? 'stable';
 * ```
 */
export function tryGetGrayVersion(): string | undefined {
  return currentStore()?.decision.version;
}

/**
 * The full decision (`version`, `reason`, `source`, `ruleId`, …) for the current request, or
 * undefined outside one. Never throws.
 *
 * @example
 * ```ts
 * const d = getGrayDecision();
 * log.info({ version: d?.version, reason: d?.reason }, 'served');
 * ```
 */
export function getGrayDecision(): Decision | undefined {
  return currentStore()?.decision;
}

/**
 * The version whose handler actually serves the current request: the decided version, or the
 * fallback chosen by `grayHandlers` when that version has no handler here (lane fallback). The
 * marker sent downstream stays the decided version.
 *
 * @example
 * ```ts
 * res.setHeader('x-served-by', tryGetGrayLane() ?? 'none');
 * ```
 */
export function tryGetGrayLane(): string | undefined {
  const store = currentStore();
  return store ? (store.lane ?? store.decision.version) : undefined;
}
