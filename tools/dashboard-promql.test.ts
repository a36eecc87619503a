import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The dashboard's counting queries, run by `promtool test rules` (promql_expr_test) on the series
// shapes graylane's counters really take in Prometheus. `increase()` needs two samples of a
// series: one first scraped above 0 — the first load of a process (`changed`, or `rejected` /
// `failed` for a bad document or a wrong URL at deploy: the source loads before the first scrape,
// so creating the series at 0 does not help), the first misses of a destination — showed no
// increase. Each query now counts a series that is new within its window by its value
// (`x > 0 unless x offset W`, as the alert rules do) and an older one by `increase()`. Grafana's
// variables are given fixed values: $job = app, $__rate_interval = 5m, $__range = 30m.

const promtool = ((): string | undefined => {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? 'promtool' : undefined;
})();
if (promtool === undefined && process.env['CI'])
  throw new Error('promtool is not installed (apt-get install prometheus)');

const dashboard = JSON.parse(
  readFileSync(new URL('../docs/dashboards/graylane.grafana.json', import.meta.url), 'utf8'),
) as {
  panels: { title: string; targets?: { refId: string; expr: string }[] }[];
  annotations: { list: { name: string; expr?: string }[] };
};

/** Every counting query of the dashboard, by `panel title/refId` or `annotation name`. */
function countingQueries(): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of dashboard.panels)
    for (const t of p.targets ?? [])
      if (t.expr.includes('increase(')) out.set(`${p.title}/${t.refId}`, t.expr);
  for (const a of dashboard.annotations.list)
    if (a.expr?.includes('increase(')) out.set(`annotation ${a.name}`, a.expr);
  return out;
}

const concrete = (expr: string): string =>
  expr.replaceAll('$__rate_interval', '5m').replaceAll('$__range', '30m').replaceAll('$job', 'app');

const RELOADS = 'graylane_config_reloads_total';
const reloads = (source: string, result: string) =>
  `${RELOADS}{job="app",instance="a:9464",source="${source}",result="${result}"}`;
const missing = (destination: string) =>
  `graylane_propagation_total{job="app",instance="a:9464",destination="${destination}",result="missing"}`;

interface Row {
  readonly name: string;
  readonly query: string;
  /** promtool input series, 1 m apart. */
  readonly series: Record<string, string>;
  readonly at: string;
  /** Expected samples: labels → value. */
  readonly want: Record<string, number>;
  /** Held with the queries before (a series that was scraped at 0 first). */
  readonly control?: boolean;
}

const BY_RESULT = 'Config reloads by source and result/A';
const REJECTED = 'Rejected and failed loads (time range)/A';
const FAILED = 'Rejected and failed loads (time range)/B';
const CHANGES = 'annotation Config changes';
const MISSING = 'Missing marker by destination (top 10, time range)/A';

