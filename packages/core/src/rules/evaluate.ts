import { isGrayConfig } from '../config/parse.js';
import type { BucketBy, CompiledCondition, CompiledRule, GrayConfig } from '../config/types.js';
import { GraylaneError } from '../errors.js';
import { ruleBucket } from '../hash/bucket.js';
import { MAX_SUBJECT_LENGTH } from '../limits.js';
import { reasonForRejection } from '../reasons.js';
import { lookup } from './lookup.js';
import { armFor, describeArms, shareAt } from './ramp.js';
import type { Decision, GrayRequest, RejectedMarker } from './types.js';

/** How one rule fared for one request. */
export type RuleOutcome = 'matched' | 'no_match' | 'outside_window' | 'no_subject';

/** One step of an explanation. */
export interface RuleTrace {
  readonly ruleId: string;
  readonly outcome: RuleOutcome;
  /** One line per condition or check, e.g. `header x-user-group = "qa" equals "qa": yes`. */
  readonly details: readonly string[];
}

/** Options for {@link decide}. */
export interface DecideOptions {
  /** A marker that was present but ignored: reported as the reason if the default is served. */
  readonly rejected?: RejectedMarker | undefined;
}

/**
 * Decides the version for a request from the config's rules: first matching rule wins, else the
 * default. Pure and total: it never throws, whatever the request holds (RELIABILITY I1); no
 * request (`null`, `undefined`) reads as `{}`, every field absent. Markers are read by the
 * platform packages before this is called. Throws `INVALID_OPTIONS` only when `config` is not
 * one `parseConfig` made.
 *
 * @example
 * ```ts
 * const d = decide(config, { path: '/api/checkout', headers: { 'x-user-group': 'qa' } });
 * d.version; // 'beta'
 * d.reason;  // 'rule'
 * ```
 */
export function decide(
  config: GrayConfig,
  request: GrayRequest,
  options: DecideOptions = {},
): Decision {
  try {
    return evaluate(config, request, options.rejected, undefined);
  } catch {
    // Checked only after a throw, so the valid path pays nothing (review 107 D3).
    if (misuse('decide', config, request, options))
      return decide(config, request ?? {}, options ?? {});
    return { version: config.default, reason: 'default', source: 'default' };
  }
}

/**
 * @internal After `evaluate` threw: throws `INVALID_OPTIONS` for a config `parseConfig` did not
 * make; true when the call should run again with no request read as `{}` and `null` options as
 * none (plain JavaScript), false for a request or rule that failed (the default is served).
 */
export function misuse(call: string, config: unknown, request: unknown, options: unknown): boolean {
  if (!isGrayConfig(config))
    throw new GraylaneError('INVALID_OPTIONS', `${call}: config must come from parseConfig`);
  return request == null || options === null;
}

/** @internal Shared by `decide` and `explain`; pushes trace steps when `trace` is given. */
export function evaluate(
  config: GrayConfig,
  request: GrayRequest,
  rejected: RejectedMarker | undefined,
  trace: RuleTrace[] | undefined,
): Decision {
  const clock = new Clock(request.now);
  const reads: ReadCache = [];
  let outsideWindow: string | undefined;
  const rules = config.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as CompiledRule;
    let outcome: Outcome;
    if (trace) {
      const details: string[] = [];
      outcome = tryRule(rule, request, clock, reads, details);
      trace.push({ ruleId: rule.id, outcome: outcome.kind, details });
    } else {
      // The hot path: a small loop over the conditions, the rest only for a rule that matched.
      outcome = conditionsHold(rule, request, reads)
        ? afterConditions(rule, request, clock, undefined)
        : NO_MATCH;
    }
    if (outcome.kind === 'matched') return outcome.decision;
    if (outcome.kind === 'outside_window') outsideWindow ??= rule.id;
  }
  if (rejected) {
    return {
      version: config.default,
      reason: reasonForRejection(rejected.reason),
      source: 'default',
      rejected,
    };
  }
  if (outsideWindow !== undefined) {
    return {
      version: config.default,
      reason: 'outside_window',
      source: 'default',
      ruleId: outsideWindow,
    };
  }
  return { version: config.default, reason: 'default', source: 'default' };
}

/** Reads the clock only when a rule has a window or a schedule (most requests never need it). */
class Clock {
  private value: number | undefined;
  constructor(private readonly given: number | undefined) {}
  get now(): number {
    if (this.value === undefined) {
      const g = this.given;
      this.value = typeof g === 'number' && Number.isFinite(g) ? g : Date.now();
    }
    return this.value;
  }
}

