import {
  VERSION_PATTERN,
  parseMarker,
  readBaggageMember,
  reasonForRejection,
  trimOws,
  type Decision,
  type GrayConfig,
  type MarkerRejection,
} from '@graylane/core';
import { verifyMarker } from '@graylane/node';
import { MAX_BAGGAGE_VALUE_BYTES, MAX_MARKER_VALUE_BYTES } from '../limits.js';
import type { MessageMarkerSource } from '../metrics/stats.js';
import type { ResolvedLaneOptions } from '../options.js';
import { readList, readValue } from './values.js';

/** Reads one named value from a message (a header, or the BullMQ job field). May throw: guarded. */
export type MessageReader = (name: string) => unknown;

/** The decision for one message, and every marker that was present but ignored. */
export interface MessageDecision {
  readonly decision: Decision;
  readonly rejections: readonly { source: MessageMarkerSource; reason: MarkerRejection }[];
}

/** What one carrier says under the trust mode: honoured, refused with a reason, or nothing. */
export type Outcome =
  { ok: true; version: string } | { ok: false; reason: MarkerRejection } | undefined;

/**
 * Decides the version of one consumed message: the marker header first, then the `gray` baggage
 * member, under the trust mode. Total and bounded (I1, I4): any reader error, value shape or
 * length means "no marker" with a reason; absent or ignored markers give the default version.
 */
export function decideMessage(
  read: MessageReader,
  opts: ResolvedLaneOptions,
  config: GrayConfig,
): MessageDecision {
  const rejections: { source: MessageMarkerSource; reason: MarkerRejection }[] = [];
  const sources: readonly MessageMarkerSource[] =
    opts.baggageKey === false ? ['header'] : ['header', 'baggage'];
  for (const source of sources) {
    let outcome: Outcome;
    try {
      outcome = readSource(source, read, opts, config);
    } catch {
      outcome = { ok: false, reason: 'charset' };
    }
    if (outcome === undefined) continue;
    if (outcome.ok) {
      return { decision: { version: outcome.version, reason: source, source }, rejections };
    }
    rejections.push({ source, reason: outcome.reason });
  }
  const first = rejections[0];
  const decision: Decision = first
    ? {
        version: config.default,
        reason: reasonForRejection(first.reason),
        source: 'default',
        rejected: first,
      }
    : { version: config.default, reason: 'default', source: 'default' };
  return { decision, rejections };
}

/** Reads and judges one carrier of a message. May throw (the reader): guarded by callers. */
export function readSource(
  source: MessageMarkerSource,
  read: MessageReader,
  opts: ResolvedLaneOptions,
  config: GrayConfig,
): Outcome {
  if (source === 'header') {
    const value = readValue(read(opts.header), MAX_MARKER_VALUE_BYTES);
    if (value.kind === 'absent') return undefined;
    if (value.kind === 'invalid') return { ok: false, reason: value.reason };
    return judge(value.text, opts, config);
  }
  // Repeated baggage headers are one list (W3C, BG-08), as producers join them.
  const raw = read('baggage');
  const value =
    Array.isArray(raw) && raw.length > 1
      ? readList(raw, MAX_BAGGAGE_VALUE_BYTES)
      : readValue(raw, MAX_BAGGAGE_VALUE_BYTES);
  if (value.kind === 'absent') return undefined;
  if (value.kind === 'invalid') return { ok: false, reason: value.reason };
  const member = readBaggageMember(value.text, opts.baggageKey as string);
  switch (member.kind) {
    case 'absent':
      return undefined;
    case 'ambiguous':
    case 'too_long':
      return { ok: false, reason: member.kind };
    case 'value':
      return judge(member.value, opts, config);
  }
}

/** Applies the trust mode to one text value. Blank text is absent (HDR-02). */
function judge(raw: string, opts: ResolvedLaneOptions, config: GrayConfig): Outcome {
  const text = trimOws(raw);
  if (text === '') return undefined;
  if (opts.trust === 'ignore') return { ok: false, reason: 'untrusted' };
  if (opts.trust === 'open') {
    const r = parseMarker(text, config);
    if (r.kind === 'absent') return undefined;
    return r.kind === 'valid' ? { ok: true, version: r.version } : { ok: false, reason: r.reason };
  }
  if (text.includes(',')) return { ok: false, reason: 'ambiguous' };
  // A bare, well-formed label is a client hint that signed mode does not honour (HDR-13).
  if (VERSION_PATTERN.test(text)) return { ok: false, reason: 'untrusted' };
  if (opts.keys === undefined) return { ok: false, reason: 'bad_signature' };
  const result = verifyMarker(text, { keys: opts.keys, versions: config, now: opts.now });
  return result.ok ? { ok: true, version: result.version } : { ok: false, reason: result.reason };
}
