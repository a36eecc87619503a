import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// Review 108 D1/D2: the alert rules docs/observability.md ships, run by `promtool test rules`
// against the series shapes graylane's metrics really take in Prometheus — a series created at 0
// (each source's reload results), a series born at 1 (the first `propagation{result="missing"}`
// of a destination, a first `queue.moved`, a counter whose 0 was never scraped), a reset after a
// restart, and a staleness gauge counting from the start. `increase()` needs two samples: a
// series born at 1 has no increase, so the rules also catch a series that is new and above 0.
// Skipped when promtool is not installed (`apt-get install prometheus`).

const promtool = ((): string | undefined => {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? 'promtool' : undefined;
})();
// CI installs it (.ci/run): there a missing promtool is a failure, not a skip.
if (promtool === undefined && process.env['CI'])
  throw new Error('promtool is not installed (apt-get install prometheus)');

const root = new URL('../../../../', import.meta.url);
const page = readFileSync(new URL('docs/observability.md', root), 'utf8');
/** The YAML block of the "Alerts" section, verbatim. */
const rules = /## Alerts[\s\S]*?```yaml\n([\s\S]*?)```/.exec(page)?.[1] ?? '';

/** An alert's labels and annotations as the docs declare them. */
function declared(alert: string): { labels: Record<string, string>; summary: string } {
  const at = rules.indexOf(`- alert: ${alert}\n`);
  const block = rules.slice(at, rules.indexOf('- alert:', at + 1) >>> 0 || undefined);
  const severity = /severity: (\w+)/.exec(block)?.[1] ?? '';
  const summary = /summary: '([^']*)'/.exec(block)?.[1] ?? '';
  return { labels: { severity }, summary };
}

interface Row {
  name: string;
  alert: string;
  /** `promtool` input series: `{ series, values }` (1 m steps). */
  series: Array<{ series: string; values: string }>;
  evalAt: string;
  /** The labels of each alert expected to be firing at `evalAt` (besides `severity`). */
  firing: Array<Record<string, string>>;
  /** Holds with the rules before review 108 too. */
  control?: boolean;
}

const REJ = 'graylane_config_reloads_total{job="app",source="file",result="rejected"}';
const MISS =
  'graylane_propagation_total{job="app",destination="http://orders:80",result="missing"}';
const MOVED = 'graylane_queue_moved_total{job="app",lane="beta",how="drained"}';
const STALE = 'graylane_config_staleness{job="app",source="http"}';

