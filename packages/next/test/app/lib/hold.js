/** Test-only: metadata held until the test releases it (one Next process, one globalThis). */
const HOLDS = Symbol.for('@graylane/next-test.holds');

/** Waits for `release(id)`, at most 20 s. */
export function held(id) {
  const holds = (globalThis[HOLDS] ??= new Map());
  return new Promise((resolve) => {
    holds.set(id, resolve);
    setTimeout(resolve, 20_000);
  });
}

/** Resolves the hold `id`; false when nothing is held under it (yet). */
export function release(id) {
  const resolve = globalThis[HOLDS]?.get(id);
  globalThis[HOLDS]?.delete(id);
  resolve?.();
  return resolve !== undefined;
}
