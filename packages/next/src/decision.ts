import {
  DECISION_REASONS,
  debugHeaderValue,
  isVersionLabel,
  type Decision,
  type DecisionReason,
  type DecisionSource,
} from '@graylane/core';

const SOURCES: ReadonlySet<string> = new Set<DecisionSource>([
  'header',
  'cookie',
  'query',
  'baggage',
  'rules',
  'default',
  'context',
  'client',
]);
const REASONS: ReadonlySet<string> = new Set<string>(DECISION_REASONS);
/** The header value is ours, but bounded anyway before it is split (I4). */
const MAX_DECISION_HEADER = 512;
const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** @internal The request-header form of a decision (the debug-header format). */
export function formatDecision(decision: Decision): string {
  return debugHeaderValue(decision);
}

/**
 * @internal Reads a decision written by the proxy. Closed sets only: anything else is
 * undefined (I2), never thrown.
 */
export function parseDecision(value: string | null | undefined): Decision | undefined {
  if (typeof value !== 'string' || value.length > MAX_DECISION_HEADER) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const version = fields.get('version');
  const reason = fields.get('reason');
  const source = fields.get('source');
  if (version === undefined || !isVersionLabel(version)) return undefined;
  if (reason === undefined || !REASONS.has(reason)) return undefined;
  if (source === undefined || !SOURCES.has(source)) return undefined;
  const decision: { -readonly [K in keyof Decision]: Decision[K] } = {
    version,
    reason: reason as DecisionReason,
    source: source as DecisionSource,
  };
  const rule = fields.get('rule');
  if (rule !== undefined && RULE_ID.test(rule)) decision.ruleId = rule;
  const bucket = Number(fields.get('bucket'));
  if (fields.has('bucket') && Number.isInteger(bucket) && bucket >= 0 && bucket < 10_000)
    decision.bucket = bucket;
  return decision;
}
