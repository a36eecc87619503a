import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/parse.js';
import { re2, SAMPLE, splitConfig } from '../../test/fixtures.js';
import { decide } from './evaluate.js';
import { explain } from './explain.js';

const config = parseConfig(SAMPLE, { regex: re2 });
const IN_WINDOW = Date.parse('2026-12-15T00:00:00Z');

describe('decide', () => {
  it('no rule matches → default', () => {
    expect(decide(config, {})).toEqual({ version: 'stable', reason: 'default', source: 'default' });
  });

  it('first matching rule wins; header names are case-insensitive in the config', () => {
    const upper = parseConfig({
      ...SAMPLE,
      rules: [
        { id: 'qa', match: { header: { 'X-User-Group': { equals: 'qa' } } }, version: 'beta' },
      ],
    });
    expect(decide(upper, { headers: { 'x-user-group': 'qa' } })).toMatchObject({
      version: 'beta',
      reason: 'rule',
      ruleId: 'qa',
    });
    expect(
      decide(config, { headers: { 'x-user-group': 'qa' }, cookies: { gray_uid: 'u1' } }).ruleId,
    ).toBe('qa');
  });

  it('all conditions of a rule must hold', () => {
    const req = { path: '/api/checkout/pay', now: IN_WINDOW };
    expect(decide(config, { ...req, cookies: { region: 'sh' } }).ruleId).toBe('checkout');
    expect(decide(config, { ...req, cookies: { region: 'gz' } }).ruleId).toBeUndefined();
  });

  it('getters work as lookups, and a throwing getter counts as absent (I1)', () => {
    expect(
      decide(config, { headers: (n) => (n === 'x-user-group' ? 'qa' : undefined) }).version,
    ).toBe('beta');
    const boom = () => {
      throw new Error('boom');
    };
    expect(
      decide(config, { headers: boom, cookies: boom, query: boom, attrs: boom }),
    ).toMatchObject({ version: 'stable' });
  });

  it.each(['toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'])(
    'HDR-11 a rule on cookie %s does not see Object.prototype members',
    (name) => {
      const c = parseConfig({
        ...SAMPLE,
        rules: [{ id: 'p', match: { cookie: { [name]: { exists: true } } }, version: 'beta' }],
      });
      expect(decide(c, { cookies: {} }).version).toBe('stable');
      expect(decide(c, { cookies: { [name]: 'x' } }).version).toBe('beta');
    },
  );

  it.each(['__proto__', 'constructor'])(
    'HDR-11 request input keyed %s changes nothing and pollutes nothing',
    (name) => {
      const polluted = JSON.parse(`{"${name}":{"x-user-group":"qa","polluted":"yes"}}`);
      expect(
        decide(config, { headers: polluted, cookies: polluted, query: polluted, attrs: polluted })
          .version,
      ).toBe('stable');
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    },
  );

  it('matchers: equals, in, prefix, suffix, regex, exists', () => {
    const c = parseConfig(
      {
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: [
          { id: 'eq', match: { method: { equals: 'DELETE' } }, version: 'beta' },
          { id: 'in', match: { query: { tier: { in: ['gold', 'vip'] } } }, version: 'beta' },
          { id: 'suffix', match: { host: { suffix: '.beta.example' } }, version: 'beta' },
          { id: 'rx', match: { attrs: { userId: { regex: '^9\\d{2}$' } } }, version: 'beta' },
          { id: 'ex', match: { header: { 'x-canary': { exists: true } } }, version: 'beta' },
        ],
      },
      { regex: re2 },
    );
    expect(decide(c, { method: 'DELETE' }).ruleId).toBe('eq');
    expect(decide(c, { query: { tier: 'vip' } }).ruleId).toBe('in');
    expect(decide(c, { host: 'shop.beta.example' }).ruleId).toBe('suffix');
    expect(decide(c, { attrs: { userId: 912 } }).ruleId).toBe('rx');
    expect(decide(c, { attrs: { userId: 1912 } }).ruleId).toBeUndefined();
    expect(decide(c, { headers: { 'x-canary': '' } }).ruleId).toBe('ex');
    expect(decide(c, { headers: {} }).ruleId).toBeUndefined();
  });

  it('reports the ignored marker when the default is served because of it', () => {
    expect(decide(config, {}, { rejected: { source: 'header', reason: 'unknown' } })).toEqual({
      version: 'stable',
      reason: 'unknown_version',
      source: 'default',
      rejected: { source: 'header', reason: 'unknown' },
    });
  });
});

