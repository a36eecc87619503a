/**
 * Bridge to OpenTelemetry, used by the middleware when `@opentelemetry/api` is installed.
 * Owned by the OpenTelemetry work (issue 6); this placeholder keeps the contract:
 * - `getOtelBridge()` returns undefined when `@opentelemetry/api` cannot be loaded;
 * - `runWithMarker` runs `fn` in an OTel context whose baggage carries `key=version`;
 * - `annotate` sets `graylane.version` / `graylane.reason` on the active span.
 */
import type { Decision } from '@graylane/core';

export interface OtelBridge {
  runWithMarker<T>(version: string, key: string, fn: () => T): T;
  annotate(decision: Decision): void;
}

export function getOtelBridge(): OtelBridge | undefined {
  return undefined;
}
