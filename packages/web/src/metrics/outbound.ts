/** Outcome of one outbound injection attempt (`METRIC_NAMES.outbound` `result`). */
export type OutboundResult = 'injected' | 'skipped_host' | 'skipped_caller' | 'skipped_invalid';

const KEY = Symbol.for('@graylane/web.outbound');

type Counts = Record<OutboundResult, number>;

function counts(): Counts {
  const g = globalThis as { [KEY]?: Counts };
  g[KEY] ??= { injected: 0, skipped_host: 0, skipped_caller: 0, skipped_invalid: 0 };
  return g[KEY];
}

/** @internal Counts one hop (process-wide: wrappers are not tied to one engine). */
export function countOutbound(result: OutboundResult): void {
  counts()[result]++;
}

/**
 * Process-wide outbound counters of the Web engine: one count per hop judged by `withGray`.
 *
 * @example
 * ```ts
 * const { injected, skipped_host } = outboundStats();
 * ```
 */
export function outboundStats(): Readonly<Counts> {
  return { ...counts() };
}
