/**
 * Metric names shared by every package (OpenTelemetry naming: dot-separated, unit-less counters).
 * Labels use the closed vocabularies in `reasons.ts` and the configured versions only (I2).
 */
export const METRIC_NAMES = {
  /** Counter. Labels: `version`, `reason`, `source`. */
  decisions: 'graylane.decisions',
  /** Counter. Labels: `source` (header/cookie/query/baggage), `reason` (a MarkerRejection). */
  invalidMarkers: 'graylane.markers.invalid',
  /**
   * Counter. Labels: `result` (`injected` | `skipped_host` | `skipped_caller` | `skipped_invalid`
   * | `skipped_context`, the last from @graylane/node only).
   */
  outbound: 'graylane.outbound',
  /**
   * Counter (`installCoverage()` in @graylane/node). Labels: `result` (`carried` | `missing` |
   * `withheld`), `destination`: an allowlisted `scheme://host:port` (at most 50, then `other`),
   * or `not-allowlisted` for every destination outside the allowlist (never named: request
   * input can choose them).
   */
  propagation: 'graylane.propagation',
  /**
   * Counter, the loads of rule sources by outcome. Labels: `source` (the source's name, scrubbed
   * of credentials), `result`: the store's answer to the document offered (`changed` |
   * `unchanged` | `stale` | `rejected`), or `failed` when no document reached the store (a
   * connection or HTTP error, a timeout, a missing or unreadable file, a document refused before
   * it was parsed, an etcd error or an absent key).
   */
  reloads: 'graylane.config.reloads',
  /**
   * Gauge, seconds since the source last succeeded (since the start if it never did). Labels:
   * `source` (scrubbed). Removed by `stop()`.
   */
  staleness: 'graylane.config.staleness',
  /**
   * Counter. Labels: `served` (the lane that served), `wanted` (the version decided against a
   * config, or `(undeclared)` for a bare `runWithGray('x')` version no config in the process
   * declares).
   */
  fallbacks: 'graylane.lane.fallbacks',
  /**
   * Counter (`@graylane/queue`), messages of a lane that ran in the default lane instead. Labels:
   * `lane` (a declared or retired version), `how` (`drained`: the lane had no live consumer and
   * the default lane's drain took the message, on every broker; `rerouted`: RabbitMQ returned it
   * from a lane queue that was gone and it went to the base queue).
   */
  queueMoved: 'graylane.queue.moved',
} as const;
