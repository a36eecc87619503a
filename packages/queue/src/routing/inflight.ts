/** The handlers of one consumer still running, so `close()` can let them finish. */
export interface InFlight {
  /** Returns `value` unchanged; a promise is counted until it settles. */
  track<T>(value: T): T;
  /** Resolves once no tracked handler is running, or after `timeoutMs`, whichever comes first. */
  settle(timeoutMs: number): Promise<void>;
  readonly size: number;
}

/**
 * Tracks the promises message handlers return. A rejection is not swallowed: it is re-raised on
 * a promise nobody handles, so the process reports it exactly as it would the bare handler's
 * (the broker clients ignore what a callback returns). Nothing is kept after a handler settles.
 */
export function createInFlight(): InFlight {
  const running = new Set<Promise<void>>();
  const empty: (() => void)[] = [];
  const done = (p: Promise<void>): void => {
    running.delete(p);
    if (running.size === 0) for (const wake of empty.splice(0)) wake();
  };
  return {
    track(value) {
      if (!isThenable(value)) return value;
      let finish!: () => void;
      const p = new Promise<void>((resolve) => (finish = resolve));
      running.add(p);
      void p.then(() => done(p));
      value.then(finish, (err: unknown) => {
        finish();
        throw err;
      });
      return value;
    },
    settle(timeoutMs) {
      if (running.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          const at = empty.indexOf(wake);
          if (at !== -1) empty.splice(at, 1);
          resolve();
        };
        const timer = setTimeout(wake, timeoutMs);
        empty.push(wake);
      });
    },
    get size() {
      return running.size;
    },
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
