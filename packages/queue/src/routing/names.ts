import { GraylaneError, isVersionLabel } from '@graylane/core';

/**
 * The destination of one lane of a logical queue: `orders` → `orders.lane.beta` (a RabbitMQ
 * queue, a NATS subject, a BullMQ queue). The default lane uses the base name itself, so a
 * deployment without lanes keeps its queue. `separator` is `_` where dots are not allowed
 * (NATS durable names).
 *
 * @example
 * ```ts
 * import { laneName } from '@graylane/queue';
 *
 * laneName('orders', 'beta');      // 'orders.lane.beta'
 * laneName('orders', 'beta', '_'); // 'orders_lane_beta'
 * ```
 */
export function laneName(base: string, lane: string, separator = '.'): string {
  if (!isVersionLabel(lane)) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `laneName: ${JSON.stringify(lane)} is not a version`,
    );
  }
  return `${base}${separator}lane${separator}${lane}`;
}

/** @internal Throws at construction when `lane` is not a version of the config. */
export function assertLane(lane: string, versions: readonly string[], where: string): void {
  if (!versions.includes(lane)) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `${where}: lane ${JSON.stringify(lane)} is not one of the config's versions (${versions.join(', ')})`,
    );
  }
}

/** @internal Checks a wrapper's `served` option at construction (INVALID_OPTIONS, I2). */
export function assertServed(
  served: string | undefined,
  lanes: { config(): { versions: readonly string[] } },
  where: string,
): void {
  if (served !== undefined) assertLane(served, lanes.config().versions, where);
}

/** @internal Checks a router's `retiredLanes` at construction: each must be a version label. */
export function assertRetired(retired: readonly string[] | undefined, where: string): void {
  for (const lane of retired ?? []) {
    if (!isVersionLabel(lane)) {
      throw new GraylaneError(
        'INVALID_OPTIONS',
        `${where}: retiredLanes entry ${JSON.stringify(lane).slice(0, 40)} is not a version label`,
      );
    }
  }
}
