import type { EvaluationContext, Hook } from '@openfeature/server-sdk';
import { getGrayDecision } from '@graylane/node';
import { DEFAULT_CONTEXT_KEY } from '../constants.js';
import { readLane } from '../decision.js';
import type { LaneDecision } from '../metadata.js';
import { checkAccessor, checkContextKey } from '../resolver.js';

/** Options of {@link createGrayContextHook}. */
export interface GrayContextHookOptions {
  /** The evaluation-context attribute that receives the lane. Default `grayVersion`. */
  readonly key?: string;
  /** Where the current request's decision is read. Default: `getGrayDecision` from `@graylane/node`. */
  readonly getDecision?: () => LaneDecision | undefined;
}

/**
 * A server-SDK hook that adds the current request's lane to the evaluation context (as
 * `grayVersion`, configurable), so any provider — flagd, GrowthBook, LaunchDarkly, Unleash —
 * can target on it. Inside a graylane request the lane wins over a caller-supplied value of the
 * same key; outside one the context is left as it is. Never throws.
 *
 * @example
 * ```ts
 * import { OpenFeature } from '@openfeature/server-sdk';
 * import { createGrayContextHook } from '@graylane/openfeature/server';
 *
 * OpenFeature.addHooks(createGrayContextHook());
 * // flagd targeting: { "if": [{ "==": [{ "var": "grayVersion" }, "beta"] }, "on", "off"] }
 * ```
 */
export function createGrayContextHook(options: GrayContextHookOptions = {}): Hook {
  options ??= {}; // `null` from plain JS
  const key = checkContextKey('key', options.key, DEFAULT_CONTEXT_KEY);
  const getDecision = checkAccessor('getDecision', options.getDecision, getGrayDecision);
  return {
    before(): EvaluationContext | undefined {
      // A broken accessor, or one that returns no decision with a version label, must not break
      // the evaluation nor put a junk value into the context: the context stays as it was.
      const read = readLane(getDecision);
      return read.kind === 'lane' ? { [key]: read.decision.version } : undefined;
    },
  };
}
