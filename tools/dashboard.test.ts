import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { METRIC_NAMES } from '@graylane/core';
import { createGraylane, grayHandlers, installCoverage, withGray } from '@graylane/node';
import { createFileSource, startSources, type SourcesHandle } from '@graylane/node/sources';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * docs/dashboards/graylane.grafana.json and the alert rules in docs/observability.md: every
 * PromQL query must name metrics graylane really exports, under the names Prometheus sees, and
 * only labels those metrics carry. The names are derived from core's METRIC_NAMES (and the source
 * metrics) the way OpenTelemetry's Prometheus translation does, and the derivation is checked
 * against a real scrape of the OpenTelemetry JS Prometheus exporter fed by the real middleware,
 * outbound wrapper and rule sources.
 */

const root = new URL('../', import.meta.url);
const dashboard = JSON.parse(
  readFileSync(new URL('docs/dashboards/graylane.grafana.json', root), 'utf8'),
);
const observability = readFileSync(new URL('docs/observability.md', root), 'utf8');

interface MetricSpec {
  /** The OpenTelemetry instrument name. */
  readonly name: string;
  readonly kind: 'counter' | 'gauge';
  readonly unit?: string;
  readonly labels: readonly string[];
  /** Agreed but not yet recorded by any package (so not in a scrape yet). */
  readonly pending?: boolean;
  /**
   * Recorded only by `@graylane/queue` around a broker: not in this file's scrape (fed by the
   * Node middleware); packages/queue/test/amqp.test.ts reads it from a real broker's run.
   */
  readonly queue?: boolean;
}

/**
 * The propagation-coverage counter (issue 19, `installCoverage()`): `graylane.propagation`,
 * attribute `result` = carried | missing | withheld, and `destination`. It is pending (not
 * expected in the scrape) only if it ever leaves METRIC_NAMES.
 */
const PROPAGATION = 'graylane.propagation';

/** Every metric graylane records, with its attributes (METRIC_NAMES docs, sources/metrics.ts). */
const CATALOGUE: readonly MetricSpec[] = [
  { name: METRIC_NAMES.decisions, kind: 'counter', labels: ['version', 'reason', 'source'] },
  { name: METRIC_NAMES.invalidMarkers, kind: 'counter', labels: ['source', 'reason'] },
  { name: METRIC_NAMES.outbound, kind: 'counter', labels: ['result'] },
  { name: METRIC_NAMES.reloads, kind: 'counter', labels: ['source', 'result'] },
  { name: METRIC_NAMES.staleness, kind: 'gauge', unit: 's', labels: ['source'] },
  { name: METRIC_NAMES.fallbacks, kind: 'counter', labels: ['wanted', 'served'] },
  { name: METRIC_NAMES.queueMoved, kind: 'counter', labels: ['lane', 'how'], queue: true },
  {
    name: PROPAGATION,
    kind: 'counter',
    labels: ['result', 'destination'],
    pending: !Object.values(METRIC_NAMES).includes(PROPAGATION as never),
  },
];

/** Labels Prometheus adds to every series (scrape target), and the exporter's scope labels. */
const TARGET_LABELS = ['job', 'instance'];
const SCOPE_LABELS = ['otel_scope_name', 'otel_scope_version', 'otel_scope_schema_url'];

/** OTel unit → Prometheus suffix (OpenTelemetry "Prometheus and OpenMetrics Compatibility"). */
const UNIT_SUFFIXES: Readonly<Record<string, string>> = {
  s: 'seconds',
  ms: 'milliseconds',
  By: 'bytes',
  '1': '',
};

/**
 * The names Prometheus may see for one instrument: dots (and any other invalid character) become
 * underscores and monotonic counters get `_total` — what the OpenTelemetry JS Prometheus exporter
 * does — and, through the Collector or Prometheus' OTLP receiver, the unit suffix too.
 */
export function prometheusNames(spec: MetricSpec): { exporter: string; collector: string } {
  const base = spec.name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/_+/g, '_');
  const unit = spec.unit === undefined ? '' : (UNIT_SUFFIXES[spec.unit] ?? spec.unit);
  const withUnit = unit !== '' && !base.endsWith(`_${unit}`) ? `${base}_${unit}` : base;
  const total = (n: string) => (spec.kind === 'counter' ? `${n}_total` : n);
  return { exporter: total(base), collector: total(withUnit) };
}

const KNOWN = new Map<string, MetricSpec>();
for (const spec of CATALOGUE) {
  const { exporter, collector } = prometheusNames(spec);
  KNOWN.set(exporter, spec);
  KNOWN.set(collector, spec);
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
]);
const MATCHER =
  /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/g;

