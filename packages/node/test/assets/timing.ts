/**
 * Timing for ratio assertions on a shared, loaded machine: the candidates run interleaved, round
 * after round, and each keeps its fastest round, so a burst of load hits them alike and a
 * stray slow round does not count.
 */
export function fastestInterleaved(
  candidates: readonly (() => void)[],
  rounds = 11,
  repeat = 5,
): number[] {
  const best = candidates.map(() => Infinity);
  for (let round = 0; round < rounds; round++) {
    candidates.forEach((run, i) => {
      const t0 = performance.now();
      for (let r = 0; r < repeat; r++) run();
      best[i] = Math.min(best[i] ?? Infinity, performance.now() - t0);
    });
  }
  return best;
}