const ROWS: Row[] = [
  {
    name: 'one bad push, the series created at 0 at start',
    alert: 'GraylaneConfigRejected',
    series: [{ series: REJ, values: '0x5 1x20' }],
    evalAt: '8m',
    firing: [{ job: 'app', source: 'file' }],
    control: true,
  },
  {
    name: 'one bad push before the first scrape: the series is born at 1',
    alert: 'GraylaneConfigRejected',
    series: [{ series: REJ, values: '_x5 1x20' }],
    evalAt: '8m',
    firing: [{ job: 'app', source: 'file' }],
  },
  {
    name: 'a process started with a bad document: born at 1 at its first scrape',
    alert: 'GraylaneConfigRejected',
    series: [{ series: REJ, values: '1x20' }],
    evalAt: '3m',
    firing: [{ job: 'app', source: 'file' }],
  },
  {
    name: 'no rejection: the series sits at 0',
    alert: 'GraylaneConfigRejected',
    series: [{ series: REJ, values: '0x40' }],
    evalAt: '30m',
    firing: [],
    control: true,
  },
  {
    name: 'an old rejection, nothing since: resolved',
    alert: 'GraylaneConfigRejected',
    series: [{ series: REJ, values: '_x3 2x40' }],
    evalAt: '30m',
    firing: [],
  },
  {
    name: 'a restart resets the counter to 0: not a rejection',
    alert: 'GraylaneConfigRejected',
    series: [{ series: REJ, values: '2x20 0x20' }],
    evalAt: '25m',
    firing: [],
    control: true,
  },
  {
    name: 'the first miss of a destination: born at 1',
    alert: 'GraylaneLaneBroken',
    series: [{ series: MISS, values: '_x5 1x20' }],
    evalAt: '8m',
    firing: [{ job: 'app', destination: 'http://orders:80' }],
  },
  {
    name: 'a first burst of misses: born at 7',
    alert: 'GraylaneLaneBroken',
    series: [{ series: MISS, values: '_x5 7x20' }],
    evalAt: '12m',
    firing: [{ job: 'app', destination: 'http://orders:80' }],
  },
  {
    name: 'misses going on',
    alert: 'GraylaneLaneBroken',
    series: [{ series: MISS, values: '_x5 1+1x20' }],
    evalAt: '20m',
    firing: [{ job: 'app', destination: 'http://orders:80' }],
    control: true,
  },
  {
    name: 'carried calls only',
    alert: 'GraylaneLaneBroken',
    series: [{ series: MISS.replace('missing', 'carried'), values: '_x5 3+3x20' }],
    evalAt: '12m',
    firing: [],
    control: true,
  },
  {
    name: 'moves going on in a new series (for: 10m)',
    alert: 'GraylaneQueueLaneMoved',
    series: [{ series: MOVED, values: '_x5 2+2x30' }],
    evalAt: '17m',
    firing: [{ job: 'app', lane: 'beta', how: 'drained' }],
    control: true,
  },
  {
    name: 'the first moves, a new series, still moving after 10 m',
    alert: 'GraylaneQueueLaneMoved',
    series: [{ series: MOVED, values: '_x5 4 4 4 4 4 4 4 4 4 5 6 7 8 9' }],
    evalAt: '18m',
    firing: [{ job: 'app', lane: 'beta', how: 'drained' }],
  },
  {
    name: 'a source that never succeeded: its staleness counts from the start',
    alert: 'GraylaneSourceStale',
    series: [{ series: STALE, values: '0+60x20' }],
    evalAt: '12m',
    firing: [{ job: 'app', source: 'http' }],
    control: true,
  },
  {
    name: 'a source stopped on purpose reads 0',
    alert: 'GraylaneSourceStale',
    series: [{ series: STALE, values: '0+60x8 0x20' }],
    evalAt: '20m',
    firing: [],
    control: true,
  },
];

const dir = mkdtempSync(join(tmpdir(), 'graylane-alerts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs one row through `promtool test rules` on `rulesText`; returns its output, or '' on success. */
function runRow(row: Row, rulesText: string): string {
  const rulesFile = join(dir, 'rules.yml');
  writeFileSync(rulesFile, rulesText);
  const { summary, labels } = declared(row.alert);
  const test = {
    rule_files: [rulesFile],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: row.series,
        alert_rule_test: [
          {
            eval_time: row.evalAt,
            alertname: row.alert,
            exp_alerts: row.firing.map((l) => ({
              exp_labels: { ...labels, ...l },
              exp_annotations: { summary },
            })),
          },
        ],
      },
    ],
  };
  const testFile = join(dir, 'test.yml');
  // YAML is a superset of JSON.
  writeFileSync(testFile, JSON.stringify(test));
  try {
    execFileSync(promtool as string, ['test', 'rules', testFile], { encoding: 'utf8' });
    return '';
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

describe.skipIf(promtool === undefined)('the shipped alert rules (promtool test rules)', () => {
  it('the docs hold the rules, and promtool accepts them', () => {
    expect(rules).toMatch(/- alert: GraylaneConfigRejected/);
    const file = join(dir, 'check.yml');
    writeFileSync(file, rules);
    expect(() => execFileSync(promtool as string, ['check', 'rules', file])).not.toThrow();
  });
  for (const row of ROWS)
    it(`${row.control ? 'control: ' : ''}${row.alert}: ${row.name} → ${row.firing.length ? 'fires' : 'silent'}`, () => {
      expect(runRow(row, rules)).toBe('');
    });
});
