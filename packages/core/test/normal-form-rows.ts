/**
 * Pairs of config documents for the normal-form comparison (I6, CFG-12; review 169 N1): `EQUAL`
 * pairs mean the same config however they are spelled (the store says `unchanged`, `graylane
 * diff` says "no change"); `DIFFER` pairs change one meaningful thing, and the change report names
 * exactly that thing even when the new document also spells defaults out (`noisy`). Shared by the
 * store's table (core) and the CLI's `diff` table.
 */

/** A config document as a test writes it (plain data; mutated only through {@link variant}). */
export type Doc = Record<string, unknown> & { rules?: Rule[] };
/** A rule document as a test writes it. */
export type Rule = Record<string, unknown> & { id: string };

/** The minimal spelling of a config that uses every kind of field. */
export const BASE: Doc = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    { id: 'qa', match: { header: { 'x-user-group': { equals: 'qa' } } }, version: 'beta' },
    {
      id: 'checkout',
      description: 'checkout team',
      match: {
        path: { prefix: '/api/checkout' },
        host: { equals: 'api.example.com' },
        method: { in: ['GET', 'POST'] },
        cookie: { region: { in: ['bj', 'sh'] } },
        query: { src: { regex: '^ad-' } },
      },
      version: 'beta',
      window: { from: '2026-12-01T00:00:00Z', until: '2027-01-01T00:00:00Z' },
    },
    {
      id: 'canary',
      split: [
        { version: 'canary', weight: 5 },
        { version: 'stable', weight: 95 },
      ],
      bucketBy: 'cookie:gray_uid',
    },
    {
      id: 'ramp',
      split: [
        { version: 'beta', weight: 0 },
        { version: 'stable', weight: 100 },
      ],
      bucketBy: ['attr:userId', 'header:x-anon-id'],
      schedule: [
        {
          at: '2026-12-01T09:00:00Z',
          split: [
            { version: 'beta', weight: 1 },
            { version: 'stable', weight: 99 },
          ],
        },
        {
          at: '2026-12-02T09:00:00Z',
          split: [
            { version: 'beta', weight: 25 },
            { version: 'stable', weight: 75 },
          ],
        },
      ],
      pausedAt: '2026-12-01T12:00:00Z',
    },
    {
      id: 'off',
      enabled: false,
      match: { attrs: { tier: { equals: 'gold' } } },
      version: 'canary',
    },
  ],
};

/** A deep copy of `doc` (default {@link BASE}) changed by `edit`. */
export function variant(edit: (d: Doc) => void, doc: Doc = BASE): Doc {
  const copy = structuredClone(doc);
  edit(copy);
  return copy;
}

/** The rule `id` of `d`. */
export function rule(d: Doc, id: string): Rule {
  const found = d.rules?.find((r) => r.id === id);
  if (!found) throw new Error(`no rule ${id}`);
  return found;
}

type Obj = Record<string, unknown>;
const match = (r: Rule): Obj => (r['match'] ??= {}) as Obj;
const isSplit = (r: Rule): boolean => r['split'] !== undefined;
const upper = (subject: string): string =>
  subject.startsWith('header:') ? `header:${subject.slice(7).toUpperCase()}` : subject;

/**
 * Every default spelled out and every free spelling used, meaning unchanged: `$schema`,
 * `caseInsensitive: false`, `enabled: true`, `salt` = id, `bucketVersion: 1`, the default
 * `sticky`, header names in capitals, `bucketBy` as a list, `in` lists reversed with a repeat.
 */
export function noisy(doc: Doc): Doc {
  return variant((d) => {
    d['$schema'] = 'https://example.test/graylane.schema.json';
    d['caseInsensitive'] ??= false;
    d.rules ??= [];
    for (const r of d.rules) {
      r['enabled'] ??= true;
      r['sticky'] ??= r['schedule'] ? 'reevaluate' : 'keep';
      const m = r['match'] as Obj | undefined;
      const headers = m?.['header'] as Obj | undefined;
      if (m && headers)
        m['header'] = Object.fromEntries(
          Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]),
        );
      for (const group of ['header', 'cookie', 'query', 'attrs'])
        for (const matcher of Object.values((m?.[group] ?? {}) as Obj)) reverseIn(matcher as Obj);
      if (m?.['method']) reverseIn(m['method'] as Obj);
      if (!isSplit(r)) continue;
      r['salt'] ??= r.id;
      r['bucketVersion'] ??= 1;
      r['bucketBy'] = [r['bucketBy']].flat().map((s) => upper(s as string));
    }
  }, doc);
}

