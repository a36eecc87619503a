// The verdict rule for ratio goals. A goal is measured as one ratio per interleaved round (the
// candidate and its baseline ran back to back in that round), and judged on the median of those
// ratios with a distribution-free (sign-test) 95 % one-sided confidence bound:
//   PASS  the bound on the far side of the goal is still within it
//         (≤ goals: the upper bound of the median ≤ target; ≥ goals: the lower bound ≥ target);
//   FAIL  even the bound on the near side misses it;
//   OPEN  the spread of the rounds straddles the goal: not resolved, more rounds or a quieter
//         machine are needed. An open goal is not met.
// The bound is an order statistic of the rounds: for n = 5..7 rounds it is the max (min), for
// n = 9 the second largest (smallest), for n = 15 the fourth. Fewer than 5 rounds resolve nothing.

export const CONFIDENCE = 0.95;

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** P(Binomial(n, 1/2) ≥ k). */
function tail(n, k) {
  let sum = 0;
  let c = 1; // C(n, 0)
  for (let i = 0; i <= n; i++) {
    if (i >= k) sum += c;
    c = (c * (n - i)) / (i + 1);
  }
  return sum / 2 ** n;
}

/**
 * One-sided bounds on the median of `xs` at `confidence`: `upper` is the smallest order
 * statistic X(k) with P(median > X(k)) ≤ 1 − confidence, `lower` its mirror. Undefined when
 * there are too few rounds to bound the median at all.
 */
export function medianBounds(xs, confidence = CONFIDENCE) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  for (let k = Math.ceil(n / 2); k <= n; k++) {
    // P(median > X(k)) = P(at least k of n rounds below the median) = tail(n, k)
    if (tail(n, k) <= 1 - confidence) return { lower: s[n - k], upper: s[k - 1], k };
  }
  return undefined;
}

/** Median, min, max and the bounds of per-round ratios. */
export function spread(xs) {
  return {
    n: xs.length,
    median: median(xs),
    min: Math.min(...xs),
    max: Math.max(...xs),
    bounds: medianBounds(xs),
  };
}

const round2 = (x) => Number(x.toFixed(2));

/**
 * A goal judged on per-round ratios (see the rule at the top of this file).
 * @param {string} name
 * @param {number[]} ratios one per interleaved round
 * @param {number} target
 * @param {'<=' | '>='} direction
 */
export function ratioGoal(name, ratios, target, direction = '<=') {
  const s = spread(ratios);
  const le = direction === '<=';
  let verdict = 'OPEN';
  if (s.bounds) {
    const far = le ? s.bounds.upper : s.bounds.lower;
    const near = le ? s.bounds.lower : s.bounds.upper;
    if (le ? far <= target : far >= target) verdict = 'PASS';
    else if (le ? near > target : near < target) verdict = 'FAIL';
  }
  return {
    name,
    ratio: round2(s.median),
    min: round2(s.min),
    max: round2(s.max),
    bound: s.bounds ? round2(le ? s.bounds.upper : s.bounds.lower) : null,
    rounds: s.n,
    target: `${direction} ${target}`,
    verdict,
    pass: verdict === 'PASS',
  };
}

/**
 * A goal on a value estimated from sampled counts (a CPU profile): `count` samples of
 * `unit` each, divided by `per`. The bound is the count's one-sided 95 % Poisson bound.
 */
export function sampledGoal(name, { count, unit, per }, target, direction = '<=') {
  const z = 1.645;
  const value = (count * unit) / per;
  const upper = ((count + z * Math.sqrt(count) + 1) * unit) / per;
  const lower = (Math.max(0, count - z * Math.sqrt(count)) * unit) / per;
  const le = direction === '<=';
  const far = le ? upper : lower;
  const near = le ? lower : upper;
  const verdict = (le ? far <= target : far >= target)
    ? 'PASS'
    : (le ? near > target : near < target)
      ? 'FAIL'
      : 'OPEN';
  return {
    name,
    ratio: round2(value),
    bound: round2(far),
    samples: count,
    target: `${direction} ${target}`,
    verdict,
    pass: verdict === 'PASS',
  };
}

/** `1.08× (1.02–1.15)`: the median of per-round ratios and their range. */
export const fmtRatio = (xs) => {
  if (!xs?.length) return '—';
  const s = spread(xs);
  return `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
};

/** One line per goal: what it is, the figure, the verdict. */
export function goalLine(g) {
  const verdict = g.verdict ?? (g.pass ? 'PASS' : 'FAIL');
  const detail =
    g.rounds !== undefined
      ? `median ${g.ratio}, rounds ${g.min}–${g.max}, 95 % bound ${g.bound ?? 'n/a'}, ${g.rounds} rounds`
      : g.samples !== undefined
        ? `${g.ratio}, 95 % bound ${g.bound}, ${g.samples} samples`
        : `${g.ratio}`;
  return `${verdict} ${g.name}: ${detail} (goal ${g.target})`;
}
