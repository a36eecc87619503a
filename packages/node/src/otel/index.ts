/**
 * Bridge to OpenTelemetry, used by the middleware when `@opentelemetry/api` is installed:
 * - `getOtelBridge()` returns undefined when `@opentelemetry/api` cannot be loaded;
 * - `runWithMarker` runs `fn` in an OTel context whose baggage carries `key=version`;
 * - `annotate` sets `graylane.version` / `graylane.reason` on the request's server span.
 * No hard dependency: the api is loaded lazily on first use, once.
 */
import { createOtelBridge } from './bridge.js';
import type { OtelBridge } from './bridge.js';
import { loadOtelApi } from './load.js';

export type { OtelBridge } from './bridge.js';

let cached: { bridge: OtelBridge | undefined } | undefined;

/** The OTel bridge, or undefined when `@opentelemetry/api` is not installed. */
export function getOtelBridge(): OtelBridge | undefined {
  if (cached === undefined) {
    const api = loadOtelApi();
    cached = { bridge: api === undefined ? undefined : createOtelBridge(api) };
  }
  return cached.bridge;
}