describe('WT time windows', () => {
  const from = Date.parse('2026-12-01T00:00:00Z');
  const until = Date.parse('2027-01-01T00:00:00Z');
  const req = (now: number) => ({ path: '/api/checkout', cookies: { region: 'bj' }, now });

  it.each([
    [from - 1, 'outside_window'],
    [from, 'rule'],
    [until - 1, 'rule'],
    [until, 'outside_window'],
  ] as const)('WT-06 half-open [from, until): at %i → %s', (now, reason) => {
    expect(decide(config, req(now)).reason).toBe(reason);
  });

  it('WT-07 windows with an offset are absolute instants; DST transitions do not shift them', () => {
    const c = parseConfig({
      ...SAMPLE,
      rules: [
        {
          id: 'w',
          version: 'beta',
          window: { from: '2026-03-29T02:30:00+01:00', until: '2026-10-25T03:00:00+01:00' },
        },
      ],
    });
    expect(decide(c, { now: Date.parse('2026-03-29T01:29:59.999Z') }).version).toBe('stable');
    expect(decide(c, { now: Date.parse('2026-03-29T01:30:00Z') }).version).toBe('beta');
    expect(decide(c, { now: Date.parse('2026-10-25T01:59:59.999Z') }).version).toBe('beta');
    expect(decide(c, { now: Date.parse('2026-10-25T02:00:00Z') }).version).toBe('stable');
  });

  it('WT-08 a time supplied by the request is ignored; only request.now (the server clock) counts', () => {
    const outside = Date.parse('2026-06-01T00:00:00Z');
    const r = {
      path: '/api/checkout',
      cookies: { region: 'sh', now: String(IN_WINDOW) },
      headers: { 'x-gray-now': '2026-12-15T00:00:00Z' },
      query: { currentTime: '2026-12-15T00:00:00Z' },
      now: outside,
    };
    expect(decide(config, r).reason).toBe('outside_window');
  });

  it('WT-09 clock jumps are honoured on the next evaluation; a bad clock value falls back to Date.now', () => {
    expect(decide(config, req(IN_WINDOW)).reason).toBe('rule');
    expect(decide(config, req(IN_WINDOW + 86_400_000 * 30)).reason).toBe('outside_window');
    expect(decide(config, req(IN_WINDOW - 3_600_000)).reason).toBe('rule');
    expect(() => decide(config, req(Number.NaN))).not.toThrow();
  });
});

describe('WT weights', () => {
  const ids = Array.from({ length: 100_000 }, (_, i) => `user-${i}-${(i * 2654435761) % 1000003}`);

  it('WT-01 10/90 over 100,000 ids lands within 10% ± 1 pp, and buckets are uniform (χ² over 10 bins)', () => {
    const c = parseConfig(splitConfig(10));
    let beta = 0;
    const bins = new Array<number>(10).fill(0);
    for (const userId of ids) {
      const d = decide(c, { attrs: { userId } });
      if (d.version === 'beta') beta++;
      bins[Math.floor((d.bucket as number) / 1000)]! += 1;
    }
    expect(Math.abs(beta / ids.length - 0.1)).toBeLessThan(0.01);
    const expected = ids.length / 10;
    const chi2 = bins.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(27.88); // χ²(9) critical value at p = 0.001
  });

  it('WT-02 the same id gets the same result 10,000 times', () => {
    const c = parseConfig(splitConfig(37));
    const first = decide(c, { attrs: { userId: 'sticky-user' } });
    for (let i = 0; i < 10_000; i++)
      expect(decide(c, { attrs: { userId: 'sticky-user' } })).toEqual(first);
  });

  it('WT-03 ramp 10 → 20 → 50 → 100 is monotonic: nobody leaves beta', () => {
    const ramps = [10, 20, 50, 100].map((w) => parseConfig(splitConfig(w)));
    for (const userId of ids.slice(0, 20_000)) {
      const seq = ramps.map((c) => decide(c, { attrs: { userId } }).version);
      const firstBeta = seq.indexOf('beta');
      if (firstBeta !== -1) expect(seq.slice(firstBeta).every((v) => v === 'beta')).toBe(true);
    }
  });

  it('WT-04 weights 0 and 100 give exactly 0% and 100%, including the edge buckets', () => {
    const zero = parseConfig(splitConfig(0));
    const all = parseConfig(splitConfig(100));
    for (const userId of ids.slice(0, 20_000)) {
      expect(decide(zero, { attrs: { userId } }).version).toBe('stable');
      expect(decide(all, { attrs: { userId } }).version).toBe('beta');
    }
    const bp = parseConfig({
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [
        {
          id: 'r',
          split: [
            { version: 'beta', weight: 1 },
            { version: 'stable', weight: 9999 },
          ],
          bucketBy: 'attr:u',
        },
      ],
    });
    const seen = new Map<number, string>();
    for (let i = 0; i < 200_000 && seen.size < 2; i++) {
      const d = decide(bp, { attrs: { u: `edge-${i}` } });
      if (d.bucket === 0 || d.bucket === 9999) seen.set(d.bucket, d.version);
    }
    expect(seen.get(0)).toBe('beta');
    expect(seen.get(9999)).toBe('stable');
  });

  it('WT-05 empty, absent or 10 KB subjects skip the split with a defined outcome', () => {
    const c = parseConfig(splitConfig(100));
    expect(decide(c, { attrs: {} })).toEqual({
      version: 'stable',
      reason: 'default',
      source: 'default',
    });
    expect(decide(c, { attrs: { userId: '' } }).reason).toBe('default');
    expect(decide(c, { attrs: { userId: 'x'.repeat(10_240) } }).reason).toBe('default');
    expect(decide(c, { attrs: { userId: 'x'.repeat(1024) } }).reason).toBe('weight');
  });
});

