/**
 * @internal graylane's own plain re-send (no marker, after a redirect or a refused preflight) must
 * stay plain through every graylane hook under it: `installFetch` under `withGray` or under
 * axios' fetch adapter, `installXHR` under axios' XHR adapter. Otherwise the inner hook marks the
 * re-send again, probes, and re-sends a third time. On an init: {@link PLAIN} (a registered
 * symbol, so every copy of the package agrees; axios copies it into the init it hands fetch).
 * Synchronously: while {@link asPlain} runs; for axios' XHR adapter, the next XHR opened.
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

let nextXhr = false;

/**
 * The next `XMLHttpRequest` opened before the current microtask ends is graylane's own plain
 * re-send: axios' XHR adapter opens its request synchronously right after the transforms. Taken
 * by that `open()` (so an XHR opened by other code later is not affected), else dropped.
 */
export function plainNextXhr(): void {
  nextXhr = true;
  queueMicrotask(() => (nextXhr = false));
}

/** For `installXHR`'s `open()`: true (once) when this request is graylane's plain re-send. */
export function takePlainXhr(): boolean {
  const taken = nextXhr || depth > 0;
  nextXhr = false;
  return taken;
}

/** True when a request (by its init, or now) is graylane's own plain re-send. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any init shape, even a primitive
export const isPlain = (init?: any): boolean => depth > 0 || !!init?.[PLAIN];
