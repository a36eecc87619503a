/**
 * Request header the proxy writes for server code: the decision in the debug-header format
 * (`version=beta; reason=weight; source=rules; rule=ramp`) followed by the proxy's seal
 * (`; seal=<signed token>`). The proxy always replaces it, and `getGrayVersion()` reads it only
 * when the seal verifies, so a client cannot set the lane through it on any path.
 */
export const DECISION_REQUEST_HEADER = 'x-graylane-decision';
/** `<meta name="graylane-version">`: the hand-off to `@graylane/browser` (`initGray` reads it). */
export const META_NAME = 'graylane-version';
