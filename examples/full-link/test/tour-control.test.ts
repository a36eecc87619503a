/**
 * The control for the demo's verdict: the same tour the demo runs, against the real services, with
 * one real fault between two hops. A hop that sees the wrong version (or is served by the wrong
 * instance) must turn the verdict into FAIL however slow or fast the machine is; without a fault
 * the same composition passes. A short weighted part (the share bounds are for 1,000 visitors, so
 * the checks here are on the rows and the mismatches, not on `ok`).
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { ConfigStore } from '@graylane/core';
import { createConfigStore } from '@graylane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { addLane, type MutableLaneTable, type ServiceName } from '../src/lanes.js';
import { close, listen } from '../src/listen.js';
import { EMBEDDED_RULES, internalConfig } from '../src/rules.js';
import { DEMO_SIGNING_KEY, DEMO_SIGNING_KID, startServices, type Services } from '../src/stack.js';
import { formatReport } from '../src/table.js';
import { runTour, type TourReport } from '../src/tour.js';

const VISITORS = 20;

/** A forwarder in front of one instance that changes the headers on the way (a faulty sidecar). */
async function startSidecar(
  target: string,
  rewrite: (headers: IncomingHttpHeaders) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    const headers = { ...req.headers };
    rewrite(headers);
    const out = request(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.writeHead(502).end());
    req.pipe(out);
  });
  const port = await listen(server, 'sidecar', 0);
  return { url: `http://127.0.0.1:${port}`, close: () => close(server) };
}

describe('the tour fails when a hop really sees the wrong version (control)', () => {
  let edge: ConfigStore;
  let services: Services;
  let gateways: RunningGateway[] = [];
  const sidecars: { close(): Promise<void> }[] = [];
  /** The real instances' URLs, to put back after each fault. */
  let real: Map<string, string>;

  const lanes = (): MutableLaneTable => services.lanes as MutableLaneTable;
  const url = (service: ServiceName, lane: string): string =>
    services.lanes.get(service)?.get(lane)?.url ?? '';
  const tour = (): Promise<TourReport> =>
    runTour(
      {
        gatewayUrl: gateways[0]?.url ?? '',
        signedGatewayUrl: gateways[1]?.url ?? '',
        lanes: services.lanes,
        edge,
      },
      VISITORS,
    );

  beforeAll(async () => {
    edge = createConfigStore({ initial: EMBEDDED_RULES, source: 'embedded' });
    services = await startServices({}, internalConfig(edge));
    real = new Map(
      [...services.lanes].flatMap(([svc, byLane]) =>
        [...byLane].map(([lane, inst]) => [`${svc}/${lane}`, inst.url] as const),
      ),
    );
    const edgeOptions = { port: 0, lanes: services.lanes, config: edge };
    gateways = [
      await startGateway({ ...edgeOptions, instance: 'gateway', trust: 'open' }),
      await startGateway({
        ...edgeOptions,
        instance: 'gateway-signed',
        trust: 'signed',
        keys: { [DEMO_SIGNING_KID]: DEMO_SIGNING_KEY },
      }),
    ];
  }, 30_000);

  afterAll(async () => {
    await Promise.all([...gateways, ...sidecars].map((g) => g.close()));
    await services?.close();
  });

  /** Puts every lane back on its real instance. */
  const restore = async (): Promise<void> => {
    for (const [key, u] of real) {
      const [svc, lane] = key.split('/') as [ServiceName, string];
      addLane(lanes(), svc, lane, u);
    }
    await Promise.all(sidecars.splice(0).map((s) => s.close()));
  };

  it('without a fault the same composition agrees at every hop', async () => {
    const report = await tour();
    expect(report.rows.flatMap((r) => r.problems)).toEqual([]);
    expect(report.weighted.mismatches).toBe(0);
    expect(report.weighted.sticky).toBe(VISITORS);
  }, 120_000);

  /** [fault, how to inject it, a problem every beta row must report]. */
  const FAULTS: readonly [string, () => Promise<void>, RegExp][] = [
    [
      'a sidecar in front of pricing-beta rewrites X-Gray-Id beta → stable',
      async () => {
        const s = await startSidecar(url('pricing', 'beta'), (h) => {
          if (h['x-gray-id'] === 'beta') h['x-gray-id'] = 'stable';
        });
        sidecars.push(s);
        addLane(lanes(), 'pricing', 'beta', s.url);
      },
      /pricing saw stable, expected beta/,
    ],
    [
      // X-Gray-Id alone is not enough: the marker also travels as a W3C baggage member.
      'a sidecar in front of inventory drops X-Gray-Id and baggage',
      async () => {
        const s = await startSidecar(url('inventory', 'stable'), (h) => {
          delete h['x-gray-id'];
          delete h.baggage;
        });
        sidecars.push(s);
        addLane(lanes(), 'inventory', 'stable', s.url);
      },
      /inventory saw stable, expected beta/,
    ],
    [
      'the beta lane of pricing is routed to the stable instance',
      async () => {
        addLane(lanes(), 'pricing', 'beta', url('pricing', 'stable'));
      },
      /pricing served by pricing-stable, expected pricing-beta/,
    ],
  ];

  it.each(FAULTS)(
    'FAIL when %s',
    async (_fault, inject, problem) => {
      await inject();
      try {
        const report = await tour();
        expect(report.ok).toBe(false);
        const beta = report.rows.filter((r) => r.expected.version === 'beta');
        // Seven scripted beta cases, plus the brand-new visitor when it drew beta.
        expect(beta.length).toBeGreaterThanOrEqual(7);
        for (const row of report.rows) {
          if (row.expected.version === 'beta') {
            expect(row.problems.join('\n'), row.name).toMatch(problem);
          } else {
            // Stable rows are untouched by these faults: the control points at the hop.
            expect(row.problems, row.name).toEqual([]);
          }
        }
        // Every beta visitor's hop-checked second visit mismatches; no stable one does.
        expect(report.weighted.mismatches).toBe(report.weighted.beta);
        const printed = formatReport(report);
        expect(printed).toMatch(/^header .* MISMATCH$/m);
        expect(printed).toContain(`verdict: FAIL — ${beta.length} case(s) with hop mismatches`);
      } finally {
        await restore();
      }
    },
    120_000,
  );
});
