import type { DecisionReason, MarkerRejection, MarkerSource } from '../reasons.js';

/**
 * A keyed lookup on the request: a plain record (own keys only are read) or a getter.
 * Getters let platforms parse lazily, e.g. read one cookie only when a rule asks for it.
 */
export type RequestLookup =
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | ((name: string) => string | undefined);

/** The request attributes rules can match. Every field is optional. */
export interface GrayRequest {
  readonly method?: string | undefined;
  readonly host?: string | undefined;
  /** The path without the query string. */
  readonly path?: string | undefined;
  /** Header lookup. Record keys must be lower-case, as Node delivers them. */
  readonly headers?: RequestLookup | undefined;
  readonly cookies?: RequestLookup | undefined;
  readonly query?: RequestLookup | undefined;
  /** Caller-supplied attributes such as `userId`, e.g. from authentication. */
  readonly attrs?:
    | Readonly<Record<string, string | number | boolean | null | undefined>>
    | ((name: string) => string | undefined)
    | undefined;
  /**
   * The evaluation instant (epoch ms). Supply it from your server clock only, never from the
   * request (RELIABILITY WT-08). Defaults to `Date.now()`.
   */
  readonly now?: number | undefined;
}

/** Where a decision came from. */
export type DecisionSource = MarkerSource | 'rules' | 'default' | 'context' | 'client';

/** A marker that was present but ignored, and why. */
export interface RejectedMarker {
  readonly source: MarkerSource;
  readonly reason: MarkerRejection;
}

/**
 * The outcome for one request: made once at the first hop without a trusted marker, then carried.
 */
export interface Decision {
  readonly version: string;
  readonly reason: DecisionReason;
  readonly source: DecisionSource;
  /** The rule that decided, for `rule` / `weight` / `outside_window`. */
  readonly ruleId?: string;
  /** The subject's bucket (0–9999) for `weight` decisions. */
  readonly bucket?: number;
  /** The first marker that was present but ignored, if any. */
  readonly rejected?: RejectedMarker;
}
