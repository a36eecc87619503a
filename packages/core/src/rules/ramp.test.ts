import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/parse.js';
import type { CompiledRule } from '../config/types.js';
import { bucket } from '../hash/bucket.js';
import { bucketHeaderValue } from './bucket-header.js';
import { decide } from './evaluate.js';
import { explain, formatExplanation } from './explain.js';
import { describeArms, shareAt } from './ramp.js';

/** A beta ramp: 0 % before 09:00Z, then 1 → 5 → 25 → 50 %. */
const RAMP = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [
    {
      id: 'ramp',
      split: [
        { version: 'beta', weight: 0 },
        { version: 'stable', weight: 100 },
      ],
      bucketBy: 'cookie:gray_uid',
      schedule: [
        { at: '2026-12-01T09:00:00Z', split: arms(1) },
        // 14:30 in India is 09:00 UTC: offsets are instants, never local times (WT-07).
        { at: '2026-12-02T14:30:00+05:30', split: arms(5) },
        { at: '2026-12-03T10:00:00+01:00', split: arms(25) },
        { at: '2026-12-04T09:00:00.000Z', split: arms(50) },
      ],
    },
  ],
};
function arms(beta: number, total = 100) {
  return [
    { version: 'beta', weight: beta },
    { version: 'stable', weight: total - beta },
  ];
}
const at = (iso: string) => Date.parse(iso);
const config = parseConfig(RAMP);
const rule = config.rules[0] as Extract<CompiledRule, { kind: 'split' }>;

/** Share of beta among n deterministic subjects at `now`. */
function betaShare(cfg = config, now: number, n = 20_000): number {
  let beta = 0;
  for (let i = 0; i < n; i++)
    if (decide(cfg, { cookies: { gray_uid: `u-${i}` }, now }).version === 'beta') beta++;
  return beta / n;
}

