import type { JsonValue, Provider } from '@openfeature/server-sdk';
import { getGrayDecision } from '@graylane/node';
import { DEFAULT_FLAG_KEY, PROVIDER_NAME } from '../constants.js';
import type { LaneDecision } from '../metadata.js';
import {
  checkAccessor,
  checkKey,
  createLaneResolver,
  type GrayProviderStats,
} from '../resolver.js';

/** Options of {@link createGrayServerProvider}. */
export interface GrayServerProviderOptions {
  /** The flag answered with the lane. Default `gray-version`. */
  readonly flagKey?: string;
  /**
   * Where the current request's decision is read. Default: `getGrayDecision` from
   * `@graylane/node` (the middleware's or `runWithGray`'s context). It returns, synchronously,
   * a decision whose `version` is a version label, or `undefined` outside a lane; anything else
   * (or a throw) resolves to your code default with `GENERAL`, counted in `stats()`.
   */
  readonly getDecision?: () => LaneDecision | undefined;
}

/** An OpenFeature server provider that answers one flag with the request's lane. */
export interface GrayServerProvider extends Provider {
  readonly runsOn: 'server';
  /** Counters: lanes served and each error for which the code default was returned. */
  stats(): GrayProviderStats;
}

const NO_CONTEXT =
  'no graylane request context: evaluate inside the graylane middleware or runWithGray()';

/**
 * An OpenFeature provider for the server SDK. The flag `gray-version` (configurable) resolves to
 * the version graylane decided for the current request, with graylane's reason mapped to
 * OpenFeature's (`TARGETING_MATCH`, `SPLIT`, `STATIC`, `DEFAULT`) and the rule id and source in
 * the flag metadata. Outside a request, for another flag or another type it returns your code
 * default with `reason: 'ERROR'` and an error code; it never throws. Throws `INVALID_OPTIONS`
 * for a bad `flagKey`.
 *
 * @example
 * ```ts
 * import { OpenFeature } from '@openfeature/server-sdk';
 * import { createGrayServerProvider } from '@graylane/openfeature/server';
 *
 * await OpenFeature.setProviderAndWait('graylane', createGrayServerProvider());
 * const flags = OpenFeature.getClient('graylane');
 * app.get('/checkout', async (req, res) => {
 *   const lane = await flags.getStringValue('gray-version', 'stable');
 *   res.send(lane);
 * });
 * ```
 */
export function createGrayServerProvider(
  options: GrayServerProviderOptions = {},
): GrayServerProvider {
  options ??= {}; // `null` from plain JS
  const flagKey = checkKey('flagKey', options.flagKey, DEFAULT_FLAG_KEY);
  const read = checkAccessor('getDecision', options.getDecision, getGrayDecision);
  const lanes = createLaneResolver(flagKey, read, NO_CONTEXT);
  return {
    metadata: { name: PROVIDER_NAME },
    runsOn: 'server',
    hooks: [],
    resolveBooleanEvaluation: async (key, value) => lanes.resolve(key, value, 'boolean'),
    resolveStringEvaluation: async (key, value) => lanes.resolve(key, value, 'string'),
    resolveNumberEvaluation: async (key, value) => lanes.resolve(key, value, 'number'),
    resolveObjectEvaluation: async <T extends JsonValue>(key: string, value: T) =>
      lanes.resolve(key, value, 'object'),
    stats: () => lanes.stats(),
  };
}
