import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import {
  STATUS_REPORT_SCHEMA,
  createConfigStore,
  createStatusModel,
  type ConfigStore,
  type StatusReport,
  type StatusStatsLike,
} from '../src/index.js';

const validate = new Ajv2020({ allErrors: true, strict: true }).compile(STATUS_REPORT_SCHEMA);

/** Fails with ajv's own explanation when a report does not match the documented schema. */
export function expectValid(report: unknown): void {
  const ok = validate(report);
  expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
  expect(ok).toBe(true);
}

const BASE = { versions: ['stable', 'beta'], default: 'stable' };
const rule = (id: string, version = 'beta') => ({
  id,
  version,
  match: { path: { prefix: `/${id}` } },
});
const doc = (...ids: string[]) => ({ ...BASE, rules: ids.map((id) => rule(id)) });

function storeAt(ms: { t: number }): ConfigStore {
  return createConfigStore({ initial: BASE, now: () => ms.t });
}

const stats: StatusStatsLike = {
  decisions: [
    { version: 'beta', reason: 'header', source: 'header', count: 30 },
    { version: 'stable', reason: 'default', source: 'default', count: 60 },
    { version: 'beta', reason: 'weight', source: 'rules', count: 10 },
  ],
  invalidMarkers: [{ source: 'cookie', reason: 'unknown', count: 4 }],
  outbound: { injected: 7, skipped_host: 2, skipped_caller: 0, skipped_invalid: 1 },
  fallbacks: [{ wanted: 'beta', served: 'stable', count: 3 }],
};

