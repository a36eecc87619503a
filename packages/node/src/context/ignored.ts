/**
 * Versions `runWithGray` was asked to bind and ignored (OTB-05), counted once per process: the
 * counter lives at `globalThis[Symbol.for('@graylane/node.context-ignored')]`, so the ESM and CJS
 * builds share it.
 */
export interface IgnoredContextStats {
  /** `runWithGray` calls whose version was not a label (the scope ran without it). */
  readonly malformed: number;
}

const KEY = Symbol.for('@graylane/node.context-ignored');

interface Counter {
  malformed: number;
}

function counter(): Counter {
  const g = globalThis as { [KEY]?: Counter };
  let c = g[KEY];
  if (c === undefined) {
    c = { malformed: 0 };
    g[KEY] = c;
  }
  return c;
}

/** @internal Counts one ignored `runWithGray` version. Never throws. */
export function countMalformedContext(): void {
  counter().malformed++;
}

/**
 * How many `runWithGray` / lane scopes were ignored because their version was malformed.
 *
 * @example
 * ```ts
 * runWithGray('not a label', job); // runs `job` in the enclosing scope
 * ignoredContextStats().malformed; // 1
 * ```
 */
export function ignoredContextStats(): IgnoredContextStats {
  return { malformed: counter().malformed };
}
