/**
 * Lane routing: which instance of a service serves a version. A service without an instance for
 * the decided version falls back to the default lane; the marker itself is never rewritten, so
 * the next hop that does have that version still gets it (DESIGN.md "lane fallback").
 */

/** The services of the example, in call order. */
export type ServiceName = 'orders' | 'inventory' | 'pricing';

/** One deployed instance: its lane (the version its code is) and where it listens. */
export interface LaneInstance {
  readonly instance: string;
  readonly lane: string;
  readonly url: string;
}

/** service → version → instance. Maps, never plain objects keyed by request input (I2). */
export type LaneTable = ReadonlyMap<ServiceName, ReadonlyMap<string, LaneInstance>>;

/** The instance chosen for one call, and whether it is a fallback. */
export interface LaneChoice extends LaneInstance {
  readonly fellBack: boolean;
}

/**
 * Picks the instance of `service` for `version`, else the `fallback` lane's instance.
 *
 * @example
 * ```ts
 * resolveLane(table, 'inventory', 'beta', 'stable'); // { instance: 'inventory-stable', fellBack: true, … }
 * ```
 */
export function resolveLane(
  table: LaneTable,
  service: ServiceName,
  version: string | undefined,
  fallback: string,
): LaneChoice {
  const lanes = table.get(service);
  const exact = version === undefined ? undefined : lanes?.get(version);
  if (exact) return { ...exact, fellBack: false };
  const base = lanes?.get(fallback);
  if (!base) throw new Error(`no ${fallback} instance of ${service} in the lane table`);
  return { ...base, fellBack: true };
}

/** A lane table that grows as instances start (leaves first, so ports may be 0). */
export type MutableLaneTable = Map<ServiceName, Map<string, LaneInstance>>;

/** Creates an empty lane table. */
export function createLaneTable(): MutableLaneTable {
  return new Map();
}

/** Registers a started instance of `service` serving `lane` at `url`. */
export function addLane(
  table: MutableLaneTable,
  service: ServiceName,
  lane: string,
  url: string,
): void {
  let lanes = table.get(service);
  if (!lanes) {
    lanes = new Map();
    table.set(service, lanes);
  }
  lanes.set(lane, { instance: `${service}-${lane}`, lane, url });
}
