import { packageRequire } from '../package-require.js';
import type * as OtelApi from '@opentelemetry/api';

type Api = Pick<typeof OtelApi, 'context' | 'propagation'>;

/**
 * Where @opentelemetry/api 1.x keeps its globals (`api/src/internal/global-utils.ts`): `context`
 * is set only once a real context manager is registered. Shared by every api copy.
 */
const OTEL_GLOBAL = Symbol.for('opentelemetry.js.api.1');

let loaded: { api: Api | undefined } | undefined;

function api(): Api | undefined {
  if (loaded === undefined) {
    try {
      const mod = packageRequire()('@opentelemetry/api') as Partial<Api>;
      loaded = {
        api:
          typeof mod.context?.with === 'function' &&
          typeof mod.propagation?.setBaggage === 'function'
            ? (mod as Api)
            : undefined,
      };
    } catch {
      loaded = { api: undefined };
    }
  }
  return loaded.api;
}

/**
 * True when OpenTelemetry is active: the api loads and a context manager is registered. Read per
 * call (one property lookup), so a manager registered after start-up is used at once (OUT-07).
 */
export function otelActive(): boolean {
  const registry = (globalThis as { [OTEL_GLOBAL]?: { context?: unknown } })[OTEL_GLOBAL];
  return typeof registry === 'object' && registry.context !== undefined && api() !== undefined;
}

/**
 * Runs `fn` in an OTel context whose baggage carries `key=version` (other entries kept), so
 * OTel-instrumented clients inside a message handler carry the lane too (OTB-05). Without an
 * active OTel, or if OTel fails before `fn` runs, `fn` runs as is. `fn`'s own errors propagate.
 */
export function runWithBaggage<T>(version: string, key: string | false, fn: () => T): T {
  if (key === false || !otelActive()) return fn();
  const otel = api() as Api;
  let ctx: OtelApi.Context;
  try {
    const active = otel.context.active();
    const baggage = otel.propagation.getBaggage(active) ?? otel.propagation.createBaggage();
    if (baggage.getEntry(key)?.value === version) return fn();
    ctx = otel.propagation.setBaggage(active, baggage.setEntry(key, { value: version }));
  } catch {
    return fn();
  }
  return otel.context.with(ctx, fn);
}
