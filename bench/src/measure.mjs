// Interleaved ops/s measurement: every candidate runs in each round, so machine noise hits all of
// them alike; the median over rounds is reported, and ratios compare medians from the same run.

/**
 * Runs every candidate in each of `rounds` rounds (`minMs` each) after a warm-up; returns the
 * median ops/s per candidate. `compareOpsRounds` also returns every round's figure, so ratios
 * can be taken per round (candidate and baseline ran back to back) and judged on their spread.
 * @param {Record<string, (i: number) => unknown>} candidates
 */
export function compareOps(candidates, options) {
  return compareOpsRounds(candidates, options).median;
}

/** @param {Record<string, (i: number) => unknown>} candidates */
export function compareOpsRounds(candidates, { rounds = 9, minMs = 150, onRound } = {}) {
  const names = Object.keys(candidates);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  let sink = 0;
  for (const name of names) for (let i = 0; i < 20_000; i++) sink ^= hashish(candidates[name](i));
  for (let r = 0; r < rounds; r++) {
    // Alternate the order, so no candidate always runs right after the same neighbour.
    for (const name of r % 2 ? [...names].reverse() : names) {
      const fn = candidates[name];
      let ops = 0;
      const start = performance.now();
      let now = start;
      while (now - start < minMs) {
        for (let k = 0; k < 1000; k++) sink ^= hashish(fn(ops++));
        now = performance.now();
      }
      samples[name].push((ops / (now - start)) * 1000);
    }
    onRound?.(r + 1, rounds);
  }
  if (sink === 0.5) console.log('');
  return {
    median: Object.fromEntries(names.map((n) => [n, median(samples[n])])),
    rounds: samples,
  };
}

/** Per-round ratios a ÷ b from `compareOpsRounds(...).rounds`. */
export const roundRatios = (rounds, a, b) => rounds[a].map((x, i) => x / rounds[b][i]);

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
}

function hashish(v) {
  return typeof v === 'string' ? v.length : v ? 1 : 0;
}

export const fmt = (n) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(1);

export function goal(name, ratio, target, direction = '>=') {
  const pass = direction === '>=' ? ratio >= target : ratio <= target;
  return { name, ratio: Number(ratio.toFixed(2)), target: `${direction} ${target}`, pass };
}
