import { describe, expect, it } from 'vitest';
import { parseConfig, validateConfig } from './parse.js';

/** Errors and warnings (path: message) of a one-rule document built from `rule`. */
function issuesOf(rule: Record<string, unknown>): { errors: string[]; warnings: string[] } {
  const r = validateConfig({
    versions: ['stable', 'beta', 'canary'],
    default: 'stable',
    rules: [{ id: 'r', bucketBy: 'attr:id', ...rule }],
  });
  const show = (list: readonly { path: string; message: string }[]) =>
    list.map((e) => `${e.path}: ${e.message}`);
  return { errors: r.ok ? [] : show(r.errors), warnings: show(r.warnings) };
}
const errorsOf = (rule: Record<string, unknown>) => issuesOf(rule).errors;
const warningsOf = (rule: Record<string, unknown>) => issuesOf(rule).warnings;
const arms = (beta: number, total = 100) => [
  { version: 'beta', weight: beta },
  { version: 'stable', weight: total - beta },
];
const base = { split: arms(0) };

describe('schedule validation (issue 19)', () => {
  it.each([
    // [what, rule fields, expected error (substring of "path: message")]
    ['not a list', { schedule: {} }, '$.rules[0].schedule: must list 1 to 64 steps'],
    ['empty list', { schedule: [] }, '$.rules[0].schedule: must list 1 to 64 steps'],
    [
      '65 steps',
      {
        schedule: Array.from({ length: 65 }, (_, i) => ({
          at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
          split: arms(1),
        })),
      },
      'must list 1 to 64 steps',
    ],
    [
      'a step is not an object',
      { schedule: ['2026-12-01T00:00:00Z'] },
      'schedule[0]: must be an object',
    ],
    [
      'unknown step field',
      { schedule: [{ at: '2026-12-01T00:00:00Z', split: arms(1), weight: 1 }] },
      'schedule[0].weight: unknown field',
    ],
    [
      'CFG-08 no offset',
      { schedule: [{ at: '2026-12-01T09:00:00', split: arms(1) }] },
      'schedule[0].at: must be an RFC 3339 instant with an offset',
    ],
    [
      'CFG-08 date only',
      { schedule: [{ at: '2026-12-01', split: arms(1) }] },
      'schedule[0].at: must be an RFC 3339',
    ],
    [
      'CFG-08 impossible date',
      { schedule: [{ at: '2026-02-30T00:00:00Z', split: arms(1) }] },
      'schedule[0].at: must be an RFC 3339',
    ],
    [
      'CFG-08 epoch number',
      { schedule: [{ at: 1796115600000, split: arms(1) }] },
      'schedule[0].at: must be an RFC 3339',
    ],
    ['missing at', { schedule: [{ split: arms(1) }] }, 'schedule[0].at: must be an RFC 3339'],
    [
      'equal instants',
      {
        schedule: [
          { at: '2026-12-01T09:00:00Z', split: arms(1) },
          { at: '2026-12-01T10:00:00+01:00', split: arms(5) },
        ],
      },
      'schedule[1].at: steps must be in strictly increasing time order',
    ],
    [
      'decreasing instants',
      {
        schedule: [
          { at: '2026-12-02T00:00:00Z', split: arms(1) },
          { at: '2026-12-01T00:00:00Z', split: arms(5) },
        ],
      },
      'schedule[1].at: steps must be in strictly increasing',
    ],
    [
      '1 ms back',
      {
        schedule: [
          { at: '2026-12-02T00:00:00.001Z', split: arms(1) },
          { at: '2026-12-02T00:00:00Z', split: arms(5) },
        ],
      },
      'schedule[1].at: steps must be in strictly increasing',
    ],
    [
      'CFG-04 weights sum 99',
      {
        schedule: [
          {
            at: '2026-12-01T00:00:00Z',
            split: [
              { version: 'beta', weight: 1 },
              { version: 'stable', weight: 98 },
            ],
          },
        ],
      },
      'schedule[0].split: weights sum to 99',
    ],
    [
      'CFG-03 weight "5"',
      {
        schedule: [
          {
            at: '2026-12-01T00:00:00Z',
            split: [
              { version: 'beta', weight: '5' },
              { version: 'stable', weight: 95 },
            ],
          },
        ],
      },
      'schedule[0].split[0].weight: must be a non-negative integer',
    ],
    [
      'CFG-03 weight 2.5',
      {
        schedule: [
          {
            at: '2026-12-01T00:00:00Z',
            split: [
              { version: 'beta', weight: 2.5 },
              { version: 'stable', weight: 97.5 },
            ],
          },
        ],
      },
      'must be a non-negative integer',
    ],
    [
      'unknown version in a step',
      {
        schedule: [
          {
            at: '2026-12-01T00:00:00Z',
            split: [
              { version: 'gamma', weight: 5 },
              { version: 'stable', weight: 95 },
            ],
          },
        ],
      },
      'schedule[0].split[0].version: unknown version "gamma"',
    ],
    [
      'another version set',
      {
        schedule: [
          {
            at: '2026-12-01T00:00:00Z',
            split: [
              { version: 'canary', weight: 5 },
              { version: 'stable', weight: 95 },
            ],
          },
        ],
      },
      "schedule[0].split: must list the rule's split versions in the same order (beta, stable)",
    ],
    [
      'the same versions in another order',
      {
        schedule: [
          {
            at: '2026-12-01T00:00:00Z',
            split: [
              { version: 'stable', weight: 95 },
              { version: 'beta', weight: 5 },
            ],
          },
        ],
      },
      'in the same order',
    ],
    [
      'a version fewer',
      { schedule: [{ at: '2026-12-01T00:00:00Z', split: [{ version: 'stable', weight: 100 }] }] },
      'in the same order',
    ],
    [
      'schedule on a version rule',
      {
        split: undefined,
        version: 'beta',
        bucketBy: undefined,
        schedule: [{ at: '2026-12-01T00:00:00Z', split: arms(1) }],
      },
      'schedule: only a "split" rule has this',
    ],
    [
      'pausedAt without schedule',
      { pausedAt: '2026-12-01T00:00:00Z' },
      'pausedAt: only a rule with a "schedule" can be paused',
    ],
    [
      'pausedAt without offset',
      {
        pausedAt: '2026-12-01T00:00:00',
        schedule: [{ at: '2026-12-01T00:00:00Z', split: arms(1) }],
      },
      'pausedAt: must be an RFC 3339 instant with an offset',
    ],
    [
      'pausedAt: true',
      { pausedAt: true, schedule: [{ at: '2026-12-01T00:00:00Z', split: arms(1) }] },
      'pausedAt: must be an RFC 3339',
    ],
  ])('rejects %s', (_what, fields, expected) => {
    const errors = errorsOf({ ...base, ...fields });
    expect(errors.join('\n')).toContain(expected);
  });

  it('accepts percent and basis-point steps mixed, and offsets of every sign', () => {
    const cfg = parseConfig({
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [
        {
          id: 'r',
          split: arms(0),
          bucketBy: 'attr:id',
          schedule: [
            { at: '2026-12-01T09:00:00-08:00', split: arms(50, 10_000) },
            { at: '2026-12-01T17:00:00.001Z', split: arms(5) },
            { at: '2026-12-02T04:30:00+05:30', split: arms(2500, 10_000) },
          ],
        },
      ],
    });
    const rule = cfg.rules[0];
    expect(rule?.kind === 'split' && rule.schedule.map((s) => [s.at, s.arms[0]?.end])).toEqual([
      [Date.parse('2026-12-01T17:00:00Z'), 50],
      [Date.parse('2026-12-01T17:00:00.001Z'), 500],
      [Date.parse('2026-12-01T23:00:00Z'), 2500],
    ]);
  });

  it('WT-03 warns when a step keeps or raises a weight but moves its buckets (a middle arm)', () => {
    const three = (c: number, b: number) => [
      { version: 'canary', weight: c },
      { version: 'beta', weight: b },
      { version: 'stable', weight: 100 - c - b },
    ];
    // beta grows 5 → 10 but canary grows too, so beta's range shifts right: some leave beta.
    expect(
      warningsOf({
        split: three(1, 5),
        schedule: [{ at: '2026-12-01T00:00:00Z', split: three(5, 10) }],
      }),
    ).toEqual([
      '$.rules[0].schedule[0].split[1]: "beta" keeps or gains weight but its buckets move, so some subjects it had leave it; put the ramped version first or last',
    ]);
    // A kept weight whose range moves warns too; the first or last arm growing and a shrinking
    // arm (it is meant to lose subjects) do not.
    expect(
      warningsOf({
        split: three(1, 5),
        schedule: [{ at: '2026-12-01T00:00:00Z', split: three(5, 5) }],
      }),
    ).toHaveLength(1);
    expect(
      warningsOf({
        split: three(1, 5),
        schedule: [{ at: '2026-12-01T00:00:00Z', split: three(5, 1) }],
      }),
    ).toEqual([]);
    expect(
      warningsOf({
        split: arms(1),
        schedule: [
          { at: '2026-12-01T00:00:00Z', split: arms(50) },
          { at: '2026-12-02T00:00:00Z', split: arms(100) },
        ],
      }),
    ).toEqual([]);
  });
});