/** The metric names and label names one PromQL expression uses. Throws on what it cannot read. */
export function readPromql(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = [];
  let s = expr.replace(/\{([^}]*)\}/g, (_, body: string) => {
    for (const m of body.matchAll(MATCHER)) labels.push(m[1] as string);
    const rest = body.replace(MATCHER, '').replace(/[\s,]/g, '');
    if (rest !== '') throw new Error(`unreadable label matchers {${body}} in ${expr}`);
    return ' ';
  });
  s = s
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    // `offset 1m`, `offset $__range`: a duration or a Grafana variable, not a metric.
    .replace(/\boffset\s+(?:\$\{?\w+\}?|\d+[a-z]+)/g, ' ')
    .replace(
      /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
      (_, list: string) => {
        labels.push(
          ...list
            .split(',')
            .map((l) => l.trim())
            .filter((l) => l !== ''),
        );
        return ' ';
      },
    )
    .replace(/(?<![\w$])\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, ' ');
  const metrics: string[] = [];
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const next = s.slice((m.index ?? 0) + word.length).trimStart();
    if (next.startsWith('(') || KEYWORDS.has(word)) continue;
    metrics.push(word);
  }
  if (labels.includes('__name__')) throw new Error(`select metrics by name, not __name__: ${expr}`);
  return { metrics, labels };
}

/** Every PromQL expression in the dashboard: panel targets, annotations, variable queries. */
function dashboardQueries(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const panel of dashboard.panels as { title: string; targets?: { expr: string }[] }[]) {
    for (const t of panel.targets ?? [])
      out.push({ where: `panel "${panel.title}"`, expr: t.expr });
  }
  for (const a of dashboard.annotations.list as { name: string; expr?: string }[]) {
    if (a.expr !== undefined) out.push({ where: `annotation "${a.name}"`, expr: a.expr });
  }
  for (const v of dashboard.templating.list as {
    name: string;
    type: string;
    query: { query?: string } | string;
  }[]) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query.query ?? '');
    const m = /^label_values\(\s*([^,]+),\s*(\w+)\s*\)$/.exec(q);
    if (!m) throw new Error(`variable ${v.name}: unexpected query ${q}`);
    out.push({ where: `variable "${v.name}"`, expr: `count by (${m[2]}) (${m[1]})` });
  }
  return out;
}

