/**
 * The hop check: every hop must have seen the expected version, and each service must have been
 * served by the instance lane routing picks for it (the default lane where the version has no
 * instance — lane fallback — while the marker keeps its value).
 */
import type { HopRecord } from './hop.js';
import { resolveLane, type LaneTable, type ServiceName } from './lanes.js';
import { WORKER_LANES } from './services/fulfilment.js';
import type { VisitResult } from './visit.js';

/** What a visit should show. `reason`, `rule` and `rejected` are checked at the gateway. */
export interface Expectation {
  readonly version: string;
  readonly reason?: string;
  readonly rule?: string;
  readonly rejected?: string;
}

/** The services in call order. */
export const SERVICE_HOPS: readonly ServiceName[] = ['orders', 'inventory', 'pricing'];

/** Returns the mismatches of one visit; empty means every hop agrees. */
export function checkVisit(
  result: VisitResult,
  expected: Expectation,
  lanes: LaneTable,
  fallback: string,
): string[] {
  if (result.error !== undefined) return [`request failed: ${result.error}`];
  const problems: string[] = [];
  if (result.status !== 200) {
    problems.push(
      `HTTP ${result.status}${result.detail !== undefined ? ` (${result.detail})` : ''}`,
    );
  }
  const gw = result.gateway;
  if (!gw) return [...problems, 'gateway: no hop record'];
  if (gw.saw !== expected.version)
    problems.push(`gateway saw ${gw.saw}, expected ${expected.version}`);
  if (expected.reason !== undefined && gw.reason !== expected.reason) {
    problems.push(`gateway reason ${gw.reason}, expected ${expected.reason}`);
  }
  if (expected.rule !== undefined && gw.rule !== expected.rule) {
    problems.push(`gateway rule ${gw.rule ?? 'none'}, expected ${expected.rule}`);
  }
  if (expected.rejected !== undefined && gw.rejected !== expected.rejected) {
    problems.push(`gateway ignored ${gw.rejected ?? 'nothing'}, expected ${expected.rejected}`);
  }
  const orders = resolveLane(lanes, 'orders', expected.version, fallback);
  if (gw.upstream !== orders.instance)
    problems.push(`gateway routed to ${gw.upstream}, expected ${orders.instance}`);
  SERVICE_HOPS.forEach((name, i) => {
    problems.push(...checkHop(result.services[i], name, expected.version, lanes, fallback));
  });
  problems.push(...checkQueue(result.queue, expected.version, lanes, fallback));
  return problems;
}

/**
 * The queue hop: the fulfilment worker of the message's lane (or the default lane's, when no
 * worker of that lane runs) saw the version, and so did `pricing` behind the worker's HTTP call.
 */
function checkQueue(
  hops: readonly HopRecord[],
  version: string,
  lanes: LaneTable,
  fallback: string,
): string[] {
  const [worker, priced] = hops;
  if (!worker || worker.hop !== 'worker') return ['worker: no hop record (queue hop)'];
  const lane = WORKER_LANES.includes(version) ? version : fallback;
  const problems: string[] = [];
  if (worker.saw !== version) problems.push(`worker saw ${worker.saw}, expected ${version}`);
  if (worker.instance !== `worker-${lane}`)
    problems.push(`worker served by ${worker.instance}, expected worker-${lane}`);
  const call = checkHop(priced, 'pricing', version, lanes, fallback);
  return [...problems, ...call.map((p) => `via worker: ${p}`)];
}

function checkHop(
  hop: HopRecord | undefined,
  name: ServiceName,
  version: string,
  lanes: LaneTable,
  fallback: string,
): string[] {
  if (!hop || hop.hop !== name) return [`${name}: no hop record`];
  const choice = resolveLane(lanes, name, version, fallback);
  const problems: string[] = [];
  if (hop.saw !== version) problems.push(`${name} saw ${hop.saw}, expected ${version}`);
  if (hop.instance !== choice.instance)
    problems.push(`${name} served by ${hop.instance}, expected ${choice.instance}`);
  if (hop.served !== choice.lane)
    problems.push(`${name} ran ${hop.served} code, expected ${choice.lane}`);
  return problems;
}