function reverseIn(matcher: Obj): void {
  const list = matcher['in'] as string[] | undefined;
  if (list) matcher['in'] = [...list].reverse().concat(list.slice(0, 1));
}

/** A pair that means the same config. `a` defaults to {@link BASE}; `text` sends `b` as JSON text. */
export interface EqualRow {
  readonly name: string;
  readonly a?: Doc;
  readonly b: Doc | string;
}

const at = (d: Doc, id: string, edit: (r: Rule) => void): void => edit(rule(d, id));
const window = (r: Rule): Obj => r['window'] as Obj;
const schedule = (r: Rule): Obj[] => r['schedule'] as Obj[];
const arms = (...weights: number[]) =>
  weights.map((weight, i) => ({ version: i === 0 ? 'beta' : 'stable', weight }));

export const EQUAL: readonly EqualRow[] = [
  { name: '$schema added', b: variant((d) => void (d['$schema'] = './graylane.schema.json')) },
  {
    name: '$schema pointing elsewhere',
    a: variant((d) => void (d['$schema'] = 'https://a.example/s.json')),
    b: variant((d) => void (d['$schema'] = 'https://b.example/s.json')),
  },
  {
    name: 'caseInsensitive: false spelled out',
    b: variant((d) => void (d['caseInsensitive'] = false)),
  },
  {
    name: 'rules: [] spelled out',
    a: { versions: ['stable', 'beta'], default: 'stable' },
    b: { versions: ['stable', 'beta'], default: 'stable', rules: [] },
  },
  {
    name: 'enabled: true on every enabled rule',
    b: variant((d) => d.rules?.forEach((r) => void (r['enabled'] ??= true))),
  },
  {
    name: 'header name in capitals',
    b: variant((d) =>
      at(d, 'qa', (r) => void (match(r)['header'] = { 'X-User-Group': { equals: 'qa' } })),
    ),
  },
  {
    name: 'header subject of bucketBy in capitals',
    b: variant((d) =>
      at(d, 'ramp', (r) => void (r['bucketBy'] = ['attr:userId', 'header:X-Anon-ID'])),
    ),
  },
  {
    name: 'sticky: keep on a version rule and on a plain split',
    b: variant((d) => {
      at(d, 'qa', (r) => void (r['sticky'] = 'keep'));
      at(d, 'canary', (r) => void (r['sticky'] = 'keep'));
    }),
  },
  {
    name: 'sticky: reevaluate on a scheduled split (its default)',
    b: variant((d) => at(d, 'ramp', (r) => void (r['sticky'] = 'reevaluate'))),
  },
  {
    name: 'salt equal to the rule id',
    b: variant((d) => at(d, 'canary', (r) => void (r['salt'] = 'canary'))),
  },
  {
    name: 'bucketVersion: 1',
    b: variant((d) => at(d, 'canary', (r) => void (r['bucketVersion'] = 1))),
  },
  {
    name: 'bucketBy of one subject as a one-item list',
    b: variant((d) => at(d, 'canary', (r) => void (r['bucketBy'] = ['cookie:gray_uid']))),
  },
  {
    name: 'a split in basis points',
    b: variant((d) =>
      at(d, 'canary', (r) => {
        r['split'] = [
          { version: 'canary', weight: 500 },
          { version: 'stable', weight: 9500 },
        ];
      }),
    ),
  },
  {
    name: 'schedule steps in basis points',
    b: variant((d) =>
      at(d, 'ramp', (r) => {
        r['split'] = arms(0, 10000);
        const [one, two] = schedule(r) as [Obj, Obj];
        one['split'] = arms(100, 9900);
        two['split'] = arms(2500, 7500);
      }),
    ),
  },
  {
    name: 'an in list reordered, with a repeat',
    b: variant((d) =>
      at(d, 'checkout', (r) => void (match(r)['cookie'] = { region: { in: ['sh', 'bj', 'sh'] } })),
    ),
  },
  {
    name: 'an in list of one value is an equals',
    b: variant((d) =>
      at(d, 'qa', (r) => void (match(r)['header'] = { 'x-user-group': { in: ['qa', 'qa'] } })),
    ),
  },
  {
    name: 'host literal in capitals',
    b: variant((d) =>
      at(d, 'checkout', (r) => void (match(r)['host'] = { equals: 'API.Example.COM' })),
    ),
  },
  {
    name: 'IPv4 host shorthand and a Unicode host name',
    a: variant((d) =>
      at(
        d,
        'checkout',
        (r) => void (match(r)['host'] = { in: ['127.0.0.1', 'xn--bcher-kva.example'] }),
      ),
    ),
    b: variant((d) =>
      at(d, 'checkout', (r) => void (match(r)['host'] = { in: ['Bücher.example', '127.1'] })),
    ),
  },
  {
    name: 'method literals in lower case',
    b: variant((d) =>
      at(d, 'checkout', (r) => void (match(r)['method'] = { in: ['post', 'get'] })),
    ),
  },
  {
    name: 'window written in other offsets',
    b: variant((d) =>
      at(d, 'checkout', (r) => {
        window(r)['from'] = '2026-12-01T08:00:00+08:00';
        window(r)['until'] = '2026-12-31T19:00:00-05:00';
      }),
    ),
  },
  {
    name: 'window with zero fractional seconds and lower-case t and z',
    b: variant((d) =>
      at(d, 'checkout', (r) => {
        window(r)['from'] = '2026-12-01t00:00:00.000z';
        window(r)['until'] = '2027-01-01T00:00:00.000000000Z';
      }),
    ),
  },
  {
    name: 'schedule instants and pausedAt in other offsets',
    b: variant((d) =>
      at(d, 'ramp', (r) => {
        const [one, two] = schedule(r) as [Obj, Obj];
        one['at'] = '2026-12-01T10:00:00+01:00';
        two['at'] = '2026-12-02T04:00:00-05:00';
        r['pausedAt'] = '2026-12-01T20:00:00+08:00';
      }),
    ),
  },
  {
    name: 'empty condition groups',
    b: variant((d) =>
      at(d, 'qa', (r) => Object.assign(match(r), { cookie: {}, query: {}, attrs: {} })),
    ),
  },
  {
    name: 'an empty match block',
    b: variant((d) => at(d, 'canary', (r) => void (r['match'] = {}))),
  },
  {
    name: 'defaults spelled out inside a disabled rule',
    b: variant((d) =>
      at(d, 'off', (r) => {
        r['sticky'] = 'keep';
        match(r)['header'] = {};
      }),
    ),
  },
  { name: 'every spelling at once', b: noisy(BASE) },
  {
    name: 'every spelling at once, as indented JSON text with keys reversed',
    b: JSON.stringify(reverseKeys(noisy(BASE)), null, 2),
  },
];

