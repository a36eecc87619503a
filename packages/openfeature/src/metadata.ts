import type { FlagMetadata } from '@openfeature/core';
import { GraylaneError } from '@graylane/core';

/** The part of a graylane decision the providers read (a node `Decision` or a browser client's). */
export interface LaneDecision {
  readonly version: string;
  readonly reason: string;
  readonly source: string;
  readonly ruleId?: string | undefined;
  readonly bucket?: number | undefined;
  readonly rejected?: { readonly source: string; readonly reason: string } | undefined;
}

/**
 * The flag metadata of a lane evaluation: graylane's own reason and source, and the rule id,
 * bucket and ignored marker when there is one, so "why beta?" can be answered from the
 * evaluation details alone.
 *
 * @example
 * ```ts
 * toFlagMetadata({ version: 'beta', reason: 'weight', source: 'rules', ruleId: 'b5', bucket: 412 });
 * // { decisionReason: 'weight', source: 'rules', ruleId: 'b5', bucket: 412 }
 * ```
 */
export function toFlagMetadata(decision: LaneDecision): FlagMetadata {
  if (typeof decision !== 'object' || decision === null)
    throw new GraylaneError('INVALID_OPTIONS', 'toFlagMetadata: pass a decision');
  const meta: FlagMetadata = { decisionReason: decision.reason, source: decision.source };
  if (typeof decision.ruleId === 'string') meta['ruleId'] = decision.ruleId;
  if (typeof decision.bucket === 'number') meta['bucket'] = decision.bucket;
  if (decision.rejected)
    meta['rejected'] = `${decision.rejected.source}:${decision.rejected.reason}`;
  return meta;
}
