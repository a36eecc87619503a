import type { OutgoingMarker } from '../carrier/outgoing.js';
import type { MessageLanes } from '../lanes.js';
import type { Liveness } from './liveness.js';

/**
 * The lane an outgoing message is routed to: its own lane when that lane has a live consumer,
 * else undefined (the base destination, served by the default lane: lane fallback). The marker
 * stays on the message either way, so the next hop still sees the version.
 */
export async function routeLane(
  lanes: MessageLanes,
  marker: OutgoingMarker | undefined,
  liveness: Liveness,
): Promise<string | undefined> {
  if (marker === undefined) return undefined;
  const config = lanes.config();
  if (marker.version === config.default || !config.hasVersion(marker.version)) return undefined;
  return (await liveness.check(marker.version)) ? marker.version : undefined;
}

/** @internal The versions other than the default: the lanes a fallback consumer drains. */
export function otherLanes(lanes: MessageLanes): readonly string[] {
  const config = lanes.config();
  return config.versions.filter((v) => v !== config.default);
}
