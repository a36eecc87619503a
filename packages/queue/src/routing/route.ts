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

/**
 * @internal The lanes a fallback consumer drains, remembered for the life of its drain loop:
 * every non-default version the config has listed since the loop started, plus `retired`
 * (versions removed before it started, named by the app). A version removed from the config
 * keeps draining, so the end of a canary never strands what still waits on its lane.
 */
export function drainLanes(
  lanes: MessageLanes,
  retired: readonly string[] = [],
): () => readonly string[] {
  const known = new Set(retired);
  return () => {
    const config = lanes.config();
    for (const v of config.versions) known.add(v);
    return [...known].filter((v) => v !== config.default);
  };
}
