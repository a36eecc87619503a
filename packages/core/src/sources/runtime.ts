import { scrubText } from '../status/scrub.js';
import type { SourceStatus } from '../store/types.js';
import { systemClock, type SourceClock } from './clock.js';
import { consoleLogger, safeLogger, type SourceLogger } from './logger.js';
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
  /** The name as given: the store's `source`, the status list's key. */
  readonly name: string;
  /**
   * The name scrubbed of credentials (`token=…`, `user:pass@`) as the status page and the metric
   * labels show it: what a log line or an error message names the source by.
   */
  readonly label: string;
  readonly clock: SourceClock;
  /** Never throws; every message has the raw name replaced by `label` (MISC-03). */
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
  const name = options.name ?? defaultName;
  const label = scrubText(name);
  return {
    name,
    label,
    clock,
    logger: safeLogger(labelledLogger(options.logger ?? consoleLogger, name, label)),
    status: createStatusTracker(clock, options.onStatus),
  };
}

/**
 * A logger that writes `label` wherever a message holds the raw `name`: the one place a source's
 * log lines are scrubbed like its status row and metric label, whoever built the message.
 */
function labelledLogger(logger: SourceLogger, name: string, label: string): SourceLogger {
  // An empty name scrubs to itself: it is never split on.
  if (name === label) return logger;
  const clean = (message: string): string => String(message).split(name).join(label);
  return {
    warn: (message, error) => logger.warn(clean(message), error),
    error: (message, error) => logger.error(clean(message), error),
  };
}
