import type { SourceStatus } from '../store/types.js';
import { systemClock, type SourceClock } from './clock.js';
import { safeLogger, type SourceLogger } from './logger.js';
import { createStatusTracker, type StatusTracker } from './status.js';

/** Options every rule source accepts. */
export interface SourceOptions {
  /** Source name in snapshots, metrics and logs. Defaults to the kind of source. */
  readonly name?: string | undefined;
  /** Time for schedules and timestamps; inject a manual clock in tests. Default `systemClock`. */
  readonly clock?: SourceClock | undefined;
  /** Where problems are reported. Default `console`; a throwing logger never breaks a reload. */
  readonly logger?: SourceLogger | undefined;
  /** Hears every status transition. */
  readonly onStatus?: ((status: SourceStatus) => void) | undefined;
}

/** The resolved common parts of a source. */
export interface SourceRuntime {
  readonly name: string;
  readonly clock: SourceClock;
  readonly logger: SourceLogger;
  readonly status: StatusTracker;
}

/**
 * Applies the defaults of {@link SourceOptions}: one place for what every source needs.
 *
 * @example
 * ```ts
 * const { name, clock, logger, status } = sourceRuntime(options, 'file');
 * ```
 */
export function sourceRuntime(options: SourceOptions, defaultName: string): SourceRuntime {
  const clock = options.clock ?? systemClock;
  return {
    name: options.name ?? defaultName,
    clock,
    logger: safeLogger(options.logger),
    status: createStatusTracker(clock, options.onStatus),
  };
}
