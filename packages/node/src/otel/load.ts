import { packageRequire } from '../package-require.js';
import type * as OtelApi from '@opentelemetry/api';

/** The subset of `@opentelemetry/api` the bridge uses. */
export type OtelApiLike = Pick<
  typeof OtelApi,
  'context' | 'propagation' | 'trace' | 'diag' | 'createContextKey'
>;

/** How the bridge loads a module; replaced in tests to simulate an absent or broken api. */
export type ModuleLoader = (id: string) => unknown;

/**
 * Loads `@opentelemetry/api` from the app's dependency tree, or returns undefined when it is
 * absent or not a usable api (graylane never hard-depends on OTel). `packageRequire` resolves
 * from this package's location, which finds the app's hoisted copy; the api keeps its state in
 * a global registry, so a second copy still sees the app's context manager (CTX-10).
 */
export function loadOtelApi(load: ModuleLoader = defaultLoader()): OtelApiLike | undefined {
  try {
    const api = load('@opentelemetry/api') as Partial<OtelApiLike> | undefined;
    return isUsable(api) ? api : undefined;
  } catch {
    return undefined;
  }
}

function defaultLoader(): ModuleLoader {
  return packageRequire();
}

function isUsable(api: Partial<OtelApiLike> | undefined): api is OtelApiLike {
  return (
    typeof api?.context?.with === 'function' &&
    typeof api.context.active === 'function' &&
    typeof api.propagation?.setBaggage === 'function' &&
    typeof api.propagation.createBaggage === 'function' &&
    typeof api.trace?.getSpan === 'function' &&
    typeof api.createContextKey === 'function'
  );
}
