/**
 * @internal graylane's own plain re-send (no marker, after a redirect or a refused preflight) must
 * stay plain through every graylane hook under it: `installFetch` under `withGray` or under
 * axios' fetch adapter, `installXHR` under axios' XHR adapter. Otherwise the inner hook marks the
 * re-send again, probes, and re-sends a third time. On an init: {@link PLAIN} (a registered
 * symbol, so every copy of the package agrees; axios copies it into the init it hands fetch).
 * Synchronously: while {@link asPlain} runs, or until the current task's microtasks.
 */
export const PLAIN: unique symbol = Symbol.for('graylane.plain') as never;

let depth = 0;

/** Runs `send` with every graylane hook it reaches synchronously leaving the request alone. */
export function asPlain<T>(send: () => T): T {
  depth++;
  try {
    return send();
  } finally {
    depth--;
  }
}

/** The same until the current microtask checkpoint: axios opens its XHR right after transforms. */
export function plainUntilMicrotask(): void {
  depth++;
  queueMicrotask(() => depth--);
}

/** True when a request (by its init, or now) is graylane's own plain re-send. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any init shape, even a primitive
export const isPlain = (init?: any): boolean => depth > 0 || !!init?.[PLAIN];
