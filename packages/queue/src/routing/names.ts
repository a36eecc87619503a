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

/**
 * @internal From plain JS: throws `INVALID_OPTIONS` unless `lanes` came from
 * `createMessageLanes()` and each of `fns` (a handler) is a function.
 */
export function assertLanes(lanes: unknown, where: string, ...fns: unknown[]): void {
  if (typeof (lanes as { outgoing?: unknown } | null | undefined)?.outgoing !== 'function')
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `${where}: lanes must come from createMessageLanes()`,
    );
  if (fns.some((fn) => typeof fn !== 'function'))
    throw new GraylaneError('INVALID_OPTIONS', `${where}: the handler must be a function`);
}

/**
 * @internal A router's options from plain JS: `lanes`, then each of `names` a non-empty string and
 * each of `handles` (client, connection) an object, else `INVALID_OPTIONS` naming the field.
 */
export function assertRouterOptions(
  options: unknown,
  where: string,
  names: readonly string[],
  handles: readonly string[],
): void {
  const o = (typeof options === 'object' && options !== null ? options : {}) as Record<
    string,
    unknown
  >;
  assertLanes(o['lanes'], where);
  for (const k of names)
    if (typeof o[k] !== 'string' || o[k] === '')
      throw new GraylaneError('INVALID_OPTIONS', `${where}: ${k} must be a non-empty string`);
  for (const k of handles)
    if (typeof o[k] !== 'object' || o[k] === null)
      throw new GraylaneError('INVALID_OPTIONS', `${where}: ${k} is required`);
}
