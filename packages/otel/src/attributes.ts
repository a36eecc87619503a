import { context } from '@opentelemetry/api';
import type { Attributes, Context } from '@opentelemetry/api';
import { GraylaneError, type Decision } from '@graylane/core';
import { ATTR_GRAYLANE_REASON, ATTR_GRAYLANE_VERSION } from './constants.js';
import { findServerSpan } from './context-keys.js';

/**
 * The span attributes for a decision: `graylane.version` and `graylane.reason`. Both come from
 * closed sets (configured versions, core's `DecisionReason`), so attribute cardinality is bounded.
 *
 * @example
 * ```ts
 * tracer.startActiveSpan('job', { attributes: getGrayAttributes(decision) }, run);
 * ```
 */
export function getGrayAttributes(decision: Pick<Decision, 'version' | 'reason'>): Attributes {
  if (typeof decision !== 'object' || decision === null)
    throw new GraylaneError('INVALID_OPTIONS', 'getGrayAttributes: pass a decision');
  return { [ATTR_GRAYLANE_VERSION]: decision.version, [ATTR_GRAYLANE_REASON]: decision.reason };
}

/**
 * Sets `graylane.version` / `graylane.reason` on the request's server span, so traces can be
 * filtered by lane. The server span is the one `@opentelemetry/instrumentation-http` records
 * for the request (found even when a framework instrumentation made a child span active), else
 * the active span of `ctx`. Returns whether a recording span was annotated. Never throws.
 *
 * @example
 * ```ts
 * setGraySpanAttributes(getGrayDecision()); // inside a request handled by graylane
 * ```
 */
export function setGraySpanAttributes(
  decision: Pick<Decision, 'version' | 'reason'>,
  ctx: Context = context.active(),
): boolean {
  try {
    const span = findServerSpan(ctx);
    if (span === undefined || !span.isRecording()) return false;
    span.setAttributes(getGrayAttributes(decision));
    return true;
  } catch {
    return false;
  }
}
