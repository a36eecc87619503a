import type { PathRejection } from './path.js';
import type { FileMiss } from './files.js';

/**
 * Why the version was not injected into an HTML document (closed set). `not_utf8`: the document
 * is not UTF-8 (its bytes, its byte order mark or its meta charset), so it was sent as it is.
 */
export type InjectionSkip =
  'no_version' | 'html_too_large' | 'not_utf8' | 'invalid_nonce' | 'inline_config';

/** A snapshot of one asset-lane handler's counters. Labels come from closed sets and lanes. */
export interface AssetLaneStats {
  /** Responses sent, by lane folder and kind (`html`, `asset`, `immutable`, `not_modified`). */
  readonly served: readonly { lane: string; kind: ServedKind; count: number }[];
  /** Requests whose version had no build, served by the fallback lane. */
  readonly fallbacks: readonly { wanted: string; served: string; count: number }[];
  /** Request paths refused before touching the file system, by reason. */
  readonly rejectedPaths: Readonly<Partial<Record<PathRejection, number>>>;
  /**
   * Paths that passed the checks but were not served, by reason (`escape`: a symlink out;
   * `conflict`: a content-addressed name the visitor's lane lacks and two other lanes hold with
   * different bytes).
   */
  readonly misses: Readonly<Partial<Record<AssetMiss, number>>>;
  /**
   * Requests for a name that looks content-addressed while two lanes hold different bytes under
   * it: served per lane from the visitor's lane (or not at all, `misses.conflict`).
   */
  readonly conflicts: number;
  /** HTML served without (part of) the injection, by reason. */
  readonly injectionSkipped: Readonly<Partial<Record<InjectionSkip, number>>>;
  /** Versions from `options.version` that were not labels (ignored, fallback served). */
  readonly invalidVersions: number;
}

/** Why a path was not served after its checks (closed set). */
export type AssetMiss = FileMiss | 'no_build' | 'conflict';

/** Kinds of response counted in {@link AssetLaneStats.served}. */
export type ServedKind = 'html' | 'asset' | 'immutable' | 'not_modified';

/** @internal Counters of one handler. Keys are closed-set labels and validated version labels. */
export class AssetCounters {
  private readonly served = new Map<string, { lane: string; kind: ServedKind; count: number }>();
  private readonly fallbacks = new Map<string, { wanted: string; served: string; count: number }>();
  private readonly rejected = new Map<PathRejection, number>();
  private readonly missed = new Map<AssetMiss, number>();
  private readonly skipped = new Map<InjectionSkip, number>();
  private invalid = 0;
  private conflicted = 0;

  serve(lane: string, kind: ServedKind): void {
    const key = `${lane}\u0000${kind}`;
    const row = this.served.get(key);
    if (row) row.count++;
    else this.served.set(key, { lane, kind, count: 1 });
  }

  fallback(wanted: string, served: string): void {
    const key = `${wanted}\u0000${served}`;
    const row = this.fallbacks.get(key);
    if (row) row.count++;
    else this.fallbacks.set(key, { wanted, served, count: 1 });
  }

  rejectPath(reason: PathRejection): void {
    bump(this.rejected, reason);
  }

  miss(reason: AssetMiss): void {
    bump(this.missed, reason);
  }

  conflict(): void {
    this.conflicted++;
  }

  skipInjection(reason: InjectionSkip): void {
    bump(this.skipped, reason);
  }

  invalidVersion(): void {
    this.invalid++;
  }

  snapshot(): AssetLaneStats {
    return {
      served: [...this.served.values()].map((r) => ({ ...r })),
      fallbacks: [...this.fallbacks.values()].map((r) => ({ ...r })),
      rejectedPaths: Object.fromEntries(this.rejected),
      misses: Object.fromEntries(this.missed),
      injectionSkipped: Object.fromEntries(this.skipped),
      invalidVersions: this.invalid,
      conflicts: this.conflicted,
    };
  }
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
