/**
 * Time budget for fast-check properties (RELIABILITY §4): unbounded runs inside a time box,
 * 10 s per property in `npm test` (CI included: its whole run has a 25-minute budget), 60 s in
 * `npm run fuzz`. Override with GRAYLANE_FC_SECONDS.
 */
export function propertyBudget(): { numRuns: number; interruptAfterTimeLimit: number } {
  const fromEnv = Number(process.env['GRAYLANE_FC_SECONDS']);
  const seconds = Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 10;
  return { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000 };
}

/** Test timeout that leaves room for the property budget. */
export function propertyTimeout(): number {
  return propertyBudget().interruptAfterTimeLimit + 30_000;
}
