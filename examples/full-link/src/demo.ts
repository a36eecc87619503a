/**
 * `npm start`: starts the full-link example on 127.0.0.1, runs the tour, prints the per-hop
 * table and a verdict, then keeps serving the page until Ctrl-C. `--once` exits after the tour
 * (exit 1 on any hop mismatch). Expected failures print a message, never a stack trace.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installCoverage } from '@graylane/node';
import { SERVICE_HOPS } from './check.js';
import { PortInUseError } from './listen.js';
import { resolvePorts } from './ports.js';
import { redisUrlFromEnv } from './queue/order-queue.js';
import { WORKER_LANES } from './services/fulfilment.js';
import { startStack, type Stack } from './stack.js';
import { formatReport } from './table.js';
import { runTour } from './tour.js';

const USAGE = `usage: npm start [-- --once]

  --once   exit after the tour: 0 when every hop agreed, 1 otherwise
  env      GRAYLANE_PORT_BASE=4100      first of seven loopback ports (4100–4106)
           GRAYLANE_PORT_<INSTANCE>=n   one port, e.g. GRAYLANE_PORT_ORDERS_BETA=5103
           GRAYLANE_RULES=path.json     rules file (default: examples/full-link/rules.json)
           GRAYLANE_REDIS_URL=redis://127.0.0.1:6379
                                        run the queue hop on BullMQ (default: in-process)`;

/** The package root: `dist/demo.js` lives one level below it. */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--once');
  if (unknown.length > 0) {
    console.error(`[demo] unknown argument ${unknown.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  const once = argv.includes('--once');
  // Propagation coverage: a call that leaves a lane without the marker is logged (stderr) once
  // per call site — try `curl -H 'x-gray-id: beta' <gateway>/api/broken-link`. The tour calls
  // its own servers with no lane, so the unbound count is off here.
  const uninstallCoverage = installCoverage({ unbound: false });
  const rulesPath = resolve(process.env.GRAYLANE_RULES ?? resolve(PACKAGE_ROOT, 'rules.json'));
  const webRoot = resolve(PACKAGE_ROOT, 'dist/web');
  const started = Date.now();
  const stack = await startStack({
    ports: resolvePorts(),
    rulesPath,
    redisUrl: redisUrlFromEnv(),
    ...(existsSync(webRoot) ? { webRoot } : {}),
  });
  try {
    return await serve(stack, { once, started, rulesPath, webRoot });
  } finally {
    await stack.close();
    uninstallCoverage();
  }
}

interface ServeOptions {
  readonly once: boolean;
  readonly started: number;
  readonly rulesPath: string;
  readonly webRoot: string;
}

async function serve(
  stack: Stack,
  { once, started, rulesPath, webRoot }: ServeOptions,
): Promise<number> {
  printBanner(stack, rulesPath, webRoot);
  // Rejected updates are logged by the file source itself (and the last good config is kept).
  stack.edge.subscribe((event) => {
    if (event.type !== 'change') return;
    const { source, config } = event.snapshot;
    const ids = event.changedRuleIds.join(', ') || 'settings';
    console.log(`[rules] reloaded from ${source}: changed ${ids} (config ${config.hash})`);
  });

  const report = await runTour(stack);
  console.log(`\n${formatReport(report)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

  if (!once) {
    console.log(`\nServing on ${stack.gatewayUrl}/ — open it in a browser. Ctrl-C to stop.`);
    await untilSignal();
  }
  return report.ok ? 0 : 1;
}

function printBanner(stack: Stack, rulesPath: string, webRoot: string): void {
  const snap = stack.edge.get();
  const from =
    snap.source === 'embedded' ? 'same as the embedded copy' : `loaded from ${snap.source}`;
  const lanes = SERVICE_HOPS.map((svc) => {
    const byLane = [...(stack.lanes.get(svc)?.values() ?? [])];
    return `  ${svc.padEnd(9)} ${byLane.map((l) => `${l.lane} ${l.url}`).join(', ')}`;
  });
  const built = existsSync(webRoot) ? '' : '   (page not built: run npm run build)';
  console.log(
    [
      'graylane full-link demo — one marker, decided once, seen by every hop',
      '',
      `  page      ${stack.gatewayUrl}/${built}`,
      `  gateway   ${stack.gatewayUrl}  (trust: open; express + http-proxy-middleware)`,
      `  signed    ${stack.signedGatewayUrl}  (trust: signed; same rules)`,
      ...lanes,
      `  queue     ${stack.queueKind}: orders → "order placed" → fulfilment worker ${WORKER_LANES.join(', ')}`,
      `  rules     ${rulesPath}`,
      `            (file source: ${stack.rulesStatus()}; config ${snap.config.hash}, ${from}; edits reload live)`,
    ].join('\n'),
  );
}

function untilSignal(): Promise<void> {
  return new Promise((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      console.log('\nstopping…');
      done();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof PortInUseError) {
      console.error(`[demo] ${err.message}`);
    } else {
      console.error(`[demo] failed: ${err instanceof Error ? err.message : String(err)}`);
      if (process.env.GRAYLANE_DEBUG) console.error(err);
    }
    process.exitCode = 1;
  },
);
