#!/usr/bin/env node
// The A → B (OpenTelemetry only) → C chain on today's OpenTelemetry line, from packed tarballs.
//
//   node tests/otel-current/run.mjs [--node /path/to/node] [--skip-install | --install-only]
//
// 1. packs @graylane/core, node and otel (built dist, `npm pack --ignore-scripts`) into a temp dir;
// 2. installs them into this non-workspace project next to its pinned OTel 3.x dependencies
//    (`npm install --no-save --prefer-offline --prefix tests/otel-current <tarballs>`), so the
//    peer ranges are what a user gets;
// 3. runs the chain over express and fastify with http.get, fetch and withGray(fetch) under the
//    given node binary (default: this one), and prints `N passed, N failed`.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checks } from './checks.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..', '..');
const PACKAGES = ['core', 'node', 'otel'];
const START_TIMEOUT_MS = 30_000;

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : (args[i + 1] ?? '');
};
const nodeBin = flag('--node') ?? process.env.GRAYLANE_NODE ?? process.execPath;

function run(cmd, cmdArgs, cwd = ROOT) {
  const r = spawnSync(cmd, cmdArgs, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${cmdArgs.join(' ')} failed (${r.status})\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** Packs the built packages (no prepack: CI built them already) and installs the tarballs. */
function packAndInstall() {
  for (const p of PACKAGES) {
    if (!existsSync(join(ROOT, 'packages', p, 'dist', 'index.js'))) {
      throw new Error(`packages/${p}/dist is missing: run \`npm run build\` first`);
    }
  }
  const dest = mkdtempSync(join(tmpdir(), 'graylane-otel-current-'));
  try {
    const packed = JSON.parse(
      run('npm', [
        'pack',
        ...PACKAGES.flatMap((p) => ['-w', `@graylane/${p}`]),
        '--ignore-scripts',
        '--json',
        '--pack-destination',
        dest,
      ]),
    );
    const tarballs = packed.map((p) => join(dest, p.filename));
    const started = Date.now();
    run('npm', [
      'install',
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--prefix',
      HERE,
      ...tarballs,
    ]);
    console.log(`installed ${tarballs.length} tarballs in ${Date.now() - started} ms`);
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
}

/** Spawns a fixture under `nodeBin` and resolves once it prints its ready line. */
function startService(script, service) {
  const child = spawn(nodeBin, [join(HERE, 'fixtures', script)], {
    cwd: HERE,
    env: {
      ...process.env,
      SERVICE: JSON.stringify(service),
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_TRACES_EXPORTER: 'none',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (err) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new Error(`${script} did not start\n${stderr}`)),
      START_TIMEOUT_MS,
    );
    child.once('exit', (code) => fail(new Error(`${script} exited with ${code}\n${stderr}`)));
    child.stdout.on('data', (c) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (!line) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        url: `http://127.0.0.1:${JSON.parse(line).port}`,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
          }),
      });
    });
  });
}

/** The topologies: A's framework, and for fastify which plugin registers first. */
const TOPOLOGIES = [
  { name: 'express', framework: 'express' },
  { name: 'fastify (@fastify/otel registered first)', framework: 'fastify' },
  { name: 'fastify (graylane registered first)', framework: 'fastify', graylaneFirst: true },
];

async function chain({ framework, graylaneFirst = false }) {
  const started = [];
  try {
    const c = await startService('graylane-service.cjs', { name: 'c', framework, otel: false });
    started.push(c);
    const b = await startService('otel-only-hop.cjs', { framework, next: c.url });
    started.push(b);
    const a = await startService('graylane-service.cjs', {
      name: 'a',
      framework,
      otel: true,
      graylaneFirst,
      next: b.url,
    });
    started.push(a);
    return { a, stop: () => Promise.all(started.map((s) => s.stop())) };
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    throw err;
  }
}

async function main() {
  if (!args.includes('--skip-install')) packAndInstall();
  // CI installs early, beside its CPU-bound checks (the install waits on disk and registry), and
  // runs the chain at the end with --skip-install.
  if (args.includes('--install-only')) return;
  const version = run(nodeBin, ['--version']).trim();
  console.log(`chain under ${nodeBin} (${version})`);
  const [major, minor] = version.slice(1).split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 15)) {
    // sdk-node 0.30x and the 3.x instrumentations declare engines >= 22.15.
    throw new Error(`the OTel 3.x line needs Node >= 22.15, got ${version}: pass --node`);
  }
  let passed = 0;
  let failed = 0;
  for (const spec of TOPOLOGIES) {
    const topology = await chain(spec);
    try {
      for (const check of checks) {
        const name = `${spec.name}: ${check.name}`;
        try {
          await check.run(topology.a, { nodeVersion: version });
          passed++;
          console.log(`ok - ${name}`);
        } catch (err) {
          failed++;
          console.log(
            `not ok - ${name}\n  ${String(err?.stack ?? err)
              .split('\n')
              .slice(0, 6)
              .join('\n  ')}`,
          );
        }
      }
    } finally {
      await topology.stop();
    }
  }
  report(`otel-current chain (${version})`, passed, failed);
}

/** Prints the closing line and, under CI, appends it to the summary tools/ci-summary.mjs adds up. */
function report(label, passed, failed) {
  console.log(`${passed} passed, ${failed} failed`);
  const file = process.env.GRAYLANE_SUMMARY_FILE;
  if (file) appendFileSync(file, JSON.stringify({ label, passed, failed, skipped: 0 }) + '\n');
  process.exitCode = failed === 0 ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  report('otel-current chain (setup)', 0, 1);
});
