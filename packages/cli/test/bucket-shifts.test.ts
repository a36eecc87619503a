import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runInProcess } from './helpers.js';

/*
 * Review 75 N3: `graylane diff` (and `push`'s preview) said only "changed rules: ramp" when a
 * reweight of a three-arm split moved a whole arm's subjects: `a 10%, b 10%, c 80%` → `a 20%,
 * b 10%, c 70%` keeps b at 10% but moves its bucket range, so every b subject leaves b. It now
 * warns, per version, how much of all subjects leave an arm beyond what its new share asks, and
 * warns when `bucketBy`, `salt` or `bucketVersion` changed (every subject bucketed again). Each
 * row's prediction is held to a sample of 4,000 visitors replayed through both configs by the
 * engine itself (`--sample`): the share that changes version agrees within 2.5 points.
 */

const dir = mkdtempSync(join(tmpdir(), 'graylane-shifts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const file = (text: string): string => {
  const path = join(dir, `f${files++}.json`);
  writeFileSync(path, text);
  return path;
};

type Arms = ReadonlyArray<readonly [string, number]>;
const VERSIONS = ['a', 'b', 'c', 'd'];
const config = (arms: Arms, extra: Record<string, unknown> = {}) =>
  file(
    JSON.stringify({
      versions: VERSIONS,
      default: 'a',
      rules: [
        { id: 'keep', match: { header: { 'x-qa': { equals: '1' } } }, version: 'd' },
        {
          id: 'ramp',
          split: arms.map(([version, weight]) => ({ version, weight })),
          bucketBy: 'cookie:gray_uid',
          ...extra,
        },
      ],
    }),
  );

const SAMPLE = file(
  Array.from({ length: 4000 }, (_, i) =>
    JSON.stringify({ cookies: { gray_uid: `visitor-${i}` } }),
  ).join('\n'),
);

interface Shift {
  ruleId: string;
  renamedFrom?: string;
  rebucketed: 'salt' | 'bucketBy' | false;
  moving: number;
  versions: { version: string; before: number; after: number; leaving: number }[];
}

async function diff(
  before: string,
  after: string,
  ...more: string[]
): Promise<{ shifts: Shift[]; sampled: number; text: string }> {
  const json = await runInProcess(['diff', before, after, '--sample', SAMPLE, '--json', ...more]);
  expect(json.code, json.err).toBe(0);
  const parsed = JSON.parse(json.out) as {
    bucketShifts: Shift[];
    impact: { total: number; changed: number };
  };
  const text = await runInProcess(['diff', before, after, ...more]);
  expect(text.code, text.err).toBe(0);
  return {
    shifts: parsed.bucketShifts,
    sampled: (10_000 * parsed.impact.changed) / parsed.impact.total,
    text: text.out,
  };
}

// [label, before, after, versions that lose subjects they could keep: [version, leaving bp]]
const MOVES: ReadonlyArray<
  readonly [string, Arms, Arms, ReadonlyArray<readonly [string, number]>]
> = [
  [
    'review 75 N3: the middle arm keeps its share',
    [
      ['a', 10],
      ['b', 10],
      ['c', 80],
    ],
    [
      ['a', 20],
      ['b', 10],
      ['c', 70],
    ],
    [['b', 1000]],
  ],
  [
    'the middle arm grows',
    [
      ['a', 10],
      ['b', 10],
      ['c', 80],
    ],
    [
      ['a', 20],
      ['b', 15],
      ['c', 65],
    ],
    [['b', 1000]],
  ],
  [
    'the middle arm shrinks less than it moves',
    [
      ['a', 10],
      ['b', 20],
      ['c', 70],
    ],
    [
      ['a', 25],
      ['b', 15],
      ['c', 60],
    ],
    [['b', 1500]],
  ],
  [
    'four arms, two middle ones move',
    [
      ['a', 10],
      ['b', 10],
      ['c', 10],
      ['d', 70],
    ],
    [
      ['a', 30],
      ['b', 10],
      ['c', 10],
      ['d', 50],
    ],
    [
      ['b', 1000],
      ['c', 1000],
    ],
  ],
  [
    'the first arm shrinks, the middle one moves down',
    [
      ['a', 30],
      ['b', 10],
      ['c', 60],
    ],
    [
      ['a', 10],
      ['b', 10],
      ['c', 80],
    ],
    [['b', 1000]],
  ],
  [
    'arms reordered',
    [
      ['a', 50],
      ['b', 50],
    ],
    [
      ['b', 50],
      ['a', 50],
    ],
    [
      ['a', 5000],
      ['b', 5000],
    ],
  ],
  [
    'a version whose share goes to 0 is not warned about',
    [
      ['a', 10],
      ['b', 10],
      ['c', 80],
    ],
    [
      ['a', 20],
      ['b', 0],
      ['c', 80],
    ],
    [],
  ],
  [
    '(control) the last arm ramps in place',
    [
      ['a', 90],
      ['b', 10],
    ],
    [
      ['a', 80],
      ['b', 20],
    ],
    [],
  ],
  [
    '(control) the first arm ramps in place',
    [
      ['b', 5],
      ['a', 95],
    ],
    [
      ['b', 50],
      ['a', 50],
    ],
    [],
  ],
  [
    '(control) the middle arm grows from its end',
    [
      ['a', 10],
      ['b', 10],
      ['c', 80],
    ],
    [
      ['a', 10],
      ['b', 30],
      ['c', 60],
    ],
    [],
  ],
  [
    '(control) the middle arm shrinks from its end',
    [
      ['a', 10],
      ['b', 20],
      ['c', 70],
    ],
    [
      ['a', 10],
      ['b', 10],
      ['c', 80],
    ],
    [],
  ],
  [
    'the first arm shrinks: the middle one slides down',
    [
      ['a', 20],
      ['b', 20],
      ['c', 60],
    ],
    [
      ['a', 10],
      ['b', 20],
      ['c', 70],
    ],
    [['b', 1000]],
  ],
];

describe('review 75 N3: a split change that moves subjects its shares do not ask to move warns', () => {
  it.each(MOVES)('%s', async (_label, before, after, expected) => {
    const { shifts, sampled, text } = await diff(config(before), config(after));
    const got = shifts.flatMap((s) => s.versions.map((v) => [v.version, v.leaving] as const));
    expect(got).toEqual(expected);
    const moving = shifts[0]?.moving;
    if (expected.length) {
      expect(shifts).toHaveLength(1);
      expect(shifts[0]).toMatchObject({ ruleId: 'ramp', rebucketed: false });
      // The prediction agrees with the engine on the sample (the buckets of 4,000 visitors).
      expect(Math.abs((moving ?? 0) - sampled)).toBeLessThan(250);
      expect(text).toMatch(/^warning: rule ramp: its buckets move — /m);
      for (const [version] of expected) expect(text).toContain(` ${version} `);
    } else {
      expect(shifts).toEqual([]);
      expect(text).not.toContain('warning');
    }
  });

  // [label, extra before, extra after, what is drawn again]
  it.each([
    ['salt changed', {}, { salt: 'spring' }, 'salt'],
    ['bucketVersion raised', {}, { bucketVersion: 2 }, 'salt'],
    ['bucketVersion raised, shares changed too', {}, { bucketVersion: 3 }, 'salt'],
    ['a salt set to the rule id (the default): no change at all', {}, { salt: 'ramp' }, undefined],
    ['bucketBy changed', {}, { bucketBy: 'header:x-user' }, 'bucketBy'],
    [
      'a fallback put before bucketBy',
      {},
      { bucketBy: ['attr:userId', 'cookie:gray_uid'] },
      'bucketBy',
    ],
  ] as const)('%s', async (label, x, y, rebucketed) => {
    const arms: Arms = [
      ['a', 50],
      ['b', 30],
      ['c', 20],
    ];
    const after: Arms = label.includes('shares')
      ? [
          ['a', 20],
          ['b', 30],
          ['c', 50],
        ]
      : arms;
    const { shifts, sampled, text } = await diff(config(arms, x), config(after, y));
    if (rebucketed === undefined) return expect(shifts).toEqual([]);
    expect(shifts).toHaveLength(1);
    expect(shifts[0]).toMatchObject({ ruleId: 'ramp', rebucketed, versions: [] });
    if (rebucketed === 'salt') {
      // Two independent draws: 1 − Σ p·q of the subjects change version; the engine agrees.
      expect(Math.abs(shifts[0]!.moving - sampled)).toBeLessThan(250);
      expect(text).toMatch(/^warning: rule ramp: salt or bucketVersion changed — every subject/m);
    } else {
      // The sample's visitors carry only the cookie: read from it still, they keep their bucket.
      if (label.includes('fallback')) expect(sampled).toBe(0);
      expect(text).toMatch(
        /^warning: rule ramp: bucketBy changed — a subject now read from another/m,
      );
    }
  });

  it('a schedule: the shares in force at --at are compared', async () => {
    const steps = (middle: number) => ({
      schedule: [
        {
          at: '2026-01-01T00:00:00Z',
          split: [
            { version: 'a', weight: 10 },
            { version: 'b', weight: middle },
            { version: 'c', weight: 90 - middle },
          ],
        },
      ],
    });
    const before = config(
      [
        ['a', 10],
        ['b', 10],
        ['c', 80],
      ],
      steps(10),
    );
    const after = config(
      [
        ['a', 20],
        ['b', 10],
        ['c', 70],
      ],
      steps(20),
    );
    // Before the step: the rule's own split moved b. After it: a and b grow in place.
    const early = await diff(before, after, '--at', '2025-06-01T00:00:00Z');
    expect(early.shifts[0]?.versions.map((v) => v.version)).toEqual(['b']);
    const late = await diff(before, after, '--at', '2026-06-01T00:00:00Z');
    expect(late.shifts).toEqual([]);
  });

  it('push previews the same warning before it writes', async () => {
    const target = file(
      await import('node:fs').then((fs) =>
        fs.readFileSync(
          config([
            ['a', 10],
            ['b', 10],
            ['c', 80],
          ]),
          'utf8',
        ),
      ),
    );
    const next = config([
      ['a', 20],
      ['b', 10],
      ['c', 70],
    ]);
    const run = await runInProcess(['push', next, target, '--dry-run']);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(
      /^warning: rule ramp: its buckets move — b 10% → 10% yet 10% of all subjects leave it/m,
    );
    const json = await runInProcess(['push', next, target, '--dry-run', '--json']);
    expect(JSON.parse(json.out).bucketShifts).toEqual([
      expect.objectContaining({
        ruleId: 'ramp',
        versions: [expect.objectContaining({ version: 'b', leaving: 1000 })],
      }),
    ]);
  });

  // Review 78 D3: the salt is the rule id unless set, so renaming a split buckets everyone again.
  const renamed = (
    id: string,
    arms: Arms,
    extra: Record<string, unknown> = {},
    more: object[] = [],
  ) =>
    file(
      JSON.stringify({
        versions: VERSIONS,
        default: 'a',
        rules: [
          {
            id,
            split: arms.map(([version, weight]) => ({ version, weight })),
            bucketBy: 'cookie:gray_uid',
            ...extra,
          },
          ...more,
        ],
      }),
    );
  const ARMS: Arms = [
    ['a', 50],
    ['b', 30],
    ['c', 20],
  ];
  const OTHER = {
    id: 'other',
    split: [{ version: 'd', weight: 100 }],
    bucketBy: 'cookie:gray_uid',
  };

  it('review 78 D3: a renamed split warns that everyone is bucketed again', async () => {
    const { shifts, sampled, text } = await diff(config(ARMS), renamed('ramp-v2', ARMS));
    expect(shifts).toEqual([
      expect.objectContaining({ ruleId: 'ramp-v2', renamedFrom: 'ramp', rebucketed: 'salt' }),
    ]);
    expect(Math.abs(shifts[0]!.moving - sampled)).toBeLessThan(250);
    expect(text).toMatch(
      /^warning: rule ramp-v2 \(was ramp\): its salt differs \(the salt is the rule id unless set\).*set "salt": "ramp"$/m,
    );
  });

  it('review 78 D3 (control): renamed with "salt" set to the old id, nobody moves', async () => {
    const { shifts, sampled } = await diff(
      config(ARMS),
      renamed('ramp-v2', ARMS, { salt: 'ramp' }),
    );
    expect(shifts).toEqual([]);
    expect(sampled).toBe(0);
  });

  it('review 78 D3: renamed and reweighted with the old salt, the move is counted as for one rule', async () => {
    const after: Arms = [
      ['a', 60],
      ['b', 30],
      ['c', 10],
    ];
    const { shifts, sampled } = await diff(
      config(ARMS),
      renamed('ramp-v2', after, { salt: 'ramp' }),
    );
    expect(shifts).toEqual([
      expect.objectContaining({ ruleId: 'ramp-v2', renamedFrom: 'ramp', rebucketed: false }),
    ]);
    expect(shifts[0]!.versions.map((v) => v.version)).toEqual(['b']);
    expect(Math.abs(shifts[0]!.moving - sampled)).toBeLessThan(250);
  });

  it('review 78 D3: beside another new split, the rename is the one with the same versions', async () => {
    // `other` comes first and splits into other versions: only ramp-v2 is ramp renamed.
    const after = file(
      JSON.stringify({
        versions: VERSIONS,
        default: 'a',
        rules: [
          OTHER,
          {
            id: 'ramp-v2',
            split: ARMS.map(([version, weight]) => ({ version, weight })),
            bucketBy: 'cookie:gray_uid',
          },
        ],
      }),
    );
    const { shifts } = await diff(config(ARMS), after);
    expect(shifts.map((x) => [x.ruleId, x.renamedFrom])).toEqual([['ramp-v2', 'ramp']]);
  });

  /** A document of splits, each `[id, arms, extra]`. */
  const splitsDoc = (...rules: (readonly [string, Arms, Record<string, unknown>?])[]) =>
    file(
      JSON.stringify({
        versions: VERSIONS,
        default: 'a',
        rules: rules.map(([id, arms, extra]) => ({
          id,
          split: arms.map(([version, weight]) => ({ version, weight })),
          bucketBy: 'cookie:gray_uid',
          ...extra,
        })),
      }),
    );
  const AB: Arms = [
    ['a', 95],
    ['b', 5],
  ];
  const BA: Arms = [
    ['a', 50],
    ['b', 50],
  ];

  // Review 79 D2: where more than one split went or came with the same versions, which is which
  // cannot be told — no pairing and no advice (the advice had been swapped).
  it.each([
    [
      'two renamed at once',
      [
        ['p', AB],
        ['q', BA],
      ],
      [
        ['x', AB],
        ['y', BA],
      ],
    ],
    [
      'a rename beside a new split with the same versions',
      [['p', AB]],
      [
        ['n', BA],
        ['x', AB],
      ],
    ],
    [
      'a split replaced by one with other versions',
      [['p', AB]],
      [
        [
          'z',
          [
            ['c', 50],
            ['d', 50],
          ] as Arms,
        ],
      ],
    ],
  ] as const)('review 79 D2: %s — no pairing', async (_l, before, after) => {
    const { shifts, text } = await diff(
      splitsDoc(...(before as unknown as [string, Arms][])),
      splitsDoc(...(after as unknown as [string, Arms][])),
    );
    expect(shifts).toEqual([]);
    expect(text).not.toContain('warning');
  });

  // Review 79 D2: the advice names the old split's salt in use, `bucketVersion` included, and
  // following it moves nobody.
  it.each([
    ['an explicit salt', { salt: 'exp-2024' }, {}, '"salt": "exp-2024"', { salt: 'exp-2024' }],
    [
      'bucketVersion 2',
      { bucketVersion: 2 },
      { salt: 'p' },
      '"salt": "p", "bucketVersion": 2',
      { salt: 'p', bucketVersion: 2 },
    ],
    [
      'a salt and bucketVersion 3',
      { salt: 's', bucketVersion: 3 },
      {},
      '"salt": "s", "bucketVersion": 3',
      { salt: 's', bucketVersion: 3 },
    ],
  ] as const)(
    'review 79 D2: renamed from %s: the advice keeps everyone',
    async (_l, old, now, advice, fixed) => {
      const before = splitsDoc(['p', AB, old]);
      const { shifts, text } = await diff(before, splitsDoc(['x', AB, now]));
      expect(shifts).toEqual([
        expect.objectContaining({ ruleId: 'x', renamedFrom: 'p', rebucketed: 'salt' }),
      ]);
      expect(text).toContain(`to keep them, set ${advice}`);
      const after = await diff(before, splitsDoc(['x', AB, fixed]));
      expect(after.shifts).toEqual([]);
      expect(after.sampled).toBe(0);
    },
  );

  it('a changed rule that is no longer a split, or a new split, is not a shift', async () => {
    const a = config([
      ['a', 10],
      ['b', 10],
      ['c', 80],
    ]);
    const b = file(
      JSON.stringify({ versions: VERSIONS, default: 'a', rules: [{ id: 'ramp', version: 'b' }] }),
    );
    expect((await diff(a, b)).shifts).toEqual([]);
    expect((await diff(b, a)).shifts).toEqual([]);
  });
});
