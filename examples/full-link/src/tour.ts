/**
 * The scripted tour: one request per way a version can be decided, then 1,000 new visitors for
 * the 5% split (each visiting twice, to prove stickiness). Every visit is hop-checked.
 */
import { decide, type ConfigStore, type GrayConfig } from '@graylane/core';
import { signMarker } from '@graylane/node';
import { checkVisit, type Expectation } from './check.js';
import { DECISION_PATH } from './gateway.js';
import type { LaneTable } from './lanes.js';
import { DEMO_SIGNING_KEY, DEMO_SIGNING_KID } from './stack.js';
import { visit, type VisitResult } from './visit.js';

/** Where the tour sends its requests. */
export interface TourTarget {
  readonly gatewayUrl: string;
  readonly signedGatewayUrl: string;
  readonly lanes: LaneTable;
  readonly edge: ConfigStore;
}

/** One scripted case. */
interface TourCase {
  readonly name: string;
  readonly request: string;
  readonly gateway: 'open' | 'signed';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly cookies?: ReadonlyMap<string, string>;
  /** Fixed, or computed from what the gateway assigned (new visitors). */
  readonly expect: Expectation | 'rules';
}

/** One checked visit. */
export interface TourRow {
  readonly name: string;
  readonly request: string;
  readonly expected: Expectation;
  readonly result: VisitResult;
  readonly problems: readonly string[];
}

/** The weighted part: new visitors, each visiting twice. */
export interface WeightedSummary {
  readonly visitors: number;
  readonly beta: number;
  /** Second visits that got the same version as the first. */
  readonly sticky: number;
  /** Second visits decided by the sticky version cookie. */
  readonly byCookie: number;
  /** Second visits sent through every hop and hop-checked. */
  readonly chained: number;
  /** Visitors whose decision or hops disagreed with the rules. */
  readonly mismatches: number;
  readonly problems: readonly string[];
  /** The accepted range of the beta share, in percent. */
  readonly bounds: readonly [number, number];
}

/** The whole tour. */
export interface TourReport {
  readonly rows: readonly TourRow[];
  readonly weighted: WeightedSummary;
  readonly ok: boolean;
}

/** New visitors in the weighted part (the "1,000 visitors → about 5% beta"). */
export const WEIGHTED_VISITORS = 1_000;
/** 5% of 1,000 has σ ≈ 0.7 pp; [2%, 9%] is > 4σ either side, so the bound never flakes. */
const BETA_SHARE_BOUNDS: readonly [number, number] = [2, 9];
/** Visits in flight at once: enough to overlap requests (I7), small enough for 2 cores. */
const CONCURRENCY = 16;
const ORDER_PATH = '/api/orders/42';
/** At least this many stable visitors go through the full chain, whatever the beta count. */
const SAMPLE_FLOOR = 50;

/**
 * Runs the tour. Never throws: failures become problems in the report. `visitors` (default
 * {@link WEIGHTED_VISITORS}) is the size of the weighted part.
 */
export async function runTour(
  target: TourTarget,
  visitors: number = WEIGHTED_VISITORS,
): Promise<TourReport> {
  const config = target.edge.get().config;
  const rows: TourRow[] = [];
  for (const c of tourCases(config)) rows.push(await runCase(target, config, c));
  const weighted = await runWeighted(target, config, visitors);
  const inBounds = shareInBounds(weighted);
  const ok =
    rows.every((r) => r.problems.length === 0) &&
    weighted.mismatches === 0 &&
    weighted.sticky === weighted.visitors &&
    inBounds;
  return { rows, weighted, ok };
}

/** True when the observed beta share is inside the accepted bounds. */
export function shareInBounds(w: WeightedSummary): boolean {
  const share = (100 * w.beta) / Math.max(1, w.visitors);
  return share >= w.bounds[0] && share <= w.bounds[1];
}

function tourCases(config: GrayConfig): TourCase[] {
  // Cases whose marker is ignored or whose rule is inactive fall through to the 5% split: a
  // returning visitor from the 95% shows the default there instead of a random draw.
  const stayer = stableVisitor(config);
  const token = signMarker('beta', {
    key: DEMO_SIGNING_KEY,
    kid: DEMO_SIGNING_KID,
    ttlSeconds: 600,
  });
  const open = { gateway: 'open' as const, path: ORDER_PATH };
  return [
    { ...open, name: 'unmarked', request: 'new visitor, no marker', expect: 'rules' },
    {
      ...open,
      name: 'header',
      request: 'X-Gray-Id: beta',
      headers: { 'x-gray-id': 'beta' },
      expect: { version: 'beta', reason: 'header' },
    },
    {
      ...open,
      name: 'query',
      request: '?gray=beta',
      path: `${ORDER_PATH}?gray=beta`,
      expect: { version: 'beta', reason: 'query' },
    },
    {
      ...open,
      name: 'cookie-sticky',
      request: 'Cookie: gray=beta',
      cookies: new Map([['gray', 'beta']]),
      expect: { version: 'beta', reason: 'cookie' },
    },
    {
      ...open,
      name: 'rule-header',
      request: 'X-QA-Team: checkout',
      headers: { 'x-qa-team': 'checkout' },
      expect: { version: 'beta', reason: 'rule', rule: 'qa-team' },
    },
    {
      ...open,
      name: 'rule-path',
      request: 'GET /api/checkout-v2/42',
      path: '/api/checkout-v2/42',
      expect: { version: 'beta', reason: 'rule', rule: 'checkout-v2-path' },
    },
    {
      ...open,
      name: 'window-open',
      request: 'GET /api/sale/42 (sale window open)',
      path: '/api/sale/42',
      expect: { version: 'beta', reason: 'rule', rule: 'winter-sale' },
    },
    {
      ...open,
      name: 'window-closed',
      request: 'X-Early-Access: yes (window ended)',
      headers: { 'x-early-access': 'yes' },
      cookies: stayer,
      expect: 'rules',
    },
    {
      ...open,
      name: 'invalid-marker',
      request: 'X-Gray-Id: gamma (unknown: ignored)',
      headers: { 'x-gray-id': 'gamma' },
      cookies: stayer,
      expect: 'rules',
    },
    {
      name: 'signed-token',
      request: 'X-Gray-Id: <signed beta token>',
      gateway: 'signed',
      path: ORDER_PATH,
      headers: { 'x-gray-id': token },
      expect: { version: 'beta', reason: 'header' },
    },
    {
      name: 'signed-plain',
      request: 'X-Gray-Id: beta (unsigned: ignored)',
      gateway: 'signed',
      path: ORDER_PATH,
      headers: { 'x-gray-id': 'beta' },
      cookies: stayer,
      expect: 'rules',
    },
  ];
}