describe('bucketBy chain and bucketVersion validation (issue 19)', () => {
  it.each([
    [
      'empty list',
      { split: arms(5), bucketBy: [] },
      'bucketBy: a bucketBy chain lists 1 to 4 subjects',
    ],
    [
      '5 subjects',
      { split: arms(5), bucketBy: ['attr:a', 'attr:b', 'attr:c', 'attr:d', 'attr:e'] },
      'lists 1 to 4 subjects',
    ],
    [
      'a bad element',
      { split: arms(5), bucketBy: ['attr:userId', 'session'] },
      'bucketBy[1]: must be header:NAME',
    ],
    [
      'a number',
      { split: arms(5), bucketBy: ['attr:userId', 7] },
      'bucketBy[1]: must be header:NAME',
    ],
    [
      'a duplicate (header names are case-insensitive)',
      { split: arms(5), bucketBy: ['header:X-Uid', 'header:x-uid'] },
      'bucketBy[1]: "header:x-uid" is listed twice',
    ],
    [
      'bucketBy on a version rule',
      { version: 'beta', bucketBy: ['attr:a'] },
      'bucketBy: only a "split" rule has this',
    ],
    [
      'bucketVersion 0',
      { split: arms(5), bucketVersion: 0 },
      'bucketVersion: must be an integer from 1 to 1000000',
    ],
    [
      'bucketVersion "2"',
      { split: arms(5), bucketVersion: '2' },
      'bucketVersion: must be an integer',
    ],
    [
      'bucketVersion 1.5',
      { split: arms(5), bucketVersion: 1.5 },
      'bucketVersion: must be an integer',
    ],
    [
      'bucketVersion 1e309',
      { split: arms(5), bucketVersion: Number.POSITIVE_INFINITY },
      'bucketVersion: must be an integer',
    ],
    [
      'bucketVersion on a version rule',
      { version: 'beta', bucketBy: undefined, bucketVersion: 2 },
      'bucketVersion: only a "split" rule has this',
    ],
  ])('rejects %s', (_what, fields, expected) => {
    expect(errorsOf(fields).join('\n')).toContain(expected);
  });

  it('compiles the chain in order and the salt per bucket version', () => {
    const cfg = parseConfig({
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [
        {
          id: 'a',
          split: arms(5),
          bucketBy: ['attr:userId', 'Header:x'.toLowerCase(), 'cookie:gray_uid'],
          bucketVersion: 3,
          salt: 's',
        },
        { id: 'b', split: arms(5), bucketBy: 'header:X-Uid' },
      ],
    });
    const [a, b] = cfg.rules;
    expect(a?.kind === 'split' && [a.bucketChain, a.bucketBy, a.salt]).toEqual([
      [
        { kind: 'attr', name: 'userId' },
        { kind: 'header', name: 'x' },
        { kind: 'cookie', name: 'gray_uid' },
      ],
      { kind: 'attr', name: 'userId' },
      's/v3',
    ]);
    expect(b?.kind === 'split' && [b.bucketChain, b.salt, b.schedule, b.pausedAt]).toEqual([
      [{ kind: 'header', name: 'x-uid' }],
      'b',
      [],
      undefined,
    ]);
  });
});

