/**
 * Names shared by every graylane OpenTelemetry integration. The defaults follow DESIGN.md
 * ("Defaults"): header `X-Gray-Id`, baggage key `gray`.
 */

/**
 * Span attribute holding the decided version, e.g. `beta`.
 *
 * @example
 * ```ts
 * span.attributes[ATTR_GRAYLANE_VERSION]; // 'beta'
 * ```
 */
export const ATTR_GRAYLANE_VERSION = 'graylane.version';

/**
 * Span attribute holding why the request got its version (a core `DecisionReason`).
 *
 * @example
 * ```ts
 * span.attributes[ATTR_GRAYLANE_REASON]; // 'weight'
 * ```
 */
export const ATTR_GRAYLANE_REASON = 'graylane.reason';

/**
 * Default W3C baggage member key carrying the marker.
 *
 * @example
 * ```ts
 * `baggage: ${DEFAULT_BAGGAGE_KEY}=beta`; // 'baggage: gray=beta'
 * ```
 */
export const DEFAULT_BAGGAGE_KEY = 'gray';

/**
 * Default marker header, lower-case as Node delivers incoming header names.
 *
 * @example
 * ```ts
 * req.headers[DEFAULT_GRAY_HEADER]; // 'beta'
 * ```
 */
export const DEFAULT_GRAY_HEADER = 'x-gray-id';

/**
 * The W3C baggage header name (W3C Baggage §3).
 *
 * @example
 * ```ts
 * new GrayPropagator().fields(); // ['x-gray-id', BAGGAGE_HEADER]
 * ```
 */
export const BAGGAGE_HEADER = 'baggage';