async function runCase(target: TourTarget, config: GrayConfig, c: TourCase): Promise<TourRow> {
  const baseUrl = c.gateway === 'signed' ? target.signedGatewayUrl : target.gatewayUrl;
  const result = await visit({
    baseUrl,
    path: c.path,
    ...(c.headers ? { headers: c.headers } : {}),
    ...(c.cookies ? { cookies: c.cookies } : {}),
  });
  const expected =
    c.expect === 'rules'
      ? byRules(config, c, new Map([...(c.cookies ?? []), ...result.setCookies]))
      : c.expect;
  const problems = checkVisit(result, expected, target.lanes, config.default);
  return { name: c.name, request: c.request, expected, result, problems };
}

/** The independent expectation: what the core rules say for what the gateway saw. */
function byRules(
  config: GrayConfig,
  c: Pick<TourCase, 'path' | 'headers'>,
  cookies: ReadonlyMap<string, string>,
): Expectation {
  const d = decide(config, {
    method: 'GET',
    path: c.path.split('?', 1)[0],
    headers: c.headers ?? {},
    cookies: (name) => cookies.get(name),
  });
  return {
    version: d.version,
    reason: d.reason,
    ...(d.ruleId !== undefined ? { rule: d.ruleId } : {}),
  };
}

/**
 * A returning visitor whose split bucket is the default version, so cases about ignored markers
 * and closed windows show the default rather than a 5% beta draw.
 */
function stableVisitor(config: GrayConfig): ReadonlyMap<string, string> {
  const split = config.rules.find((r) => r.kind === 'split' && r.bucketBy.kind === 'cookie');
  if (!split || split.kind !== 'split') return new Map();
  for (let i = 1; i < 1_000; i++) {
    const cookies = new Map([[split.bucketBy.name, `tour-visitor-${i}`]]);
    const d = decide(config, { path: ORDER_PATH, cookies: (n) => cookies.get(n) });
    if (d.version === config.default) return cookies;
  }
  return new Map();
}

/**
 * `visitors` new visitors, two visits each. Every visit is decided at the gateway; the second visit
 * of every beta visitor and of as many stable ones goes through every hop and is hop-checked
 * (the others ask the gateway for its decision only, which keeps the tour fast on 2 cores).
 */
async function runWeighted(
  target: TourTarget,
  config: GrayConfig,
  visitors: number,
): Promise<WeightedSummary> {
  const s = { beta: 0, stable: 0, sticky: 0, byCookie: 0, chained: 0, mismatches: 0 };
  const problems: string[] = [];
  const note = (who: number, found: readonly string[]): void => {
    if (found.length === 0) return;
    s.mismatches++;
    if (problems.length < 5) problems.push(`visitor ${who}: ${found.join('; ')}`);
  };
  await forEachLimit(visitors, CONCURRENCY, async (who) => {
    const first = await visit({ baseUrl: target.gatewayUrl, path: DECISION_PATH });
    const expected = byRules(config, { path: ORDER_PATH }, first.setCookies);
    const gw = first.gateway;
    if (!gw || gw.saw !== expected.version || gw.rule !== expected.rule) {
      note(who, [
        `first visit decided ${gw?.saw ?? 'nothing'}/${gw?.rule ?? '-'}, rules say ${expected.version}/${expected.rule ?? '-'}`,
      ]);
    }
    const isBeta = gw?.saw !== config.default;
    if (isBeta) s.beta++;
    else s.stable++;
    // Sample every beta visitor and as many stable ones for the full chain.
    const chained = isBeta || s.stable <= Math.max(s.beta, SAMPLE_FLOOR);
    const second = await visit({
      baseUrl: target.gatewayUrl,
      path: chained ? ORDER_PATH : DECISION_PATH,
      cookies: first.setCookies,
    });
    if (chained) {
      s.chained++;
      note(who, checkVisit(second, { version: expected.version }, target.lanes, config.default));
    }
    if (second.gateway?.saw === gw?.saw) s.sticky++;
    if (second.gateway?.reason === 'cookie') s.byCookie++;
  });
  return {
    visitors,
    beta: s.beta,
    sticky: s.sticky,
    byCookie: s.byCookie,
    chained: s.chained,
    mismatches: s.mismatches,
    problems,
    bounds: BETA_SHARE_BOUNDS,
  };
}

async function forEachLimit(
  count: number,
  limit: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await fn(++next);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}