describe('the JSON Schema knows the new fields (issue 19)', async () => {
  const { readFileSync } = await import('node:fs');
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const schema = JSON.parse(
    readFileSync(new URL('../../schema/graylane.schema.json', import.meta.url), 'utf8'),
  );
  const check = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
  const doc = (rule: Record<string, unknown>) => ({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id: 'r', split: arms(0), bucketBy: ['attr:userId', 'cookie:gray_uid'], ...rule }],
  });
  it.each([
    [
      'schedule + pausedAt + bucketVersion',
      {
        schedule: [{ at: '2026-12-01T09:00:00Z', split: arms(5) }],
        pausedAt: '2026-12-02T00:00:00+01:00',
        bucketVersion: 2,
      },
      true,
    ],
    ['bucketBy string', { bucketBy: 'cookie:gray_uid' }, true],
    [
      'schedule step without offset',
      { schedule: [{ at: '2026-12-01T09:00:00', split: arms(5) }] },
      false,
    ],
    [
      'schedule step with an extra field',
      { schedule: [{ at: '2026-12-01T09:00:00Z', split: arms(5), paused: true }] },
      false,
    ],
    ['bucketVersion 0', { bucketVersion: 0 }, false],
    ['bucketBy empty list', { bucketBy: [] }, false],
  ])('%s: schema and parser agree', (_what, rule, ok) => {
    const d = doc(rule);
    expect(check(d)).toBe(ok);
    expect(validateConfig(d).ok).toBe(ok);
  });
});

describe('the JSON Schema and the parser agree on sticky (STK-03 field)', async () => {
  const { readFileSync } = await import('node:fs');
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const schema = JSON.parse(
    readFileSync(new URL('../../schema/graylane.schema.json', import.meta.url), 'utf8'),
  );
  const check = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
  it.each([
    ['keep', true],
    ['reevaluate', true],
    ['always', false],
    [true, false],
  ])('sticky: %j', (sticky, ok) => {
    const d = {
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [{ id: 'r', version: 'beta', sticky }],
    };
    expect(check(d)).toBe(ok);
    expect(validateConfig(d).ok).toBe(ok);
  });
});
