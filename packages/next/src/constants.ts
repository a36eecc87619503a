/**
 * Request header the proxy writes for server code: the decision in the debug-header format
 * (`version=beta; reason=weight; source=rules; rule=ramp`). Always overwritten by the proxy, so
 * a client cannot set it on any route the proxy's matcher covers.
 */
export const DECISION_REQUEST_HEADER = 'x-graylane-decision';
/** `<meta name="graylane-version">`: the hand-off to `@graylane/browser` (`initGray` reads it). */
export const META_NAME = 'graylane-version';
