import { DEFAULT_LIVENESS_GRACE_MS, DEFAULT_PROBE_INTERVAL_MS } from '../limits.js';
import { countProbeError } from '../metrics/stats.js';

/** Asks the broker whether `lane` has at least one live consumer. */
export type LaneProbe = (lane: string) => Promise<boolean>;

/** Options of {@link createLiveness}. */
export interface LivenessOptions {
  /** Reuse an answer this long before asking the broker again. Default 1000 ms. */
  readonly intervalMs?: number;
  /** A lane stays alive this long after it was last seen alive. Default 2000 ms. */
  readonly graceMs?: number;
  /** Clock (ms). Default `performance.now` (monotonic). */
  readonly now?: () => number;
}

/** Cached, single-flight lane liveness over a broker probe. */
export interface Liveness {
  /** Alive or not, asking the broker when the cached answer is older than the interval. */
  check(lane: string): Promise<boolean>;
  /** Asks the broker now. */
  refresh(lane: string): Promise<boolean>;
  /** The cached answer, without asking. */
  cached(lane: string): boolean;
  /**
   * Alive by a probe sent after this call — or by the probe already in flight when it says
   * alive (leaving a lane alone is the safe side); one in flight that says dead is waited out and
   * the broker asked again. For a caller that must judge what it has just read.
   */
  recheck(lane: string): Promise<boolean>;
}

interface LaneState {
  checkedAt: number;
  /** The last probe's answer. */
  up: boolean;
  aliveAt: number;
  inflight: Promise<boolean> | undefined;
}

/**
 * Liveness through the broker's own presence information (RabbitMQ consumer counts, NATS pull
 * requests, Redis keys with a TTL) — no coordination service of our own. Answers are cached for
 * `intervalMs`; concurrent checks share one probe; a failing probe is counted, and keeps a lane
 * alive only for `graceMs` after it was last seen alive. A lane never seen alive is dead, so its messages go to the fallback: nothing waits
 * on a lane nobody serves.
 */
export function createLiveness(probe: LaneProbe, options: LivenessOptions = {}): Liveness {
  const interval = options.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
  const grace = options.graceMs ?? DEFAULT_LIVENESS_GRACE_MS;
  const now = options.now ?? (() => performance.now());
  const states = new Map<string, LaneState>();

  const state = (lane: string): LaneState => {
    let s = states.get(lane);
    if (!s) {
      s = { checkedAt: -Infinity, up: false, aliveAt: -Infinity, inflight: undefined };
      states.set(lane, s);
    }
    return s;
  };
  const alive = (s: LaneState): boolean => s.up || now() - s.aliveAt <= grace;

  const refresh = (lane: string): Promise<boolean> => {
    const s = state(lane);
    s.inflight ??= probe(lane).then(
      (up) => {
        s.checkedAt = now();
        s.up = up;
        if (up) s.aliveAt = s.checkedAt;
        s.inflight = undefined;
        return alive(s);
      },
      () => {
        countProbeError();
        s.checkedAt = now();
        // An answer the broker no longer confirms: the lane lives out its grace since it was
        // last seen alive, then its messages go to the fallback (nothing waits on a lane nobody
        // may be serving: a consumer deleted under a lane makes every probe fail).
        s.up = false;
        s.inflight = undefined;
        return alive(s);
      },
    );
    return s.inflight;
  };

  return {
    refresh,
    check(lane) {
      const s = state(lane);
      return now() - s.checkedAt < interval ? Promise.resolve(alive(s)) : refresh(lane);
    },
    cached: (lane) => alive(state(lane)),
    recheck(lane) {
      const pending = state(lane).inflight;
      return pending === undefined ? refresh(lane) : pending.then((up) => up || refresh(lane));
    },
  };
}
