import type { EvaluationContext } from '@openfeature/web-sdk';

/** What a wrapped provider was given for one context the SDK handed over. */
interface Given {
  readonly context: EvaluationContext;
  /** Its `initialize` / `onContextChange` for that context, while it runs. */
  pending: PromiseLike<void> | undefined;
  /** That call failed: the provider does not have the context, so it is asked again. */
  failed: boolean;
}

/** @internal The contexts a wrapped provider was given, keyed by the SDK's context objects. */
export interface GivenContexts {
  /** Records that the SDK's `from` reached the provider as `context` through `run`; returns `run`. */
  give<R extends PromiseLike<void> | void>(
    from: EvaluationContext,
    context: EvaluationContext,
    run: R,
  ): R;
  /** What the provider was given for the SDK's `from`, if this saw it. */
  of(from: EvaluationContext): EvaluationContext | undefined;
  /**
   * When the provider has `context` already (given for `from`, not failed), records it for `to`
   * too and returns `{ pending }` — the call still running for it, if any; else `undefined`.
   */
  reuse(
    from: EvaluationContext,
    to: EvaluationContext,
    context: EvaluationContext,
  ): { pending: Promise<void> | undefined } | undefined;
}

/**
 * @internal The web SDK passes the context object it passed last as the next `oldContext`, so a
 * WeakMap on those objects knows what the provider was actually given (with the lane then current).
 */
export function createGivenContexts(): GivenContexts {
  const given = new WeakMap<EvaluationContext, Given>();
  return {
    give(from, context, run) {
      const entry: Given = { context, pending: undefined, failed: false };
      // The SDK's own test for an asynchronous reconcile.
      if (typeof (run as PromiseLike<void> | undefined)?.then === 'function') {
        const pending = (entry.pending = run as PromiseLike<void>);
        const settle = (failed: boolean) => () => {
          entry.failed = failed;
          if (entry.pending === pending) entry.pending = undefined;
        };
        pending.then(settle(false), settle(true));
      }
      given.set(from, entry);
      return run;
    },
    of: (from) => given.get(from)?.context,
    reuse(from, to, context) {
      const entry = given.get(from);
      if (entry === undefined || entry.failed || !sameContext(entry.context, context)) return;
      given.set(to, entry);
      return { pending: entry.pending as Promise<void> | undefined };
    },
  };
}

/** Same attributes, same values (contexts are flat; nested values are compared by identity). */
function sameContext(a: EvaluationContext, b: EvaluationContext): boolean {
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length && keys.every((k) => k in b && Object.is(a[k], b[k]))
  );
}