/** A pair that changes one meaningful thing; the report must name exactly it. */
export interface DifferRow {
  readonly name: string;
  readonly edit: (d: Doc) => void;
  readonly changedRuleIds: readonly string[];
  readonly settingsChanged: boolean;
}

export const DIFFER: readonly DifferRow[] = [
  {
    name: 'default version',
    edit: (d) => void (d['default'] = 'beta'),
    changedRuleIds: [],
    settingsChanged: true,
  },
  {
    name: 'caseInsensitive turned on',
    edit: (d) => void (d['caseInsensitive'] = true),
    changedRuleIds: [],
    settingsChanged: true,
  },
  {
    name: 'a version declared',
    edit: (d) => void (d['versions'] as string[]).push('gold'),
    changedRuleIds: [],
    settingsChanged: true,
  },
  {
    name: 'a header value in capitals (values are byte-exact)',
    edit: (d) =>
      at(d, 'qa', (r) => void (match(r)['header'] = { 'x-user-group': { equals: 'QA' } })),
    changedRuleIds: ['qa'],
    settingsChanged: false,
  },
  {
    name: 'a cookie name in capitals (cookie names are case-sensitive)',
    edit: (d) =>
      at(d, 'checkout', (r) => void (match(r)['cookie'] = { Region: { in: ['bj', 'sh'] } })),
    changedRuleIds: ['checkout'],
    settingsChanged: false,
  },
  {
    name: 'a query name in capitals',
    edit: (d) => at(d, 'checkout', (r) => void (match(r)['query'] = { Src: { regex: '^ad-' } })),
    changedRuleIds: ['checkout'],
    settingsChanged: false,
  },
  {
    name: 'a path prefix in capitals',
    edit: (d) => at(d, 'checkout', (r) => void (match(r)['path'] = { prefix: '/API/checkout' })),
    changedRuleIds: ['checkout'],
    settingsChanged: false,
  },
  {
    name: 'a regex pattern',
    edit: (d) => at(d, 'checkout', (r) => void (match(r)['query'] = { src: { regex: '^ads-' } })),
    changedRuleIds: ['checkout'],
    settingsChanged: false,
  },
  {
    name: 'a split weight',
    edit: (d) =>
      at(d, 'canary', (r) => {
        r['split'] = [
          { version: 'canary', weight: 6 },
          { version: 'stable', weight: 94 },
        ];
      }),
    changedRuleIds: ['canary'],
    settingsChanged: false,
  },
  {
    name: 'a window one millisecond later',
    edit: (d) => at(d, 'checkout', (r) => void (window(r)['until'] = '2027-01-01T00:00:00.001Z')),
    changedRuleIds: ['checkout'],
    settingsChanged: false,
  },
  {
    name: 'a salt',
    edit: (d) => at(d, 'canary', (r) => void (r['salt'] = 'canary-2')),
    changedRuleIds: ['canary'],
    settingsChanged: false,
  },
  {
    name: 'bucketVersion 2',
    edit: (d) => at(d, 'canary', (r) => void (r['bucketVersion'] = 2)),
    changedRuleIds: ['canary'],
    settingsChanged: false,
  },
  {
    name: 'the bucketBy chain reordered',
    edit: (d) => at(d, 'ramp', (r) => void (r['bucketBy'] = ['header:x-anon-id', 'attr:userId'])),
    changedRuleIds: ['ramp'],
    settingsChanged: false,
  },
  {
    name: 'sticky: reevaluate on a version rule',
    edit: (d) => at(d, 'qa', (r) => void (r['sticky'] = 'reevaluate')),
    changedRuleIds: ['qa'],
    settingsChanged: false,
  },
  {
    name: 'a rule disabled',
    edit: (d) => at(d, 'qa', (r) => void (r['enabled'] = false)),
    changedRuleIds: ['qa'],
    settingsChanged: false,
  },
  {
    name: 'a disabled rule enabled',
    edit: (d) => at(d, 'off', (r) => void delete r['enabled']),
    changedRuleIds: ['off'],
    settingsChanged: false,
  },
  {
    name: 'a ramp resumed (pausedAt removed)',
    edit: (d) => at(d, 'ramp', (r) => void delete r['pausedAt']),
    changedRuleIds: ['ramp'],
    settingsChanged: false,
  },
  {
    name: 'a description',
    edit: (d) => at(d, 'checkout', (r) => void (r['description'] = 'checkout team, EU')),
    changedRuleIds: ['checkout'],
    settingsChanged: false,
  },
  {
    name: 'two rules swapped (the first match wins)',
    edit: (d) => {
      const [qa, checkout] = d.rules as [Rule, Rule];
      d.rules?.splice(0, 2, checkout, qa);
    },
    changedRuleIds: ['checkout', 'qa'],
    settingsChanged: false,
  },
  {
    name: 'a rule removed',
    edit: (d) => void (d.rules = (d.rules ?? []).filter((r) => r.id !== 'off')),
    changedRuleIds: ['off'],
    settingsChanged: false,
  },
];

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reverseKeys(v)]),
  );
}
