/** A hand-driven clock for schedules measured in minutes that must run in milliseconds (FLT-03). */
export interface ManualClock {
  now(): number;
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs every timer due within `ms`, in order, letting promises settle between them. */
  advance(ms: number): Promise<void>;
  /** Timers waiting. */
  pending(): number;
}

/** Lets promise chains and I/O callbacks run. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** Creates a {@link ManualClock} starting at monotonic 0. */
export function createManualClock(wallStart = Date.UTC(2026, 0, 1)): ManualClock {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const earliest = (limit: number): [number, { at: number; fn: () => void }] | undefined => {
    let best: [number, { at: number; fn: () => void }] | undefined;
    for (const entry of timers) {
      if (entry[1].at <= limit && (!best || entry[1].at < best[1].at)) best = entry;
    }
    return best;
  };
  return {
    now: () => now,
    wallNow: () => wallStart + now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    async advance(ms) {
      const target = now + ms;
      for (;;) {
        await flush();
        const next = earliest(target);
        if (!next) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = target;
      await flush();
    },
    pending: () => timers.size,
  };
}