/** The `expr:` lines of the Prometheus alerting rules in docs/observability.md. */
function alertQueries(): { where: string; expr: string }[] {
  const blocks = [...observability.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const out: { where: string; expr: string }[] = [];
  for (const block of blocks) {
    let alert = '?';
    for (const line of block.split('\n')) {
      const a = /^\s*-\s*alert:\s*(\S+)/.exec(line);
      if (a) alert = a[1] as string;
      const e = /^\s*expr:\s*(.+)$/.exec(line);
      if (e)
        out.push({ where: `alert ${alert}`, expr: (e[1] as string).replace(/^'(.*)'$/, '$1') });
    }
  }
  return out;
}

function checkQuery({ where, expr }: { where: string; expr: string }): string[] {
  const { metrics: names, labels } = readPromql(expr);
  const problems: string[] = [];
  if (names.length === 0) problems.push(`${where}: no metric in ${expr}`);
  const specs = names.map((n) => {
    const spec = KNOWN.get(n);
    if (!spec)
      problems.push(`${where}: unknown metric ${n} (known: ${[...KNOWN.keys()].join(', ')})`);
    return spec;
  });
  const allowed = new Set([...TARGET_LABELS, ...specs.flatMap((s) => s?.labels ?? [])]);
  for (const l of labels)
    if (!allowed.has(l)) problems.push(`${where}: label ${l} is not on ${names.join(', ')}`);
  return problems;
}

describe('PromQL reader (the checker itself)', () => {
  it.each([
    [
      'sum by (version) (rate(graylane_decisions_total{job=~"$job"}[$__rate_interval]))',
      ['graylane_decisions_total'],
      ['job', 'version'],
    ],
    ['a / ignoring (version) group_left sum(b{x="1", y!~"2"})', ['a', 'b'], ['x', 'y', 'version']],
    [
      'max by (source) (x_seconds{j="1"} or x{j="2"}) > 300',
      ['x_seconds', 'x'],
      ['j', 'j', 'source'],
    ],
    ['sum(increase(m_total{result="rejected"}[$__range])) or vector(0)', ['m_total'], ['result']],
    [
      '(m_total{r="1"} > 0 unless m_total{r="1"} offset $__range) or increase(m_total[1m] offset 5m)',
      ['m_total', 'm_total', 'm_total'],
      ['r', 'r'],
    ],
    ['histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m]))) > 1e3', ['h_bucket'], ['le']],
  ])('%s', (expr, metricsSeen, labelsSeen) => {
    const read = readPromql(expr);
    expect(read.metrics).toEqual(metricsSeen);
    expect(read.labels.sort()).toEqual([...labelsSeen].sort());
  });

  it('refuses what it cannot check', () => {
    expect(() => readPromql('{__name__=~"graylane_.*"}')).toThrow(/__name__/);
    expect(() => readPromql('m{job}')).toThrow(/unreadable/);
  });

  it('flags an unknown metric and a label the metric does not carry', () => {
    expect(checkQuery({ where: 'x', expr: 'rate(graylane_decisions[5m])' })).toEqual([
      expect.stringContaining('unknown metric graylane_decisions'),
    ]);
    expect(
      checkQuery({ where: 'x', expr: 'sum by (version) (graylane_lane_fallbacks_total)' }),
    ).toEqual([expect.stringContaining('label version is not on graylane_lane_fallbacks_total')]);
  });
});

describe('metric names: METRIC_NAMES → Prometheus', () => {
  it('the catalogue lists every METRIC_NAMES entry', () => {
    const listed = new Set(CATALOGUE.map((c) => c.name));
    expect(Object.values(METRIC_NAMES).filter((n) => !listed.has(n))).toEqual([]);
  });

  it('the derivation follows OpenTelemetry: dots → underscores, _total on counters, unit suffix via the Collector', () => {
    const names = Object.fromEntries(CATALOGUE.map((c) => [c.name, prometheusNames(c)]));
    expect(names).toEqual({
      'graylane.decisions': {
        exporter: 'graylane_decisions_total',
        collector: 'graylane_decisions_total',
      },
      'graylane.markers.invalid': {
        exporter: 'graylane_markers_invalid_total',
        collector: 'graylane_markers_invalid_total',
      },
      'graylane.outbound': {
        exporter: 'graylane_outbound_total',
        collector: 'graylane_outbound_total',
      },
      'graylane.config.reloads': {
        exporter: 'graylane_config_reloads_total',
        collector: 'graylane_config_reloads_total',
      },
      'graylane.config.staleness': {
        exporter: 'graylane_config_staleness',
        collector: 'graylane_config_staleness_seconds',
      },
      'graylane.lane.fallbacks': {
        exporter: 'graylane_lane_fallbacks_total',
        collector: 'graylane_lane_fallbacks_total',
      },
      'graylane.propagation': {
        exporter: 'graylane_propagation_total',
        collector: 'graylane_propagation_total',
      },
      'graylane.queue.moved': {
        exporter: 'graylane_queue_moved_total',
        collector: 'graylane_queue_moved_total',
      },
    });
  });

  describe('a real scrape of the OpenTelemetry JS Prometheus exporter', () => {
    const servers: http.Server[] = [];
    let provider: MeterProvider;
    let sources: SourcesHandle;
    let dir: string;
    let text = '';
    let uninstallCoverage: (() => void) | undefined;

    const listen = async (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
      const server = http.createServer(handler);
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };

    beforeAll(async () => {
      const exporter = new PrometheusExporter({ preventServerStart: true });
      provider = new MeterProvider({ readers: [exporter] });
      metrics.setGlobalMeterProvider(provider);
      const scrape = await listen((req, res) => exporter.getMetricsRequestHandler(req, res));

      dir = mkdtempSync(join(tmpdir(), 'graylane-dashboard-'));
      const rules = join(dir, 'rules.json');
      writeFileSync(rules, JSON.stringify({ versions: ['stable', 'beta'], default: 'stable' }));
      const upstream = await listen((_req, res) => res.end('ok'));
      const upstreamHost = new URL(upstream).host;
      const gray = createGraylane({
        config: { versions: ['stable', 'beta'], default: 'stable' },
        allowHosts: [upstreamHost],
      });
      sources = startSources(
        gray.store,
        [
          createFileSource({
            path: rules,
            name: 'file',
            debounceMs: 10,
            logger: { warn: () => undefined, error: () => undefined },
          }),
        ],
        {
          meter: metrics.getMeter('@graylane/node'),
        },
      );
      await sources.ready;
      // Propagation coverage: one wrapped call (carried) and one plain call (missing) per request.
      uninstallCoverage = installCoverage({
        allowHosts: [upstreamHost],
        logger: { warn: () => undefined, error: () => undefined },
      });
      const grayFetch = withGray(fetch);
      const work = grayHandlers<(res: ServerResponse) => void>(
        { stable: (res) => res.end('stable') },
        { fallback: 'stable' },
      );
      const app = await listen((req, res) =>
        gray.handle(req, res, () => {
          void grayFetch(upstream)
            .then((r) => r.text())
            .then(() => fetch(upstream))
            .then((r) => r.text())
            .then(() => work(res));
        }),
      );
      for (const marker of ['beta', 'gamma', 'stable'])
        await (await fetch(app, { headers: { 'x-gray-id': marker } })).text();
      writeFileSync(rules, '{"versions": [], "default": "x"}');
      const deadline = Date.now() + 10_000;
      while (!text.includes('result="rejected"') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        text = await (await fetch(scrape)).text();
      }
    }, 30_000);

    afterAll(async () => {
      uninstallCoverage?.();
      await sources?.stop();
      await provider?.shutdown();
      metrics.disable();
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('exports exactly the derived names, with the expected types and labels', () => {
      const types = new Map(
        [...text.matchAll(/^# TYPE (graylane_\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]),
      );
      const recorded = CATALOGUE.filter((c) => !c.pending && !c.queue);
      expect(Object.fromEntries(types)).toEqual(
        Object.fromEntries(recorded.map((c) => [prometheusNames(c).exporter, c.kind])),
      );
      for (const spec of recorded) {
        const name = prometheusNames(spec).exporter;
        const seen = new Set<string>();
        for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\}`, 'gm'))) {
          for (const l of (m[1] as string).matchAll(/(\w+)="/g)) seen.add(l[1] as string);
        }
        expect([...seen].filter((l) => !SCOPE_LABELS.includes(l)).sort(), name).toEqual(
          [...spec.labels].sort(),
        );
      }
    });
  });
});

describe('docs/dashboards/graylane.grafana.json', () => {
  const queries = dashboardQueries();

  it('every query names real metrics and only labels they carry', () => {
    expect(queries.length).toBeGreaterThan(10);
    expect(queries.flatMap(checkQuery)).toEqual([]);
  });

  it('covers traffic share, fallbacks, invalid markers, outbound, propagation misses, reloads, staleness and queue moves', () => {
    const used = new Set(queries.flatMap((q) => readPromql(q.expr).metrics));
    for (const spec of CATALOGUE) {
      const { exporter, collector } = prometheusNames(spec);
      expect(used.has(exporter) || used.has(collector), spec.name).toBe(true);
    }
    // Staleness is read under both names: the JS exporter's and the Collector's.
    expect(
      used.has('graylane_config_staleness') && used.has('graylane_config_staleness_seconds'),
    ).toBe(true);
    expect(queries.some((q) => /result="missing"/.test(q.expr))).toBe(true);
    expect(queries.some((q) => /result="rejected"/.test(q.expr))).toBe(true);
    expect(queries.some((q) => /result="failed"/.test(q.expr))).toBe(true);
  });

  it('is an importable Grafana dashboard: datasource variable, unique ids, a grid, refIds', () => {
    expect(dashboard).toMatchObject({
      title: 'graylane',
      uid: 'graylane-overview',
      schemaVersion: expect.any(Number),
    });
    const vars = dashboard.templating.list as { name: string; type: string; query: unknown }[];
    expect(vars.find((v) => v.name === 'datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
    });
    const panels = dashboard.panels as {
      id: number;
      type: string;
      gridPos: { x: number; y: number; w: number; h: number };
      datasource?: { uid: string };
      targets?: { refId: string; datasource: { uid: string } }[];
    }[];
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.datasource?.uid).toBe('${datasource}');
      expect(p.targets?.length).toBeGreaterThan(0);
      for (const t of p.targets ?? [])
        expect(t).toMatchObject({
          refId: expect.any(String),
          datasource: { uid: '${datasource}' },
        });
    }
    // No two panels overlap on the grid.
    const cells = new Set<string>();
    for (const p of panels) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const key = `${x},${y}`;
          expect(cells.has(key), `overlap at ${key}`).toBe(false);
          cells.add(key);
        }
      }
    }
  });
});

describe('docs/observability.md alert rules', () => {
  it('every alert expression names real metrics and only labels they carry', () => {
    const alerts = alertQueries();
    expect(alerts.length).toBeGreaterThanOrEqual(4);
    expect(alerts.flatMap(checkQuery)).toEqual([]);
  });

  it('the metric table lists each metric under its Prometheus names', () => {
    for (const spec of CATALOGUE) {
      const { exporter, collector } = prometheusNames(spec);
      expect(observability).toContain(`\`${spec.name}\``);
      expect(observability).toContain(`\`${exporter}\``);
      expect(observability).toContain(`\`${collector}\``);
    }
  });
});
