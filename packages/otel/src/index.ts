/**
 * @graylane/otel — OpenTelemetry interop: the marker in OTel baggage, a propagator that carries
 * `X-Gray-Id` and the `gray` baggage member together, and the decision as span attributes.
 * `@opentelemetry/api` is a peer dependency, so the app's single copy is used.
 */

export {
  ATTR_GRAYLANE_REASON,
  ATTR_GRAYLANE_VERSION,
  BAGGAGE_HEADER,
  DEFAULT_BAGGAGE_KEY,
  DEFAULT_GRAY_HEADER,
} from './constants.js';

export { getGrayBaggage, removeGrayBaggage, setGrayBaggage } from './baggage.js';
export type { GrayBaggageOptions } from './baggage.js';

export { GrayPropagator } from './propagator.js';
export type { GrayPropagatorOptions } from './propagator.js';

export { getGrayAttributes, setGraySpanAttributes } from './attributes.js';

export type { VersionPolicy } from './policy.js';
