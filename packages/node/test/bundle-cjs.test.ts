import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Install boundary: an app bundled to CommonJS with esbuild (AWS CDK's `NodejsFunction`,
 * serverless-esbuild, tsup's default) gets graylane's ESM build (an `import` picks the `import`
 * condition) and esbuild leaves `import.meta.url` undefined there. `installGlobal()` threw at
 * startup (`createRequire(undefined)`), the OTel bridge and OTel metrics were silently off, and
 * `@graylane/queue/nats` threw without a header factory (helper 88). The bundles run as a user
 * runs them, in their own process, next to the repository's node_modules (as a deployment that
 * marks the optional peers external keeps them); each prints what it saw.
 */
const repo = fileURLToPath(new URL('../../../', import.meta.url));
let dir = '';
beforeAll(() => {
  mkdirSync(join(repo, '.tmp'), { recursive: true });
  dir = mkdtempSync(join(repo, '.tmp', 'bundle-cjs-'));
});
afterAll(() => process.env.KEEP_BUNDLE || rmSync(dir, { recursive: true, force: true }));

const NODE_APP = `
import http from 'node:http';
import net from 'node:net';
import { context, propagation, metrics } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, InMemoryMetricExporter, PeriodicExportingMetricReader, AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { createGraylane, getGrayVersion, installGlobal } from '@graylane/node';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
const out = { installGlobal: 'not called' };
const seen = [];
const upstream = http.createServer((req, res) => { seen.push(req.headers['x-gray-id'] ?? null); res.end('ok'); });
upstream.listen(0, '127.0.0.1', () => {
  const port = upstream.address().port;
  try { installGlobal({ allowHosts: ['127.0.0.1:' + port] }); out.installGlobal = 'ok'; }
  catch (e) { out.installGlobal = String(e); }
  const gray = createGraylane({ config: { versions: ['stable', 'beta'], default: 'stable' }, allowHosts: ['127.0.0.1:' + port] });
  const app = http.createServer((req, res) => gray.handle(req, res, () => {
    out.version = getGrayVersion();
    out.otelBaggage = propagation.getBaggage(context.active())?.getEntry('gray')?.value ?? null;
    http.get('http://127.0.0.1:' + port + '/', (r) => { r.resume(); r.on('end', () => res.end()); });
  }));
  app.listen(0, '127.0.0.1', async () => {
    // A raw client: installGlobal judges this process's own calls, and the app is no allowlisted host.
    await new Promise((resolve) => {
      const socket = net.connect(app.address().port, '127.0.0.1', () =>
        socket.end('GET / HTTP/1.1\\r\\nHost: app\\r\\nX-Gray-Id: beta\\r\\nConnection: close\\r\\n\\r\\n'));
      socket.on('data', () => undefined).on('close', resolve);
    });
    out.upstream = seen;
    await reader.forceFlush();
    out.metrics = exporter.getMetrics().flatMap((m) => m.scopeMetrics).flatMap((s) => s.metrics).map((m) => m.descriptor.name).filter((n) => n.startsWith('graylane.'));
    console.log(JSON.stringify(out));
    app.close(); upstream.close(); await reader.shutdown();
  });
});
`;

const QUEUE_APP = `
import { runWithGray } from '@graylane/node';
import { createMessageLanes } from '@graylane/queue';
import { grayNatsHeaders } from '@graylane/queue/nats';
const lanes = createMessageLanes({ config: { versions: ['stable', 'beta'], default: 'stable' } });
let out;
try { out = { header: runWithGray('beta', () => grayNatsHeaders(lanes).get('x-gray-id')) }; }
catch (e) { out = { header: String(e) }; }
console.log(JSON.stringify(out));
`;

async function bundleAndRun(name: string, source: string): Promise<Record<string, unknown>> {
  const entry = join(dir, `${name}.mjs`);
  writeFileSync(entry, source);
  const outfile = join(dir, `${name}.cjs`);
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile,
    logLevel: 'silent',
    // As OTel asks of bundles: the api and the SDK stay one copy, resolved at run time.
    external: ['@opentelemetry/*', 'nats', '@nats-io/*'],
    nodePaths: [join(repo, 'node_modules')],
  });
  const run = spawnSync(process.execPath, [outfile], { encoding: 'utf8', timeout: 20_000 });
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  expect(line, run.stderr).not.toBe('');
  return JSON.parse(line) as Record<string, unknown>;
}

describe('an app bundled to CommonJS with esbuild (graylane inlined from its ESM build)', () => {
  it('@graylane/node: installGlobal works, the OTel bridge and metrics are on, the lane is carried', async () => {
    const out = await bundleAndRun('node-app', NODE_APP);
    expect(out).toMatchObject({
      installGlobal: 'ok',
      version: 'beta',
      otelBaggage: 'beta',
      upstream: ['beta'],
    });
    expect(out.metrics).toContain('graylane.decisions');
  });

  it('@graylane/queue/nats: the installed NATS client is found without a header factory', async () => {
    expect(await bundleAndRun('queue-app', QUEUE_APP)).toEqual({ header: 'beta' });
  });
});
