import { isVersionLabel } from '@graylane/core';
import type { LaneDecision } from './metadata.js';

/** What a decision accessor gave: a lane, no lane, or something that is not a decision. */
export type LaneRead =
  | { readonly kind: 'lane'; readonly decision: LaneDecision }
  | { readonly kind: 'none' }
  | { readonly kind: 'bad'; readonly message: string };

const NONE: LaneRead = { kind: 'none' };

/**
 * @internal Calls a decision accessor (`getDecision`, a browser client) and checks what it
 * returned: `undefined`/`null` is no lane; anything but an object with a version label is a bad
 * result, described in a bounded message. The fields are read once, into a plain copy, so a
 * getter cannot answer differently later. Never throws (RELIABILITY I1, CONF-05).
 */
export function readLane(read: () => unknown): LaneRead {
  let value: unknown;
  try {
    value = read();
  } catch (err) {
    return bad(`reading the lane failed: ${safeString(err)}`);
  }
  if (value === undefined || value === null) return NONE;
  try {
    return checkDecision(value);
  } catch (err) {
    return bad(`reading the decision failed: ${safeString(err)}`);
  }
}

function checkDecision(value: unknown): LaneRead {
  if (typeof value !== 'object' || Array.isArray(value)) {
    return bad(`getDecision returned ${describe(value)}, not a decision`);
  }
  if (settle(value)) {
    return bad('getDecision returned a promise: it must return the decision synchronously');
  }
  const d = value as Record<string, unknown>;
  const version = d['version'];
  if (!isVersionLabel(version)) {
    if (settle(version)) return bad("the decision's version is a promise, not a version label");
    return bad(`the decision's version is ${describe(version)}, not a version label`);
  }
  const decision: LaneDecision = {
    version,
    reason: text(d['reason']) ?? 'unknown',
    source: text(d['source']) ?? 'unknown',
    ruleId: text(d['ruleId']),
    bucket:
      typeof d['bucket'] === 'number' && Number.isFinite(d['bucket']) ? d['bucket'] : undefined,
    rejected: rejected(d['rejected']),
  };
  return { kind: 'lane', decision };
}

/**
 * True for a thenable, whose rejection is then handled here: a rejected promise nobody awaits
 * would otherwise become an unhandled rejection (which ends a Node process).
 */
function settle(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (typeof (value as { then?: unknown }).then !== 'function') return false;
  Promise.resolve(value).catch(() => undefined);
  return true;
}

/** Metadata strings stay short: they end up in logs and telemetry. */
const MAX_TEXT = 256;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= MAX_TEXT ? value : undefined;
}

function rejected(value: unknown): LaneDecision['rejected'] {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const source = text(r['source']);
  const reason = text(r['reason']);
  return source !== undefined && reason !== undefined ? { source, reason } : undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length === 0 ? 'an empty string' : 'a string';
  return `a ${typeof value}`;
}

function safeString(value: unknown): string {
  try {
    return String(value).slice(0, 200);
  } catch {
    return 'an unprintable error';
  }
}

function bad(message: string): LaneRead {
  return { kind: 'bad', message: message.slice(0, 200) };
}