describe('scheduled ramps (issue 19)', () => {
  it.each([
    // [instant, step index, beta share in basis points]
    ['2026-12-01T08:59:59.999Z', -1, 0],
    ['2026-12-01T09:00:00Z', 0, 100],
    ['2026-12-01T10:00:00+01:00', 0, 100], // = 09:00Z, exactly at the step
    ['2026-12-02T08:59:59.999Z', 0, 100],
    ['2026-12-02T09:00:00Z', 1, 500],
    ['2026-12-02T14:30:00+05:30', 1, 500],
    ['2026-12-02T14:29:59.999+05:30', 0, 100],
    ['2026-12-03T08:59:59.999Z', 1, 500],
    ['2026-12-03T09:00:00Z', 2, 2500],
    ['2026-12-04T08:59:59.999Z', 2, 2500],
    ['2026-12-04T09:00:00Z', 3, 5000],
    ['2030-01-01T00:00:00Z', 3, 5000],
  ] as const)(
    'WT-06 WT-07 steps are half-open [at, nextAt) in UTC: %s → step %d',
    (iso, step, bp) => {
      const share = shareAt(rule, at(iso));
      expect(share.step).toBe(step);
      expect(share.arms[0]).toEqual({ version: 'beta', end: bp });
      expect(share.paused).toBe(false);
    },
  );

  it('WT-06 a subject in the growing band flips exactly at the step instant, not 1 ms before', () => {
    // A subject whose bucket is in [100, 500): stable at 1 %, beta from the 5 % step on.
    let subject = '';
    for (let i = 0; !subject; i++) {
      const b = bucket('ramp', `s-${i}`);
      if (b >= 100 && b < 500) subject = `s-${i}`;
    }
    const step = at('2026-12-02T09:00:00Z');
    const get = (now: number) => decide(config, { cookies: { gray_uid: subject }, now }).version;
    expect([get(step - 1), get(step), get(step + 1)]).toEqual(['stable', 'beta', 'beta']);
  });

  it('WT-01 the share in force is the share served (20,000 subjects per step, ±1.5 pp)', () => {
    for (const [iso, expected] of [
      ['2026-12-01T12:00:00Z', 0.01],
      ['2026-12-02T12:00:00Z', 0.05],
      ['2026-12-03T12:00:00Z', 0.25],
      ['2026-12-04T12:00:00Z', 0.5],
    ] as const)
      expect(Math.abs(betaShare(config, at(iso)) - expected)).toBeLessThan(0.015);
  });

  it('WT-03 P7 monotonic: over random increasing schedules, a subject admitted stays admitted', () => {
    // Random ramps of 2–5 steps, beta first or last, percent or basis points; random subjects.
    const ramp = fc
      .record({
        weights: fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), {
          minLength: 2,
          maxLength: 5,
        }),
        betaFirst: fc.boolean(),
        start: fc.integer({ min: 0, max: 2_000_000_000_000 }),
        gaps: fc.array(fc.integer({ min: 1, max: 10 ** 9 }), { minLength: 5, maxLength: 5 }),
      })
      .map(({ weights, betaFirst, start, gaps }) => {
        const sorted = [...weights].sort((a, b) => a - b);
        const split = (w: number) => {
          const a = [
            { version: 'beta', weight: w },
            { version: 'stable', weight: 10_000 - w },
          ];
          return betaFirst ? a : a.reverse();
        };
        let t = start;
        const schedule = sorted.slice(1).map((w, i) => {
          t += gaps[i] as number;
          return { at: new Date(t).toISOString(), split: split(w) };
        });
        return {
          doc: {
            versions: ['stable', 'beta'],
            default: 'stable',
            rules: [{ id: 'p7', split: split(sorted[0] as number), bucketBy: 'attr:id', schedule }],
          },
          instants: [start - 1, ...schedule.map((s) => Date.parse(s.at))],
        };
      });
    fc.assert(
      fc.property(ramp, fc.array(fc.string(), { minLength: 1, maxLength: 30 }), (r, ids) => {
        const cfg = parseConfig(r.doc);
        for (const id of ids) {
          if (id === '') continue;
          let admitted = false;
          for (const now of r.instants) {
            const beta = decide(cfg, { attrs: { id }, now }).version === 'beta';
            if (admitted) expect(beta).toBe(true);
            admitted = beta;
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('WT-08 only the server clock counts: request headers or a cookie naming a time are ignored', () => {
    const before = at('2026-12-01T08:00:00Z');
    const subject = { gray_uid: 'u-1' };
    const base = decide(config, { cookies: subject, now: before });
    for (const headers of [
      { 'x-gray-now': '2030-01-01T00:00:00Z' },
      { date: 'Wed, 01 Jan 2030 00:00:00 GMT' },
      { baggage: 'now=2030-01-01T00:00:00Z' },
    ])
      expect(decide(config, { headers, cookies: subject, now: before })).toEqual(base);
    expect(base.version).toBe('stable');
  });

  it('pausedAt freezes the schedule at the step in force then; a future pausedAt changes nothing yet', () => {
    const paused = (pausedAt: string) =>
      parseConfig({ ...RAMP, rules: [{ ...RAMP.rules[0], pausedAt }] }).rules[0] as Extract<
        CompiledRule,
        { kind: 'split' }
      >;
    const p = paused('2026-12-02T12:00:00Z');
    expect(shareAt(p, at('2026-12-10T00:00:00Z'))).toMatchObject({ step: 1, paused: true });
    expect(shareAt(p, at('2026-12-02T11:00:00Z'))).toMatchObject({ step: 1, paused: false });
    expect(shareAt(p, at('2026-12-01T11:00:00Z'))).toMatchObject({ step: 0, paused: false });
    // Paused exactly at a step instant: that step is in force (half-open).
    expect(shareAt(paused('2026-12-03T09:00:00Z'), at('2027-01-01T00:00:00Z')).step).toBe(2);
    const cfg = parseConfig({
      ...RAMP,
      rules: [{ ...RAMP.rules[0], pausedAt: '2026-12-02T12:00:00Z' }],
    });
    expect(Math.abs(betaShare(cfg, at('2026-12-20T00:00:00Z')) - 0.05)).toBeLessThan(0.015);
  });

  it('explain names the step in force, the share and the pause', () => {
    const e = explain(config, { cookies: { gray_uid: 'u-1' }, now: at('2026-12-02T10:00:00Z') });
    const text = formatExplanation(e);
    expect(text).toContain(
      'schedule at 2026-12-02T10:00:00.000Z: step 2 of 4 → beta 5%, stable 95%',
    );
    const before = formatExplanation(
      explain(config, { cookies: { gray_uid: 'u-1' }, now: at('2026-11-01T00:00:00Z') }),
    );
    expect(before).toContain('before the first step → beta 0%, stable 100%');
    expect(describeArms(rule.schedule[0]?.arms ?? [])).toBe('beta 1%, stable 99%');
  });
});

describe('bucketBy fallback chain (issue 19)', () => {
  const chain = parseConfig({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [
      {
        id: 'c',
        split: arms(50),
        bucketBy: ['attr:userId', 'cookie:gray_uid', 'header:X-Device'],
      },
    ],
  });
  it.each([
    // [request, the subject that must be hashed, or undefined for "split skipped"]
    [{ attrs: { userId: 'u7' }, cookies: { gray_uid: 'anon' } }, 'u7'],
    [{ attrs: { userId: '' }, cookies: { gray_uid: 'anon' } }, 'anon'],
    [{ attrs: { userId: null }, cookies: { gray_uid: 'anon' } }, 'anon'],
    [{ attrs: { userId: 'x'.repeat(10_000) }, cookies: { gray_uid: 'anon' } }, 'anon'],
    [{ cookies: { gray_uid: 'anon' }, headers: { 'x-device': 'd1' } }, 'anon'],
    [{ cookies: { gray_uid: '' }, headers: { 'x-device': 'd1' } }, 'd1'],
    [{ headers: { 'x-device': 'd1' } }, 'd1'],
    [{ attrs: { userId: 42 } }, '42'],
    [
      { attrs: (n: string) => (n === 'userId' ? 'u9' : undefined), cookies: { gray_uid: 'a' } },
      'u9',
    ],
    [{}, undefined],
    [{ attrs: { userId: '' }, cookies: { gray_uid: '' }, headers: { 'x-device': '' } }, undefined],
  ] as const)('WT-05 chain order: %j hashes %s', (request, subject) => {
    const d = decide(chain, request);
    if (subject === undefined) expect(d).toMatchObject({ reason: 'default', version: 'stable' });
    else expect(d).toMatchObject({ reason: 'weight', bucket: bucket('c', subject) });
  });

  it('the string form and a one-element list hash the same', () => {
    const one = (bucketBy: unknown) =>
      parseConfig({
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: [{ id: 'r', split: arms(50), bucketBy }],
      });
    const a = one('cookie:gray_uid');
    const b = one(['cookie:gray_uid']);
    for (let i = 0; i < 200; i++) {
      const req = { cookies: { gray_uid: `v-${i}` } };
      expect(decide(a, req)).toEqual(decide(b, req));
    }
  });
});

describe('bucketVersion (issue 19)', () => {
  const withVersion = (bucketVersion?: number) =>
    parseConfig({
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [
        {
          id: 'rr',
          split: arms(50),
          bucketBy: 'attr:id',
          ...(bucketVersion ? { bucketVersion } : {}),
        },
      ],
    });

  it('I9 golden: without the field (or with 1) every assignment is today’s bucket(ruleId, subject)', () => {
    // Pinned murmur3("rr:<id>") % 10000 values, taken from the released hash before
    // bucketVersion existed: a config without the field must keep every one of them.
    const golden = {
      'g-0': 3520,
      'g-1': 9182,
      'g-2': 4538,
      'g-3': 9998,
      'g-4': 2578,
      'g-5': 2267,
      'g-6': 4314,
      'g-7': 6856,
    };
    for (const cfg of [withVersion(), withVersion(1)])
      for (const [id, b] of Object.entries(golden))
        expect(decide(cfg, { attrs: { id } })).toMatchObject({ bucket: b });
  });

  it('re-roll: between two bucket versions at 50 %, about half of 20,000 subjects change version', () => {
    const v1 = withVersion();
    const v2 = withVersion(2);
    const v3 = withVersion(3);
    let moved12 = 0;
    let moved23 = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const req = { attrs: { id: `m-${i}` } };
      const a = decide(v1, req).version;
      const b = decide(v2, req).version;
      if (a !== b) moved12++;
      if (b !== decide(v3, req).version) moved23++;
    }
    // Independent 50/50 assignments disagree half the time: σ ≈ 0.35 pp, ±2 pp ≈ 6σ.
    expect(Math.abs(moved12 / n - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(moved23 / n - 0.5)).toBeLessThan(0.02);
    expect((v2.rules[0] as { salt: string }).salt).toBe('rr/v2');
  });
});

describe('one bucket for every layer (issue 19)', () => {
  it.each([
    [{ version: 'beta', reason: 'weight', source: 'rules', bucket: 0 }, '0', '0'],
    [{ version: 'beta', reason: 'weight', source: 'rules', bucket: 499 }, '499', '4'],
    [{ version: 'stable', reason: 'weight', source: 'rules', bucket: 9999 }, '9999', '99'],
    [{ version: 'beta', reason: 'rule', source: 'rules' }, undefined, undefined],
    [{ version: 'beta', reason: 'marker', source: 'header' }, undefined, undefined],
    [{ version: 'stable', reason: 'default', source: 'default' }, undefined, undefined],
    [{ version: 'beta', reason: 'weight', source: 'rules', bucket: 10_000 }, undefined, undefined],
    [{ version: 'beta', reason: 'weight', source: 'rules', bucket: -1 }, undefined, undefined],
    [{ version: 'beta', reason: 'weight', source: 'rules', bucket: 1.5 }, undefined, undefined],
    [
      { version: 'beta', reason: 'weight', source: 'rules', bucket: Number.NaN },
      undefined,
      undefined,
    ],
  ] as const)('bucketHeaderValue(%j) = %s (percent: %s), never throws', (d, bp, pct) => {
    expect(bucketHeaderValue(d as never)).toBe(bp);
    expect(bucketHeaderValue(d as never, 'percent')).toBe(pct);
  });

  it('Envoy’s pick (value % total, cumulative clusters in order) on the header agrees with decide', () => {
    const cfg = parseConfig({
      versions: ['stable', 'beta', 'canary'],
      default: 'stable',
      rules: [
        {
          id: 'three',
          split: [
            { version: 'canary', weight: 3 },
            { version: 'beta', weight: 12 },
            { version: 'stable', weight: 85 },
          ],
          bucketBy: 'attr:id',
        },
      ],
    });
    const clusters = [
      ['canary', 300],
      ['beta', 1200],
      ['stable', 8500],
    ] as const;
    const envoyPick = (value: number) => {
      const selected = value % 10_000;
      let begin = 0;
      for (const [name, weight] of clusters) {
        if (selected >= begin && selected < begin + weight) return name;
        begin += weight;
      }
      return undefined;
    };
    for (let i = 0; i < 5000; i++) {
      const d = decide(cfg, { attrs: { id: `e-${i}` } });
      expect(envoyPick(Number(bucketHeaderValue(d)))).toBe(d.version);
    }
  });
});
