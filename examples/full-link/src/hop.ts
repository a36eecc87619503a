/**
 * What every hop reports about itself. The tour and the page read these records and compare
 * them with the expected version: the whole point of graylane is that they always agree.
 */
import { getGrayDecision, tryGetGrayVersion } from '@graylane/node';

/** One hop's view of a request. */
export interface HopRecord {
  /** `gateway`, `orders`, `inventory`, `pricing`. */
  readonly hop: string;
  /** The instance that served it, e.g. `orders-beta`. */
  readonly instance: string;
  /** The version this hop saw in its graylane context (`null`: no context — a bug). */
  readonly saw: string | null;
  /** Why this hop has that version (`header` for every hop after the first). */
  readonly reason: string | null;
  /** The lane whose code ran here; differs from `saw` only on lane fallback. */
  readonly served: string;
}

/** The JSON body every service answers with: its own record first, then the downstream ones. */
export interface HopsBody {
  readonly hops: readonly HopRecord[];
  readonly [key: string]: unknown;
}

/** Reads the current request's graylane context into a hop record. */
export function currentHop(hop: string, instance: string, served: string): HopRecord {
  return {
    hop,
    instance,
    saw: tryGetGrayVersion() ?? null,
    reason: getGrayDecision()?.reason ?? null,
    served,
  };
}

/** The gateway's record: also the orders instance it routed to, the rule, any ignored marker. */
export interface GatewayHopRecord extends HopRecord {
  readonly upstream: string;
  /** The rule that decided (`rule`, `weight`, `outside_window`). */
  readonly rule?: string;
  /** A marker that was present but ignored, as `source:reason` (`header:untrusted`). */
  readonly rejected?: string;
}

/** Response header the gateway stamps with its own hop record (JSON). */
export const GATEWAY_HOP_HEADER = 'x-graylane-gateway-hop';

/** Narrows an unknown JSON body to {@link HopsBody}. */
export function isHopsBody(value: unknown): value is HopsBody {
  return (
    typeof value === 'object' && value !== null && Array.isArray((value as { hops?: unknown }).hops)
  );
}
