import { stripBaggageMember, type Decision, type GrayConfig } from '@graylane/core';
import { BAGGAGE_HEADER, DEFAULT_BAGGAGE_KEY } from '../limits.js';
import type { ResolvedLaneOptions } from '../options.js';
import { readSource, type MessageReader } from './extract.js';
import { hasValue } from './outgoing.js';
import { baggageText } from './values.js';

/**
 * Edits one consumed message's headers in place, whatever shape its broker hands over (an AMQP
 * or kafkajs table, NATS `MsgHdrs`, a Confluent header list, BullMQ job data). Names compare
 * case-insensitively: every spelling of a name is one header.
 */
export interface HeaderEditor {
  /** Removes every spelling of `name`. */
  remove(name: string): void;
  /** Replaces every spelling of `name` with one header holding `value`. */
  set(name: string, value: string): void;
}

/** What must go from one consumed message so that it carries only what its consumer honoured. */
export interface ScrubPlan {
  /** The marker header was present but did not decide: remove it. */
  readonly header: boolean;
  /** The baggage member to remove (under this key), or undefined to leave baggage as it is. */
  readonly baggageKey: string | undefined;
}

const NOTHING: ScrubPlan = { header: false, baggageKey: undefined };

/**
 * GW-01 for messages, as the HTTP inbound does it for requests: a marker the consumer did not
 * honour must not travel on when a handler relays what arrived (republishes the headers, re-enqueues
 * the job data, forwards the header value over HTTP). Judged per carrier:
 * - the carrier the decision came from is kept as it is (open mode: the label; signed mode: the
 *   valid token, which the next signed hop verifies again);
 * - any other marker header is removed (refused, blank, ambiguous, a bare label or a bad token in
 *   `signed` mode, anything in `ignore` mode);
 * - the baggage member is kept only when it is honoured and says the decided version; otherwise
 *   it is removed, the other members kept. With `baggageKey: false` the member is removed under
 *   the default key, so a later hop with default settings never honours what this one ignored.
 * Pure; bounded by the readers' own caps.
 */
export function scrubPlan(
  read: MessageReader,
  opts: ResolvedLaneOptions,
  config: GrayConfig,
  decision: Decision,
): ScrubPlan {
  const header = decision.source !== 'header' && hasValue(safely(() => read(opts.header)));
  let baggageKey: string | undefined;
  if (hasValue(safely(() => read(BAGGAGE_HEADER)))) {
    if (opts.baggageKey === false) {
      baggageKey = DEFAULT_BAGGAGE_KEY;
    } else if (decision.source !== 'baggage') {
      const outcome =
        opts.trust === 'ignore'
          ? undefined
          : safely(() => readSource('baggage', read, opts, config));
      const honoured = outcome?.ok === true && outcome.version === decision.version;
      if (!honoured) baggageKey = opts.baggageKey;
    }
  }
  if (!header && baggageKey === undefined) return NOTHING;
  return { header, baggageKey };
}

/**
 * Applies `plan` through `edit`. A baggage header that holds the key (or a percent-escape, which
 * may spell it) loses that member, its other members kept in order; one that cannot be read as
 * text (bytes that are not UTF-8, another shape) is removed whole. Never throws: a carrier that
 * refuses the edit (a frozen object) is left as it is.
 */
export function applyScrub(
  plan: ScrubPlan,
  read: MessageReader,
  opts: ResolvedLaneOptions,
  edit: HeaderEditor,
): void {
  if (plan === NOTHING) return;
  try {
    if (plan.header) edit.remove(opts.header);
    if (plan.baggageKey === undefined) return;
    const raw = read(BAGGAGE_HEADER);
    if (!hasValue(raw)) return;
    const text = baggageText(raw);
    if (text === undefined) {
      edit.remove(BAGGAGE_HEADER);
      return;
    }
    if (!text.includes(plan.baggageKey) && !text.includes('%')) return;
    const { rest, removed } = stripBaggageMember(text, plan.baggageKey);
    if (removed === 0) return;
    if (rest === undefined) edit.remove(BAGGAGE_HEADER);
    else edit.set(BAGGAGE_HEADER, rest);
  } catch {
    // A carrier that cannot be edited stays as it is; the decision stands (I1).
  }
}

function safely<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
