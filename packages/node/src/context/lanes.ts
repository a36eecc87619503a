import { GraylaneError, isVersionLabel } from '@graylane/core';

/**
 * What a service does when the requested version has no implementation here (issue 19):
 * - `fallback` (default): the table's `fallback` lane serves, the marker travels on unchanged;
 * - `strict`: a {@link GrayLaneUnavailableError} (HTTP 503) — for lanes that must never be
 *   served by another version's code;
 * - a function: returns the lane to serve (one of `implements`), or `undefined` for strict. A
 *   function that throws or names a lane not implemented here counts as `fallback`.
 */
export type LanePolicy = 'fallback' | 'strict' | ((wanted: string) => string | undefined);

/** Options of {@link defineLanes}. */
export interface LaneTableOptions {
  /** The versions this service implements. At least one; version labels. */
  readonly implements: readonly string[];
  /** The lane serving versions not implemented here. Default: the first of `implements`. */
  readonly fallback?: string;
  /** Default `fallback`. */
  readonly policy?: LanePolicy;
}

/** A service's lane table, declared once and shared by `grayBranch` / `grayHandlers`. */
export interface LaneTable {
  readonly implements: ReadonlySet<string>;
  readonly fallback: string;
  readonly policy: LanePolicy;
}

/** Where a request goes: its own lane, another one (a fallback), or nowhere (strict). */
export type LaneResolution =
  | { readonly kind: 'own'; readonly lane: string }
  | { readonly kind: 'fallback'; readonly lane: string }
  | { readonly kind: 'unavailable' };

/**
 * Declares which versions this service implements and what happens to the others. Throws
 * `INVALID_OPTIONS` at construction for an empty table, a non-label, or a fallback outside it.
 *
 * @example
 * ```ts
 * const lanes = defineLanes({ implements: ['stable', 'beta'], policy: 'strict' });
 * app.get('/checkout', grayHandlers({ stable: v1, beta: v2 }, { lanes }));
 * ```
 */
export function defineLanes(options: LaneTableOptions): LaneTable {
  const list = Array.isArray(options?.implements) ? options.implements : [];
  if (list.length === 0 || !list.every((v) => typeof v === 'string' && isVersionLabel(v)))
    throw bad('implements must list at least one version label');
  const fallback = options.fallback ?? (list[0] as string);
  if (!list.includes(fallback))
    throw bad(`the fallback ${JSON.stringify(fallback)} is not implemented`);
  const policy = options.policy ?? 'fallback';
  if (policy !== 'fallback' && policy !== 'strict' && typeof policy !== 'function')
    throw bad(`unknown policy ${JSON.stringify(String(policy))}`);
  return Object.freeze({ implements: new Set(list), fallback, policy });
}

/**
 * @internal Resolves `wanted` against `table`, where `has(lane)` says whether this handler map
 * (or branch table) has an implementation. Never throws.
 */
export function resolveLane(
  table: LaneTable,
  wanted: string | undefined,
  has: (lane: string) => boolean,
  fallback: string = table.fallback,
): LaneResolution {
  if (wanted !== undefined && table.implements.has(wanted) && has(wanted))
    return { kind: 'own', lane: wanted };
  // Outside a request there is nothing to refuse: the fallback serves, as without a table.
  if (wanted === undefined) return { kind: 'fallback', lane: fallback };
  const policy = table.policy;
  if (policy === 'strict') return { kind: 'unavailable' };
  if (policy === 'fallback') return { kind: 'fallback', lane: fallback };
  let chosen: string | undefined;
  try {
    chosen = policy(wanted);
  } catch {
    return { kind: 'fallback', lane: fallback };
  }
  if (chosen === undefined) return { kind: 'unavailable' };
  return typeof chosen === 'string' && table.implements.has(chosen) && has(chosen)
    ? { kind: chosen === wanted ? 'own' : 'fallback', lane: chosen }
    : { kind: 'fallback', lane: fallback };
}

function bad(message: string): GraylaneError {
  return new GraylaneError('INVALID_OPTIONS', `defineLanes: ${message}`);
}
