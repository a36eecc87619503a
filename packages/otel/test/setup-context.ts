import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

/** Registers a real ALS context manager for a test file; returns the teardown. */
export function useAlsContextManager(): () => void {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  return () => {
    manager.disable();
    context.disable();
    propagation.disable();
  };
}

/** A plain header record as carrier, like `http` outgoing headers. */
export type Headers = Record<string, string | string[] | undefined>;

export const getter = {
  keys: (c: Headers) => Object.keys(c),
  get: (c: Headers, k: string) => c[k.toLowerCase()],
};

export const setter = {
  set: (c: Headers, k: string, v: string) => {
    c[k.toLowerCase()] = v;
  },
};
