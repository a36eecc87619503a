import { decideMessage, type MessageReader } from '../carrier/extract.js';
import type { MessageLanes } from '../lanes.js';
import type { Liveness } from './liveness.js';

/**
 * The lane an outgoing message is routed to, judged from what the message carries (`read` over
 * its final headers or job data) with the same decision its consumer will make — so a marker
 * the caller set itself routes like one graylane added, and a marker the consumer will ignore
 * never sends the message to a lane. Its own lane while that lane has a live consumer, else
 * undefined (the base destination, served by the default lane: lane fallback; the marker stays
 * on the message either way). Never throws; decisions made here are not counted.
 */
export async function routeMessage(
  lanes: MessageLanes,
  read: MessageReader,
  liveness: Liveness,
): Promise<string | undefined> {
  const config = lanes.config();
  const { decision } = decideMessage(read, lanes.options, config);
  if (decision.source === 'default' || decision.version === config.default) return undefined;
  return (await liveness.check(decision.version)) ? decision.version : undefined;
}

/** @internal The versions other than the default: the lanes a fallback consumer drains. */
export function otherLanes(lanes: MessageLanes): readonly string[] {
  const config = lanes.config();
  return config.versions.filter((v) => v !== config.default);
}
