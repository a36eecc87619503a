/**
 * The flag the graylane providers answer with the request's lane (issue 14).
 *
 * @example
 * ```ts
 * await flags.getStringValue(DEFAULT_FLAG_KEY, 'stable'); // the lane
 * ```
 */
export const DEFAULT_FLAG_KEY = 'gray-version';

/**
 * The evaluation-context attribute the lane is written to, for other providers to target on.
 *
 * @example
 * ```ts
 * // flagd: { "==": [{ "var": "grayVersion" }, "beta"] }
 * createGrayContextHook({ key: DEFAULT_CONTEXT_KEY });
 * ```
 */
export const DEFAULT_CONTEXT_KEY = 'grayVersion';

/**
 * `metadata.name` of both providers, as OpenFeature's telemetry reports it.
 *
 * @example
 * ```ts
 * details.providerMetadata?.name === PROVIDER_NAME; // evaluated by graylane
 * ```
 */
export const PROVIDER_NAME = 'graylane';
