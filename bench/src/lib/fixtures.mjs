// Shared fixtures: the 10-rule config every suite uses (the decision suite's shape: N−1
// non-matching targeting rules, then a 5 % split bucketed on the user id).

/** A config document with `n` rules. */
export function rulesDocument(n = 10, extra = {}) {
  const rules = Array.from({ length: n - 1 }, (_, i) => ({
    id: `t${i}`,
    match: { attrs: { plan: { equals: `plan-${i}` } } },
    version: 'beta',
  }));
  rules.push({
    id: 'canary',
    split: [
      { version: 'beta', weight: 5 },
      { version: 'stable', weight: 95 },
    ],
    bucketBy: 'attr:userId',
  });
  return { versions: ['stable', 'beta'], default: 'stable', rules, ...extra };
}

/** A W3C baggage header with `n` members, the graylane key last so both readers scan it all. */
export function baggageHeader(n, props = '') {
  return [
    ...Array.from({ length: n - 1 }, (_, i) => `key${i}=value${i}${props}`),
    'gray=beta',
  ].join(',');
}