const ROWS: Row[] = [
  // Reloads by source and result ($__rate_interval = 5m).
  {
    name: 'the first load of a process: changed born at 1',
    query: BY_RESULT,
    series: { [reloads('file', 'changed')]: '_x10 1x20' },
    at: '12m',
    want: { '{source="file",result="changed"}': 1 },
  },
  {
    name: 'a wrong URL at deploy: failed born at 3 (three attempts before the first scrape)',
    query: BY_RESULT,
    series: { [reloads('http', 'failed')]: '_x10 3 3 4 4 4 4 4 4 4 4' },
    at: '12m',
    want: { '{source="http",result="failed"}': 4 },
  },
  {
    name: 'scraped at 0 first, then one rejection',
    query: BY_RESULT,
    series: { [reloads('file', 'rejected')]: '0x10 1x20' },
    at: '12m',
    want: { '{source="file",result="rejected"}': 1 },
    control: true,
  },
  {
    name: 'a series born long ago, nothing since',
    query: BY_RESULT,
    series: { [reloads('file', 'changed')]: '1x40' },
    at: '30m',
    want: { '{source="file",result="changed"}': 0 },
    control: true,
  },
  {
    name: 'a restart: the counter starts again at 1',
    query: BY_RESULT,
    series: { [reloads('file', 'changed')]: '4x10 1x10' },
    at: '13m',
    want: { '{source="file",result="changed"}': 1 },
    control: true,
  },
  // Rejected and failed loads in the range ($__range = 30m).
  {
    name: 'a bad document at deploy: rejected born at 1',
    query: REJECTED,
    series: { [reloads('file', 'rejected')]: '_x20 1x30' },
    at: '40m',
    want: { '{}': 1 },
  },
  {
    name: 'two sources, one born at 2, one scraped at 0 then 1',
    query: REJECTED,
    series: {
      [reloads('a', 'rejected')]: '_x20 2x30',
      [reloads('b', 'rejected')]: '0x20 1x30',
    },
    at: '40m',
    want: { '{}': 3 },
  },
  {
    name: 'no rejection in the range',
    query: REJECTED,
    series: { [reloads('file', 'rejected')]: '0x60' },
    at: '50m',
    want: { '{}': 0 },
    control: true,
  },
  {
    name: 'no series at all: 0, not empty',
    query: REJECTED,
    series: { [reloads('file', 'changed')]: '1x60' },
    at: '50m',
    want: { '{}': 0 },
    control: true,
  },
  {
    name: 'a source down at deploy: failed born at 5, growing',
    query: FAILED,
    series: { [reloads('http', 'failed')]: '_x20 5+1x20' },
    at: '30m',
    want: { '{}': 15 },
  },
  {
    name: 'failures after a scrape at 0',
    query: FAILED,
    series: { [reloads('http', 'failed')]: '0x20 1x30' },
    at: '40m',
    want: { '{}': 1 },
  },
  // Config-change annotations (1m).
  {
    name: 'the first load of a process is a change',
    query: CHANGES,
    series: { [reloads('file', 'changed')]: '_x10 1x20' },
    at: '10m',
    want: { '{source="file"}': 1 },
  },
  {
    name: 'a change after a scrape at 0',
    query: CHANGES,
    series: { [reloads('file', 'changed')]: '0x10 1x20' },
    at: '11m',
    want: { '{source="file"}': 1 },
    control: true,
  },
  {
    name: 'no change: no annotation',
    query: CHANGES,
    series: { [reloads('file', 'changed')]: '1x30' },
    at: '20m',
    want: {},
    control: true,
  },
  // Destinations reached without the marker, in the range.
  {
    name: 'the first misses of a destination: born at 7',
    query: MISSING,
    series: { [missing('http://orders:80')]: '_x20 7x30' },
    at: '40m',
    want: { '{destination="http://orders:80"}': 7 },
  },
  {
    name: 'an old destination that keeps missing, and a new one',
    query: MISSING,
    series: {
      [missing('http://orders:80')]: '0+1x60',
      [missing('http://pay:80')]: '_x40 2x20',
    },
    at: '60m',
    want: { '{destination="http://orders:80"}': 30, '{destination="http://pay:80"}': 2 },
  },
];

const dir = mkdtempSync(join(tmpdir(), 'graylane-dashboard-promql-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(row: Row, expr: string): string {
  writeFileSync(join(dir, 'none.yml'), 'groups: []\n');
  const test = {
    rule_files: [join(dir, 'none.yml')],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: Object.entries(row.series).map(([series, values]) => ({ series, values })),
        promql_expr_test: [
          {
            expr: concrete(expr),
            eval_time: row.at,
            exp_samples: Object.entries(row.want).map(([labels, value]) => ({ labels, value })),
          },
        ],
      },
    ],
  };
  const file = join(dir, 'test.yml');
  writeFileSync(file, JSON.stringify(test));
  try {
    execFileSync(promtool as string, ['test', 'rules', file], { encoding: 'utf8' });
    return '';
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

describe.skipIf(promtool === undefined)('dashboard counting queries (promtool)', () => {
  const queries = countingQueries();

  it('every counting query counts a series that is new in its window', () => {
    expect([...queries.keys()].sort()).toEqual(
      [BY_RESULT, CHANGES, FAILED, MISSING, REJECTED].sort(),
    );
    for (const [where, expr] of queries)
      // (S > 0 unless S offset W) or increase(S[W]): the same selector and window three times.
      expect(expr, where).toMatch(
        /\((\w+\{[^}]*\}) > 0 unless \1 offset (\S+)\) or increase\(\1\[\2\]\)/,
      );
  });

  for (const row of ROWS)
    it(`${row.control ? 'control: ' : ''}${row.query}: ${row.name}`, () => {
      const expr = queries.get(row.query);
      expect(expr, row.query).toBeDefined();
      expect(run(row, expr as string)).toBe('');
    });
});