type Outcome = { kind: 'matched'; decision: Decision } | { kind: Exclude<RuleOutcome, 'matched'> };
// Shared outcome objects: the hot path allocates only the final decision.
const NO_MATCH: Outcome = { kind: 'no_match' };
const OUTSIDE: Outcome = { kind: 'outside_window' };
const NO_SUBJECT: Outcome = { kind: 'no_subject' };

/** Values read for this request by slot (`null`: read, absent; a hole: not read yet). */
type ReadCache = (string | null)[];

/** A condition's value, read once per request for all rules that test it. */
function readValue(c: CompiledCondition, req: GrayRequest, reads: ReadCache): string | undefined {
  const slot = c.slot;
  if (slot === undefined) return c.read(req);
  const cached = reads[slot];
  if (cached !== undefined) return cached === null ? undefined : cached;
  const value = c.read(req);
  reads[slot] = value === undefined ? null : value;
  return value;
}

/** True when every condition of `rule` holds (no explanation kept). */
function conditionsHold(rule: CompiledRule, req: GrayRequest, reads: ReadCache): boolean {
  const conditions = rule.conditions;
  for (let i = 0; i < conditions.length; i++) {
    const c = conditions[i] as CompiledCondition;
    if (!c.matcher.test(readValue(c, req, reads))) return false;
  }
  return true;
}

/** `explain`'s path: every condition is tested and described. */
function tryRule(
  rule: CompiledRule,
  req: GrayRequest,
  clock: Clock,
  reads: ReadCache,
  details: string[] | undefined,
): Outcome {
  let matched = true;
  for (const c of rule.conditions) {
    const value = readValue(c, req, reads);
    const ok = c.matcher.test(value);
    if (details) {
      const shown =
        value === undefined
          ? 'absent'
          : JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
      details.push(
        `${c.kind}${c.name === undefined ? '' : ` ${c.name}`} = ${shown} ${c.matcher.describe}: ${ok ? 'yes' : 'no'}`,
      );
    }
    if (!ok) {
      matched = false;
      if (!details) break;
    }
  }
  if (!matched) return NO_MATCH;
  return afterConditions(rule, req, clock, details);
}

/** A rule whose conditions hold: its window, then its version or split. */
function afterConditions(
  rule: CompiledRule,
  req: GrayRequest,
  clock: Clock,
  details: string[] | undefined,
): Outcome {
  if (
    (rule.from !== undefined && clock.now < rule.from) ||
    (rule.until !== undefined && clock.now >= rule.until)
  ) {
    details?.push(
      `now ${new Date(clock.now).toISOString()} is outside [${iso(rule.from)}, ${iso(rule.until)})`,
    );
    return OUTSIDE;
  }
  if (rule.kind === 'version') {
    return {
      kind: 'matched',
      decision: { version: rule.version, reason: 'rule', source: 'rules', ruleId: rule.id },
    };
  }
  let subject: string | undefined;
  let from = rule.bucketBy;
  const chain = rule.bucketChain;
  for (let i = 0; i < chain.length && subject === undefined; i++) {
    const by = chain[i] as BucketBy;
    from = by;
    const source =
      by.kind === 'attr'
        ? req.attrs
        : by.kind === 'header'
          ? req.headers
          : by.kind === 'cookie'
            ? req.cookies
            : req.query;
    const value = lookup(source, by.name, by.kind === 'attr');
    // WT-05: an absent, empty or oversized subject is never hashed: the next in the chain is
    // tried, and with none left the split is skipped rather than guessed.
    if (value !== undefined && value !== '' && value.length <= MAX_SUBJECT_LENGTH) subject = value;
    else
      details?.push(
        `no usable subject in ${by.kind}:${by.name}; ${i + 1 < chain.length ? 'trying the next' : 'split skipped'}`,
      );
  }
  if (subject === undefined) return NO_SUBJECT;
  const share = rule.schedule.length === 0 ? undefined : shareAt(rule, clock.now);
  const arms = share ? share.arms : rule.arms;
  const b = ruleBucket(rule.salt, subject);
  const version = armFor(arms, b);
  if (details && share) {
    const step =
      share.step < 0
        ? 'before the first step'
        : `step ${share.step + 1} of ${rule.schedule.length}`;
    details.push(
      `schedule at ${new Date(clock.now).toISOString()}: ${step}${share.paused ? ` (paused at ${iso(rule.pausedAt)})` : ''} → ${describeArms(arms)}`,
    );
  }
  details?.push(
    `bucket(${JSON.stringify(rule.salt)}, ${from.kind}:${from.name}) = ${b} → ${version}`,
  );
  return {
    kind: 'matched',
    decision: { version, reason: 'weight', source: 'rules', ruleId: rule.id, bucket: b },
  };
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '…' : new Date(ms).toISOString();
}
