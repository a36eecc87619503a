import { ServerResponse } from 'node:http';
import { countFallback } from '../metrics/stats.js';
import { getOtelBridge } from '../otel/index.js';
import type { GrayStore } from './storage.js';

const DEBUG_HEADER = 'x-gray-decision';

/** A response whose `X-Gray-Decision` can be read and extended before it is sent. */
interface HeaderTarget {
  get(): string | undefined;
  set(value: string): void;
}

/**
 * @internal Records where a request was served when it was not its own lane: `tryGetGrayLane()`,
 * the `graylane.lane.fallbacks` counter, the span attributes `graylane.lane` /
 * `graylane.lane.fallback`, and `; lane=<served>` on the debug header when the middleware wrote
 * one (node:http, express, koa, fastify). `served` undefined: strict, nothing served. Never throws.
 */
export function recordLane(
  store: GrayStore | undefined,
  wanted: string,
  served: string | undefined,
  args: readonly unknown[],
): void {
  try {
    if (store) store.lane = served;
    if (served !== undefined) countFallback(wanted, served);
    getOtelBridge()?.annotateLane(served ?? 'unavailable', true);
    const target = headerTarget(args);
    const current = target?.get();
    if (target && current !== undefined && !current.includes('; lane='))
      target.set(`${current}; lane=${served ?? 'unavailable'}`);
  } catch {
    // Telemetry never breaks a request (I1).
  }
}

/** @internal The raw Node response of a plain `(req, res)` handler (no `next`), if any. */
export function plainNodeResponse(args: readonly unknown[]): ServerResponse | undefined {
  const res = args[1];
  return res instanceof ServerResponse && typeof args[2] !== 'function' ? res : undefined;
}

function headerTarget(args: readonly unknown[]): HeaderTarget | undefined {
  const [first, second] = args as [Record<string, unknown> | undefined, Record<string, unknown>];
  const node =
    second instanceof ServerResponse
      ? second
      : first?.['res'] instanceof ServerResponse
        ? (first['res'] as ServerResponse)
        : undefined;
  if (node) {
    return {
      get: () => (node.headersSent ? undefined : asString(node.getHeader(DEBUG_HEADER))),
      set: (v) => node.setHeader(DEBUG_HEADER, v),
    };
  }
  // fastify's reply: headers are kept on the reply until it is sent.
  if (
    second &&
    typeof second['getHeader'] === 'function' &&
    typeof second['header'] === 'function' &&
    second['raw'] instanceof ServerResponse
  ) {
    const reply = second as { getHeader(n: string): unknown; header(n: string, v: string): void };
    return {
      get: () => asString(reply.getHeader(DEBUG_HEADER)),
      set: (v) => reply.header(DEBUG_HEADER, v),
    };
  }
  return undefined;
}

function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