describe('RX regex evaluation', () => {
  const patterns = ['^(a+)+$', '(a|a)*$', '.*x.*y'];
  const rx = (pattern: string) =>
    parseConfig(
      {
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: [{ id: 'rx', match: { header: { 'x-s': { regex: pattern } } }, version: 'beta' }],
      },
      { regex: re2 },
    );

  it.each(patterns)(
    'RX-01 %s on 256-char adversarial subjects stays linear (10,000 evaluations)',
    (pattern) => {
      const c = rx(pattern);
      const subject = 'a'.repeat(255) + '!';
      const times: number[] = [];
      for (let i = 0; i < 10_000; i++) {
        const t = performance.now();
        decide(c, { headers: { 'x-s': subject } });
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      // A backtracking engine takes seconds per call here; linear time stays far below 50 ms.
      expect(times[Math.floor(times.length * 0.99)]).toBeLessThan(50);
    },
  );

  it('RX-02 subjects over 256 characters never match and the engine is not run', () => {
    let calls = 0;
    const counting = { name: 'counting', compile: () => (s: string) => (calls++, s.length > 0) };
    const c = parseConfig(
      {
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: [{ id: 'rx', match: { path: { regex: '.' } }, version: 'beta' }],
      },
      { regex: counting },
    );
    expect(decide(c, { path: 'a'.repeat(257) }).version).toBe('stable');
    expect(calls).toBe(0);
    expect(decide(c, { path: 'a'.repeat(256) }).version).toBe('beta');
    expect(calls).toBe(1);
  });

  it.each([undefined, null, 42, true, [1], { a: 1 }])(
    'RX-03 non-string subject %j never matches',
    (value) => {
      const c = rx('.*');
      expect(decide(c, { headers: { 'x-s': value as never } }).version).toBe('stable');
    },
  );

  it('RX-04 compiled regexes belong to their config: 10,000 distinct patterns across reloads leave no global cache', () => {
    const compiled = new Set<string>();
    const engine = { name: 'tracking', compile: (p: string) => (compiled.add(p), () => false) };
    for (let i = 0; i < 100; i++) {
      const rules = Array.from({ length: 100 }, (_, j) => ({
        id: `r${j}`,
        match: { path: { regex: `^/p${i}-${j}$` } },
        version: 'beta',
      }));
      parseConfig({ versions: ['stable', 'beta'], default: 'stable', rules }, { regex: engine });
    }
    // Each load compiled its own patterns (no hidden memoisation that could grow forever).
    expect(compiled.size).toBe(10_000);
  });
});

describe('decide: each request value is read once per call (issue 20)', () => {
  const doc = (n: number) => ({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [
      ...Array.from({ length: n }, (_, i) => ({
        id: `t${i}`,
        match: {
          attrs: { plan: { equals: `plan-${i}` }, tier: { in: ['gold', `t${i}`] } },
          header: { 'x-group': { in: ['qa', `g${i}`] } },
        },
        version: 'beta',
      })),
      {
        id: 'canary',
        split: [
          { version: 'beta', weight: 50 },
          { version: 'stable', weight: 50 },
        ],
        bucketBy: 'attr:userId',
      },
    ],
  });
  it.each([
    ['no rule matches, the split decides', { plan: 'free', tier: 'gold' }, 'qa', 'weight'],
    ['the last targeting rule matches', { plan: 'plan-9', tier: 'gold' }, 'qa', 'rule'],
    ['a header mismatch ends each rule early', { plan: 'plan-3', tier: 'gold' }, 'ops', 'weight'],
    ['an attribute mismatch ends each rule early', { plan: 'x', tier: 'lead' }, 'qa', 'weight'],
    ['absent values are read once too', {}, undefined, 'weight'],
  ])('%s', (_label, values: Record<string, string>, group, reason) => {
    const config = parseConfig(doc(10));
    const reads = new Map<string, number>();
    const attrs = (name: string): string | undefined => {
      reads.set(name, (reads.get(name) ?? 0) + 1);
      return name === 'userId' ? 'u-1' : values[name];
    };
    const request = { attrs, headers: group === undefined ? {} : { 'x-group': group } };
    const d = decide(config, request);
    expect(d.reason).toBe(reason);
    // 10 rules test `plan` and `tier`: without the per-call cache that is up to 10 reads each.
    expect(reads.size).toBeGreaterThan(0);
    expect([...reads].filter(([, count]) => count !== 1)).toEqual([]);
    reads.clear();
    // explain tests every condition of every rule, through the same cache.
    expect(explain(config, request).decision).toEqual(d);
    expect([...reads].filter(([, count]) => count !== 1)).toEqual([]);
    expect(reads.get('plan')).toBe(1);
  });
});
