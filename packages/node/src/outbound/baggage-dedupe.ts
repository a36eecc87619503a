import { subscribe } from 'node:diagnostics_channel';
import { setBaggageMember } from '@graylane/core';
import { currentStore } from '../context/storage.js';
import { getOtelBridge } from '../otel/index.js';

let subscribed = false;

/**
 * When OpenTelemetry's undici instrumentation is active, it *adds* a `baggage` header on
 * `undici:request:create` even if graylane already set one, so the wire carries two (OUT-01).
 * This listener, subscribed lazily after the SDK's, merges them into one header with the marker
 * exactly once. Installed only when `@opentelemetry/api` is present; never throws.
 */
export function ensureBaggageDedupe(): void {
  if (subscribed || getOtelBridge() === undefined) return;
  subscribed = true;
  subscribe('undici:request:create', dedupe);
}

function dedupe(message: unknown): void {
  try {
    const headers = (message as { request?: { headers?: unknown } } | undefined)?.request?.headers;
    if (!Array.isArray(headers)) return;
    const at: number[] = [];
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i];
      if (typeof name === 'string' && name.toLowerCase() === 'baggage') at.push(i);
    }
    const store = currentStore();
    if (at.length < 2 || !store || store.baggageKey === false) return;
    const merged = setBaggageMember(
      at.map((i) => String(headers[i + 1])),
      store.baggageKey,
      store.decision.version,
    );
    headers[(at[0] as number) + 1] = merged;
    for (const i of at.slice(1).reverse()) headers.splice(i, 2);
  } catch {
    // I1: the request proceeds untouched.
  }
}