describe('status model: the report and its JSON Schema', () => {
  it('the schema compiles under ajv strict mode and pins every key', () => {
    expect(STATUS_REPORT_SCHEMA['additionalProperties']).toBe(false);
    expect(validate({})).toBe(false);
  });

  const cases: [
    string,
    Parameters<typeof createStatusModel>[0] extends infer O ? Omit<O & object, 'store'> : never,
  ][] = [
    ['only a store', {}],
    ['stats', { stats: () => stats }],
    [
      'stats without outbound or fallbacks',
      { stats: () => ({ decisions: [], invalidMarkers: [] }) },
    ],
    [
      'sources in every state',
      {
        sources: {
          status: () => ({
            state: 'degraded',
            sources: [
              { name: 'file', status: { state: 'ready', lastSuccess: 1_000 } },
              {
                name: 'http',
                status: { state: 'stale', lastSuccess: 1_000, lastError: 'HTTP 503' },
              },
              { name: 'etcd', status: { state: 'error', lastError: 'auth', fatal: true } },
              { name: 'new', status: { state: 'starting' } },
              { name: 'gone', status: { state: 'stopped', lastSuccess: 1_000 } },
            ],
          }),
        },
      },
    ],
    [
      'propagation coverage',
      {
        propagation: () => [
          {
            destination: 'orders.internal:443',
            carried: 10,
            missing: 2,
            withheld: 0,
            lastMissingSite: 'at pay (/app/pay.js:10:3)',
          },
          { destination: 'api.stripe.com:443', carried: 0, missing: 0, withheld: 5 },
        ],
      },
    ],
    ['propagation not measured yet', { propagation: () => undefined }],
  ];
  it.each(cases)('%s: the report validates', (_name, extra) => {
    const clock = { t: 61_000 };
    const model = createStatusModel({ store: storeAt(clock), now: () => clock.t, ...extra });
    expectValid(model.report());
  });

  it('the JSON example in docs/status-page.md is a valid report', () => {
    const doc = readFileSync(new URL('../../../docs/status-page.md', import.meta.url), 'utf8');
    const example = /```json\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    expectValid(JSON.parse(example as string));
  });

  it('reports the config in force: canonical hash, store version, source and time', () => {
    const clock = { t: 5_000 };
    const store = storeAt(clock);
    const model = createStatusModel({ store, now: () => clock.t });
    const before = model.report().config;
    clock.t = 9_000;
    // Same content, other key order and whitespace: no new version, same hash (I6).
    store.update(JSON.stringify({ default: 'stable', versions: ['stable', 'beta'] }, null, 2), {
      source: 'file',
    });
    expect(model.report().config).toEqual(before);
    store.update(doc('qa'), { source: 'file' });
    const after = model.report().config;
    expect(after).toMatchObject({
      version: 2,
      source: 'file',
      updatedAt: 9_000,
      rules: 1,
      versions: ['stable', 'beta'],
      default: 'stable',
    });
    expect(after.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(after.hash).not.toBe(before.hash);
    expect(after.hash).toBe(store.get().config.hash);
  });

  it('traffic: configured versions first, shares sum to 1, reasons summed', () => {
    const model = createStatusModel({ store: storeAt({ t: 0 }), stats: () => stats });
    const { traffic } = model.report();
    expect(traffic.total).toBe(100);
    expect(traffic.byVersion).toEqual([
      { version: 'stable', count: 60, share: 0.6 },
      { version: 'beta', count: 40, share: 0.4 },
    ]);
    expect(traffic.byReason).toEqual([
      { reason: 'header', count: 30 },
      { reason: 'default', count: 60 },
      { reason: 'weight', count: 10 },
    ]);
  });

  it('a configured version with no traffic is listed with 0, a removed one still counted after it', () => {
    const model = createStatusModel({
      store: storeAt({ t: 0 }),
      stats: () => ({
        decisions: [{ version: 'canary', reason: 'header', source: 'header', count: 2 }],
        invalidMarkers: [],
      }),
    });
    expect(model.report().traffic.byVersion.map((r) => [r.version, r.count])).toEqual([
      ['stable', 0],
      ['beta', 0],
      ['canary', 2],
    ]);
  });

  it('staleness: 0 while ready, seconds since the last success otherwise, null if never', () => {
    const clock = { t: 100_000 };
    const model = createStatusModel({
      store: storeAt(clock),
      now: () => clock.t,
      sources: {
        status: () => ({
          state: 'degraded',
          sources: [
            { name: 'a', status: { state: 'ready', lastSuccess: 10_000 } },
            { name: 'b', status: { state: 'stale', lastSuccess: 70_000 } },
            { name: 'c', status: { state: 'error' } },
          ],
        }),
      },
    });
    expect(model.report().sources?.items.map((i) => i.stalenessSeconds)).toEqual([0, 30, null]);
    clock.t = 160_500;
    expect(model.report().sources?.items.map((i) => i.stalenessSeconds)).toEqual([0, 90.5, null]);
  });
});

describe('status model: recent reloads with their rule-level diff', () => {
  it('lists added, removed and modified rule ids, settings changes, versions and hashes', () => {
    const clock = { t: 1_000 };
    const store = storeAt(clock);
    const model = createStatusModel({ store, now: () => clock.t });
    store.update(doc('a', 'b', 'c'), { source: 'file' });
    const h2 = store.get().config.hash;
    clock.t = 2_000;
    store.update(
      {
        versions: ['stable', 'beta', 'canary'],
        default: 'stable',
        rules: [rule('a'), rule('b', 'stable'), rule('d')],
      },
      { source: 'http' },
    );
    const [latest, first] = model.report().reloads;
    expect(first).toMatchObject({
      type: 'change',
      at: 1_000,
      source: 'file',
      fromVersion: 1,
      toVersion: 2,
      added: ['a', 'b', 'c'],
      removed: [],
      modified: [],
      settingsChanged: false,
      hash: h2,
    });
    expect(latest).toMatchObject({
      type: 'change',
      at: 2_000,
      source: 'http',
      fromVersion: 2,
      toVersion: 3,
      previousHash: h2,
      added: ['d'],
      removed: ['c'],
      modified: ['b'],
      settingsChanged: true,
      omittedRuleIds: 0,
    });
    expectValid(model.report());
  });

  it('a change touching more rule ids than the cap lists the cap and counts the rest', () => {
    const store = storeAt({ t: 0 });
    const model = createStatusModel({ store });
    store.update(doc(...Array.from({ length: 180 }, (_, i) => `r${i}`)));
    const [entry] = model.report().reloads;
    expect(entry?.type === 'change' && entry.added.length).toBe(50);
    expect(entry?.type === 'change' && entry.omittedRuleIds).toBe(130);
    expectValid(model.report());
  });

  it.each([1, 5, 20, 200])('history is bounded: %i kept of 500 changes, newest first', (limit) => {
    const store = storeAt({ t: 0 });
    const model = createStatusModel({ store, historyLimit: limit });
    for (let i = 0; i < 500; i++) store.update(doc(`r${i}`));
    const reloads = model.report().reloads;
    expect(reloads).toHaveLength(limit);
    expect(reloads.map((r) => (r.type === 'change' ? r.toVersion : 0))).toEqual(
      Array.from({ length: limit }, (_, i) => 501 - i),
    );
  });

  it('a rejection loop folds into one entry and cannot push the changes out', () => {
    const clock = { t: 0 };
    const store = storeAt(clock);
    const model = createStatusModel({ store, historyLimit: 3, now: () => clock.t });
    store.update(doc('a'), { source: 'file' });
    for (let i = 1; i <= 1000; i++) {
      clock.t = i;
      store.update('{"versions":', { source: 'http' });
    }
    const reloads = model.report().reloads;
    expect(reloads).toHaveLength(2);
    expect(reloads[0]).toMatchObject({
      type: 'rejected',
      source: 'http',
      code: 'INVALID_CONFIG',
      count: 1000,
      at: 1,
      lastAt: 1000,
    });
    expect(reloads[1]).toMatchObject({ type: 'change', added: ['a'] });
    // A different error from the same source is a new entry.
    store.update({ versions: [] }, { source: 'http' });
    expect(model.report().reloads.map((r) => r.type)).toEqual(['rejected', 'rejected', 'change']);
    expectValid(model.report());
  });

  /**
   * Review 76 D1: the fold compared a rejection with the newest entry only, so two sources stuck
   * in turn (a file and an HTTP source, or replicas serving different bad documents) each logged
   * a new entry per poll and the real changes went in minutes.
   */
  const BAD = ['{"versions":', '{"versions":[]}', '{"versions":["a"],"default":"b"}', '[]', '1'];
  it.each([
    ['two sources, one bad document each, in turn', 2, 1, 'turn'],
    ['three sources, in turn', 3, 1, 'turn'],
    ['two sources, in bursts', 2, 1, 'burst'],
    ['one source, two bad documents alternating', 1, 2, 'turn'],
    ['one source, five bad documents in turn', 1, 5, 'turn'],
    ['two sources, each alternating three documents', 2, 3, 'turn'],
  ] as const)(
    '%s: the change stays and each source keeps ≤ 3 entries',
    (_l, sources, docs, order) => {
      const clock = { t: 0 };
      const store = storeAt(clock);
      const model = createStatusModel({ store, historyLimit: 12, now: () => clock.t });
      store.update(doc('qa'), { source: 'file' });
      const offers: [string, string][] = [];
      for (let round = 0; round < 60; round++)
        for (let s = 0; s < sources; s++)
          offers.push([`src-${s}`, BAD[(round + s) % docs] as string]);
      if (order === 'burst') offers.sort((a, b) => a[0].localeCompare(b[0]));
      for (const [source, text] of offers) {
        clock.t++;
        store.update(text, { source });
      }
      const reloads = model.report().reloads;
      expect(reloads.filter((r) => r.type === 'change')).toMatchObject([{ added: ['qa'] }]);
      for (let s = 0; s < sources; s++) {
        const mine = reloads.filter((r) => r.type === 'rejected' && r.source === `src-${s}`);
        expect(mine.length).toBe(Math.min(docs, 3));
        if (docs <= 3)
          expect(mine.reduce((n, r) => n + (r.type === 'rejected' ? r.count : 0), 0)).toBe(60);
      }
      // Newest first by when each entry began.
      const starts = reloads.map((r) => r.at);
      expect(starts).toEqual([...starts].sort((a, b) => b - a));
      expectValid(model.report());
    },
  );

  it('a change from a source ends its streak: the same rejection after it is a new entry', () => {
    const clock = { t: 0 };
    const store = storeAt(clock);
    const model = createStatusModel({ store, historyLimit: 10, now: () => clock.t });
    for (const [source, text] of [
      ['http', '{"versions":'],
      ['file', '{"versions":'],
      ['http', doc('a')],
      ['http', '{"versions":'],
      ['file', '{"versions":'],
    ] as const) {
      clock.t++;
      store.update(text, { source });
    }
    expect(
      model
        .report()
        .reloads.map((r) => `${r.type}:${r.source}:${r.type === 'rejected' ? r.count : ''}`),
    ).toEqual(['rejected:http:1', 'change:http:', 'rejected:file:2', 'rejected:http:1']);
  });

  it('close() stops listening; later reloads are not recorded', () => {
    const store = storeAt({ t: 0 });
    const model = createStatusModel({ store });
    store.update(doc('a'));
    model.close();
    model.close();
    store.update(doc('b'));
    expect(model.report().reloads).toHaveLength(1);
    expect(model.report().config.version).toBe(3);
  });
});

describe('status model: never throws, never leaks (I1)', () => {
  it.each([
    [
      'stats() throws',
      {
        stats: () => {
          throw new Error('boom https://u:p@x/');
        },
      },
      1,
    ],
    [
      'sources.status() throws',
      {
        sources: {
          status: () => {
            throw new TypeError('nope');
          },
        },
      },
      1,
    ],
    [
      'propagation() throws',
      {
        propagation: () => {
          throw 'string thrown';
        },
      },
      1,
    ],
    [
      'stats() returns garbage',
      {
        stats: () =>
          ({
            decisions: 'x',
            invalidMarkers: null,
            outbound: 5,
            fallbacks: {},
          }) as unknown as StatusStatsLike,
      },
      0,
    ],
    [
      'rows are not objects',
      {
        stats: () =>
          ({
            decisions: [
              null,
              1,
              'x',
              { version: 'beta', reason: 'header', source: 'header', count: 1 },
            ],
            invalidMarkers: [undefined],
          }) as unknown as StatusStatsLike,
      },
      4,
    ],
    [
      'counts are not counts',
      {
        stats: () => ({
          decisions: [
            { version: 'beta', reason: 'header', source: 'header', count: NaN },
            { version: 'stable', reason: 'default', source: 'default', count: -5 },
            { version: 'x', reason: 'y', source: 'z', count: Infinity },
            { version: 'w', reason: 'y', source: 'z', count: 2.7 },
          ],
          invalidMarkers: [],
        }),
      },
      0,
    ],
    [
      'sources with garbage states',
      {
        sources: {
          status: () =>
            ({
              state: '<b>',
              sources: [
                { name: 5, status: { state: 'weird', lastSuccess: 'x' } },
                { name: 'n', status: null },
              ],
            }) as never,
        },
      },
      0,
    ],
    [
      'a throwing clock',
      {
        now: () => {
          throw new Error('clock');
        },
      },
      1,
    ],
  ])('%s: the report still builds, validates and names the problem', (_name, extra, problems) => {
    const model = createStatusModel({ store: storeAt({ t: 0 }), ...(extra as object) });
    const report = model.report();
    expectValid(report);
    // These models are given no stats: that is named too, apart from the rows' own problems.
    const own = report.problems.filter((p) => !p.startsWith('no stats:'));
    expect(report.problems.length - own.length).toBe('stats' in (extra as object) ? 0 : 1);
    expect(own.length + report.omittedRows).toBe(problems);
    expect(
      report.traffic.decisions.every((r) => Number.isSafeInteger(r.count) && r.count >= 0),
    ).toBe(true);
  });

  it('a throwing callback is named in problems, with credentials scrubbed', () => {
    const model = createStatusModel({
      store: storeAt({ t: 0 }),
      stats: () => {
        throw new Error('GET https://admin:hunter2@rules.internal/x?token=abc123 failed');
      },
    });
    const { problems } = model.report();
    expect(problems[0]).toMatch(/^stats\(\) threw: /);
    expect(problems.join()).not.toMatch(/hunter2|abc123/);
    expect(problems.join()).toContain('https://***@rules.internal');
  });

  it('row caps: 10,000 decision rows keep 500 and count the rest', () => {
    const decisions = Array.from({ length: 10_000 }, (_, i) => ({
      version: `v${i}`,
      reason: 'header',
      source: 'header',
      count: 1,
    }));
    const model = createStatusModel({
      store: storeAt({ t: 0 }),
      stats: () => ({ decisions, invalidMarkers: [] }),
    });
    const report = model.report();
    expect(report.traffic.decisions).toHaveLength(500);
    expect(report.omittedRows).toBe(9_500);
    expectValid(report);
  });

  it.each([
    ['URL userinfo', 'fetch https://user:s3cr3t@rules.example/doc failed', 's3cr3t'],
    ['etcd URL userinfo', 'etcd://root:s3cr3t@10.0.0.1:2379/graylane', 's3cr3t'],
    ['bearer token', 'HTTP 401 with Authorization: Bearer s3cr3t.tok', 's3cr3t'],
    ['basic credentials', 'sent basic czNjcjN0 and failed', 'czNjcjN0'],
    ['token query value', 'GET /rules?ref=main&access_token=s3cr3t 403', 's3cr3t'],
    ['api key form', 'x-api-key: s3cr3t rejected', 's3cr3t'],
    ['password pair', 'password=s3cr3t', 's3cr3t'],
    ['signature', 'sig=s3cr3t expired', 's3cr3t'],
  ])('source errors are scrubbed: %s', (_name, message, secret) => {
    const model = createStatusModel({
      store: storeAt({ t: 0 }),
      sources: {
        status: () => ({
          state: 'degraded',
          sources: [{ name: 'http', status: { state: 'error', lastError: message } }],
        }),
      },
    });
    const text = JSON.stringify(model.report());
    expect(text).not.toContain(secret);
    expect(text).toContain('***');
  });

  it('free-form strings are cut and control characters replaced', () => {
    const store = storeAt({ t: 0 });
    const model = createStatusModel({ store });
    store.update(doc('a'), { source: `file\r\nX-Evil: 1${'x'.repeat(5_000)}` });
    const [entry] = model.report().reloads;
    expect(entry?.source.length).toBeLessThanOrEqual(200);
    expect(entry?.source).not.toMatch(/[\r\n]/);
    expectValid(model.report());
  });

  it.each([0, -1, 1.5, 201, Number.NaN])('historyLimit %s is refused at construction', (limit) => {
    expect(() => createStatusModel({ store: storeAt({ t: 0 }), historyLimit: limit })).toThrow(
      /historyLimit/,
    );
  });
});

export type { StatusReport };
