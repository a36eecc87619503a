import type { ConfigStore, GrayConfig } from '@graylane/core';
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
 * every non-default version the config has listed since the loop was built, plus `retired`
 * (versions removed before it started, named by the app). A version removed from the config
 * keeps draining, so the end of a canary never strands what still waits on its lane. Learned
 * when built (a version removed before the loop's first tick is still drained, review 54 D3)
 * and on every change of the config store, not only at ticks: a version listed for a moment
 * between two ticks (added, then removed again) may have had messages routed to its lane too.
 */
export function drainLanes(
  lanes: MessageLanes,
  retired: readonly string[] = [],
): () => readonly string[] {
  const known = new Set(retired);
  const learn = (config: GrayConfig): void => {
    for (const v of config.versions) known.add(v);
  };
  learn(lanes.config());
  const unsubscribe = watch(lanes, (config) => learn(config));
  const read = (): readonly string[] => {
    const config = lanes.config();
    learn(config);
    return [...known].filter((v) => v !== config.default);
  };
  // The listener holds `known`, never `read`: once the loop (which holds `read`) is gone, the
  // listener is removed from the store instead of growing its list for the life of the app.
  if (unsubscribe !== undefined) unwatchWhenCollected?.register(read, unsubscribe);
  return read;
}

/** Calls `learn` with each config the store swaps in (and the one it replaced); never throws. */
function watch(lanes: MessageLanes, learn: (config: GrayConfig) => void): (() => void) | undefined {
  try {
    const store = lanes.options.store as Partial<ConfigStore> | undefined;
    if (typeof store?.subscribe !== 'function') return undefined;
    return store.subscribe((event) => {
      if (event.type !== 'change') return;
      learn(event.previous.config);
      learn(event.snapshot.config);
    });
  } catch {
    // A store that cannot be watched: versions are still learned when built and at every tick.
    return undefined;
  }
}

const unwatchWhenCollected =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry<() => void>((unsubscribe) => {
        try {
          unsubscribe();
        } catch {
          // Nothing to do: the listener stays, harmlessly.
        }
      })
    : undefined;
