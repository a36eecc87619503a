/**
 * The hop check itself must be able to fail: a lost marker, a wrong instance or a wrong lane at
 * any hop is a mismatch, and any mismatch turns the verdict (and `--once`'s exit code) into FAIL.
 */
import { describe, expect, it } from 'vitest';
import { checkVisit } from '../src/check.js';
import type { GatewayHopRecord, HopRecord } from '../src/hop.js';
import { addLane, createLaneTable } from '../src/lanes.js';
import { verdict } from '../src/table.js';
import type { TourReport, WeightedSummary } from '../src/tour.js';
import type { VisitResult } from '../src/visit.js';

const lanes = createLaneTable();
for (const [service, lane] of [
  ['orders', 'stable'],
  ['orders', 'beta'],
  ['inventory', 'stable'],
  ['pricing', 'stable'],
  ['pricing', 'beta'],
] as const) {
  addLane(lanes, service, lane, `http://127.0.0.1:1/${service}-${lane}`);
}

const gateway: GatewayHopRecord = {
  hop: 'gateway',
  instance: 'gateway',
  saw: 'beta',
  reason: 'header',
  served: 'beta',
  upstream: 'orders-beta',
};
const good: readonly HopRecord[] = [
  { hop: 'orders', instance: 'orders-beta', saw: 'beta', reason: 'header', served: 'beta' },
  {
    hop: 'inventory',
    instance: 'inventory-stable',
    saw: 'beta',
    reason: 'header',
    served: 'stable',
  },
  { hop: 'pricing', instance: 'pricing-beta', saw: 'beta', reason: 'header', served: 'beta' },
];
const goodQueue: readonly HopRecord[] = [
  { hop: 'worker', instance: 'worker-beta', saw: 'beta', reason: 'header', served: 'beta' },
  { hop: 'pricing', instance: 'pricing-beta', saw: 'beta', reason: 'header', served: 'beta' },
];
const visit = (
  services: readonly HopRecord[],
  gw: GatewayHopRecord = gateway,
  queue: readonly HopRecord[] = goodQueue,
): VisitResult => ({
  status: 200,
  gateway: gw,
  services,
  queue,
  setCookies: new Map(),
});
const replace = (i: number, patch: Partial<HopRecord>): HopRecord[] =>
  good.map((h, j) => (j === i ? { ...h, ...patch } : h));

describe('checkVisit', () => {
  it('accepts a beta chain with lane fallback at inventory', () => {
    expect(checkVisit(visit(good), { version: 'beta', reason: 'header' }, lanes, 'stable')).toEqual(
      [],
    );
  });

  it.each([
    [
      'pricing lost the marker',
      replace(2, { saw: 'stable', instance: 'pricing-stable', served: 'stable' }),
      /pricing saw stable/,
    ],
    ['inventory had no context', replace(1, { saw: null }), /inventory saw null/],
    [
      'orders served by the wrong instance',
      replace(0, { instance: 'orders-stable' }),
      /orders served by orders-stable/,
    ],
    [
      'inventory ran beta code it does not have',
      replace(1, { served: 'beta' }),
      /inventory ran beta code/,
    ],
    ['a hop is missing', good.slice(0, 2), /pricing: no hop record/],
  ])('flags: %s', (_name, hops, problem) => {
    const problems = checkVisit(visit(hops), { version: 'beta' }, lanes, 'stable');
    expect(problems.join('\n')).toMatch(problem);
  });

  it.each([
    [
      'MQ-01 the worker lost the marker',
      [{ ...goodQueue[0], saw: 'stable' }, goodQueue[1]],
      /worker saw stable/,
    ],
    [
      'MQ-01 the worker had no context',
      [{ ...goodQueue[0], saw: null }, goodQueue[1]],
      /worker saw null/,
    ],
    [
      'MQ-02 the stable worker took a beta message although a beta worker runs',
      [{ ...goodQueue[0], instance: 'worker-stable', served: 'stable' }, goodQueue[1]],
      /worker served by worker-stable/,
    ],
    [
      "MQ-01 the worker's HTTP call lost the marker",
      [
        goodQueue[0],
        { ...goodQueue[1], saw: 'stable', instance: 'pricing-stable', served: 'stable' },
      ],
      /via worker: pricing saw stable/,
    ],
    ['the queue hop is missing', [], /worker: no hop record/],
  ])('flags (queue hop): %s', (_name, queue, problem) => {
    const problems = checkVisit(
      visit(good, gateway, queue as HopRecord[]),
      { version: 'beta' },
      lanes,
      'stable',
    );
    expect(problems.join('\n')).toMatch(problem);
  });

  it('flags the gateway: wrong reason, wrong rule, wrong upstream, HTTP error, network error', () => {
    expect(checkVisit(visit(good), { version: 'beta', reason: 'cookie' }, lanes, 'stable')).toEqual(
      ['gateway reason header, expected cookie'],
    );
    expect(checkVisit(visit(good), { version: 'beta', rule: 'qa-team' }, lanes, 'stable')).toEqual([
      'gateway rule none, expected qa-team',
    ]);
    expect(
      checkVisit(
        visit(good, { ...gateway, upstream: 'orders-stable' }),
        { version: 'beta' },
        lanes,
        'stable',
      ),
    ).toEqual(['gateway routed to orders-stable, expected orders-beta']);
    expect(
      checkVisit({ ...visit(good), status: 502 }, { version: 'beta' }, lanes, 'stable'),
    ).toEqual(['HTTP 502']);
    // A gateway's own 502 names its cause (the proxy's error), so a failed tour says why.
    expect(
      checkVisit(
        {
          ...visit([]),
          status: 502,
          gateway: undefined,
          detail: 'upstream unreachable: read ECONNRESET',
        },
        { version: 'beta' },
        lanes,
        'stable',
      ),
    ).toEqual(['HTTP 502 (upstream unreachable: read ECONNRESET)', 'gateway: no hop record']);
    expect(
      checkVisit(
        { ...visit(good), status: 0, error: 'ECONNREFUSED' },
        { version: 'beta' },
        lanes,
        'stable',
      ),
    ).toEqual(['request failed: ECONNREFUSED']);
  });
});

describe('verdict', () => {
  const weighted: WeightedSummary = {
    visitors: 1000,
    beta: 50,
    sticky: 1000,
    byCookie: 1000,
    chained: 100,
    mismatches: 0,
    problems: [],
    bounds: [2, 9],
  };
  const row = (problems: string[]): TourReport['rows'][number] => ({
    name: 'header',
    request: 'X-Gray-Id: beta',
    expected: { version: 'beta' },
    result: visit(good),
    problems,
  });

  it('PASS only when everything agreed', () => {
    expect(verdict({ rows: [row([])], weighted, ok: true })).toMatch(/^verdict: PASS/);
  });

  it.each([
    [
      'a row mismatch',
      { rows: [row(['pricing saw stable, expected beta'])], weighted },
      /1 case\(s\) with hop mismatches/,
    ],
    [
      'a weighted mismatch',
      { rows: [row([])], weighted: { ...weighted, mismatches: 2 } },
      /2 weighted visitor\(s\) mismatched/,
    ],
    [
      'a visitor not sticky',
      { rows: [row([])], weighted: { ...weighted, sticky: 999 } },
      /1 visitor\(s\) not sticky/,
    ],
    [
      'a beta share off target',
      { rows: [row([])], weighted: { ...weighted, beta: 300 } },
      /beta share outside 2–9%/,
    ],
  ])('FAIL on %s', (_name, report, why) => {
    expect(verdict({ ...report, ok: false })).toMatch(why);
  });
});
