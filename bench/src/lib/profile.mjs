// Attribution of a V8 CPU profile (the inspector's Profiler, what `--cpu-prof` uses) to
// graylane's own code (`packages/*/dist`), the framework (`node_modules`), Node internals and the
// rest. Shared by bench/src/profile.mjs (the CLI) and suites/profile.mjs (the goal).

/** Which bucket a profile node's self time belongs to. */
export function bucket(url) {
  if (/\/packages\/[^/]+\/dist\//.test(url)) return 'graylane';
  if (url.includes('/node_modules/')) return 'framework';
  if (url.startsWith('node:') || url === '') return 'node';
  return 'other';
}

/**
 * Self time per bucket and per graylane function, in µs, and the sample counts (all, idle,
 * graylane's), from a V8 CPU profile.
 */
export function attribute(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const hits = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
    hits.set(id, (hits.get(id) ?? 0) + 1);
  }
  const buckets = { graylane: 0, framework: 0, node: 0, other: 0, idle: 0 };
  const fns = new Map();
  let graylaneSamples = 0;
  let idleSamples = 0;
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id);
    if (['(idle)', '(program)', '(garbage collector)'].includes(callFrame.functionName)) {
      const idle = callFrame.functionName === '(idle)';
      buckets[idle ? 'idle' : 'node'] += us;
      if (idle) idleSamples += hits.get(id);
      continue;
    }
    const b = bucket(callFrame.url);
    buckets[b] += us;
    if (b === 'graylane') {
      graylaneSamples += hits.get(id);
      const name = `${callFrame.functionName || '(anonymous)'} ${callFrame.url.split('/').slice(-3).join('/')}:${callFrame.lineNumber + 1}`;
      fns.set(name, (fns.get(name) ?? 0) + us);
    }
  }
  return { buckets, fns, graylaneSamples, idleSamples, samples: profile.samples.length };
}
