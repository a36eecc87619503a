import { GraylaneError, type Allowlist, type Decision } from '@graylane/core';

/**
 * Which marker already on an outgoing request an allowlisted hop keeps (OUT-03, GW-01):
 * - `any`: the caller's, as written (a lane decided in `open` trust, or built by hand outside one);
 * - `version`: only one that is exactly the lane's version; any other is replaced by it (a lane
 *   decided in `edge` mode, or in `signed` mode without a valid client token: the client's
 *   marker, forwarded with the request's headers, must not travel on);
 * - `token`: that, or a well-formed signed token for the lane's version (`signed` mode, a valid
 *   client token decided: forwarding it keeps the lane).
 */
export type LaneKeep = 'any' | 'version' | 'token';

/**
 * The lane of one request: the decision and how to carry it outbound. Immutable; a class so
 * heap snapshots can count instances by name (RELIABILITY CTX-11).
 */
export class GrayLane {
  constructor(
    readonly decision: Decision,
    /** Outbound allowlist; undefined means "never inject". */
    readonly allow: Allowlist | undefined,
    /** Lower-cased outbound marker header. */
    readonly header: string,
    /** Outbound baggage key, or false. */
    readonly baggageKey: string | false,
    /** Which marker set by the caller an allowlisted hop keeps. Default `any` (OUT-03). */
    readonly keep: LaneKeep = 'any',
  ) {}
}

/** The two methods graylane uses of an `AsyncLocalStorage` (Node, workerd, Vercel Edge, Deno, Bun). */
export interface AsyncLocalStorageLike<T> {
  run<R>(store: T, fn: () => R): R;
  getStore(): T | undefined;
}

/** The constructor shape, as `node:async_hooks` and `globalThis.AsyncLocalStorage` export it. */
export type AsyncLocalStorageCtor = new <T>() => AsyncLocalStorageLike<T>;

const KEY = Symbol.for('@graylane/web.context');

interface Slot {
  als?: AsyncLocalStorageLike<GrayLane> | undefined;
}

function slot(): Slot {
  const g = globalThis as { [KEY]?: Slot };
  let s = g[KEY];
  if (!s) {
    s = {};
    g[KEY] = s;
  }
  return s;
}

/**
 * Gives graylane an `AsyncLocalStorage` where the runtime has no global one (Deno, Bun: pass
 * the class from `node:async_hooks`). workerd with `nodejs_compat`/`nodejs_als` and Vercel Edge
 * expose `globalThis.AsyncLocalStorage`, which is found without this call. Idempotent: the first
 * storage stays, so ESM and CJS copies keep agreeing.
 *
 * @example
 * ```ts
 * import { AsyncLocalStorage } from 'node:async_hooks';
 * import { provideAsyncLocalStorage } from '@graylane/web';
 * provideAsyncLocalStorage(AsyncLocalStorage);
 * ```
 */
export function provideAsyncLocalStorage(
  als: AsyncLocalStorageCtor | AsyncLocalStorageLike<unknown>,
): void {
  // Checked before anything is kept: a storage that is not one would break every later lane. A
  // class is judged by its prototype (an arrow function has none: it cannot be constructed).
  if (!isStorage(typeof als === 'function' ? als.prototype : als)) throw wrongStorage(undefined);
  const s = slot();
  if (s.als) return;
  try {
    s.als =
      typeof als === 'function'
        ? new (als as AsyncLocalStorageCtor)<GrayLane>()
        : (als as AsyncLocalStorageLike<GrayLane>);
  } catch (cause) {
    throw wrongStorage(cause);
  }
}

function isStorage(value: unknown): boolean {
  const like = value as Partial<AsyncLocalStorageLike<unknown>> | null | undefined;
  return typeof like?.run === 'function' && typeof like.getStore === 'function';
}

function wrongStorage(cause: unknown): GraylaneError {
  return new GraylaneError(
    'INVALID_OPTIONS',
    'provideAsyncLocalStorage: pass AsyncLocalStorage from node:async_hooks',
    { cause },
  );
}

/**
 * The process-wide storage, created on first use from `globalThis.AsyncLocalStorage` (looked up
 * at call time, never at import), or undefined where the runtime has none: then lanes travel
 * explicitly (`withGray(fetch, { lane })`).
 */
export function storage(): AsyncLocalStorageLike<GrayLane> | undefined {
  const s = slot();
  if (s.als) return s.als;
  try {
    const Ctor = (globalThis as { AsyncLocalStorage?: AsyncLocalStorageCtor }).AsyncLocalStorage;
    if (typeof Ctor === 'function') s.als = new Ctor<GrayLane>();
  } catch {
    s.als = undefined;
  }
  return s.als;
}

/** The lane bound to the current async context, or undefined. Never throws. */
export function currentLane(): GrayLane | undefined {
  try {
    return storage()?.getStore();
  } catch {
    return undefined;
  }
}

/** True when lanes can be bound implicitly in this runtime. */
export function hasAsyncContext(): boolean {
  return storage() !== undefined;
}
