/**
 * Time budget for fast-check properties (RELIABILITY §4): unbounded runs inside a time box,
 * 20 s per property under CI (60 s in `npm run fuzz`), 10 s locally. Override with GRAYLANE_FC_SECONDS.
 */
export function propertyBudget(): { numRuns: number; interruptAfterTimeLimit: number } {
  const fromEnv = Number(process.env['GRAYLANE_FC_SECONDS']);
  const seconds =
    Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : process.env['CI'] === 'true' ? 20 : 10;
  return { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000 };
}

/** Test timeout that leaves room for the property budget. */
export function propertyTimeout(): number {
  return propertyBudget().interruptAfterTimeLimit + 30_000;
}
