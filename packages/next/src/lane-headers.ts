import { removeBaggageMember, setBaggageMember, type Decision } from '@graylane/core';
import { DECISION_REQUEST_HEADER } from './constants.js';
import { sealDecision } from './seal.js';

/** Header names of the lane, as the proxy's engine is configured. */
export interface LaneNames {
  /** Lower-case marker header. */
  readonly header: string;
  readonly baggage: string | false;
}

/** What goes to the request the app (or a rewrite's origin) receives. */
export interface LaneParts {
  /** The marker header and the `gray` baggage member (false: removed instead). */
  readonly marker: boolean;
  /** The sealed decision (false: removed; another origin never needs it). */
  readonly decision: boolean;
}

/**
 * @internal The request headers the app sees: the client's decision header always replaced or
 * removed, the decided marker once, the `gray` baggage member — or, for a target that must not
 * get the lane, neither.
 */
export async function laneHeaders(
  incoming: Headers,
  decision: Decision,
  names: LaneNames,
  parts: LaneParts,
): Promise<Headers> {
  const headers = withoutDecision(incoming);
  if (parts.decision) headers.set(DECISION_REQUEST_HEADER, await sealDecision(decision));
  const version = decision.version;
  if (parts.marker) headers.set(names.header, version);
  else headers.delete(names.header);
  const existing = headers.get('baggage') ?? undefined;
  const key = names.baggage === false ? 'gray' : names.baggage;
  const baggage =
    parts.marker && names.baggage !== false
      ? setBaggageMember(existing, key, version)
      : removeBaggageMember(existing, key);
  if (baggage === undefined) headers.delete('baggage');
  else headers.set('baggage', baggage);
  return headers;
}

/** @internal A copy of `incoming` without the decision header. */
export function withoutDecision(incoming: Headers): Headers {
  const headers = new Headers(incoming);
  headers.delete(DECISION_REQUEST_HEADER);
  return headers;
}
