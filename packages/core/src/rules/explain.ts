import type { GrayConfig } from '../config/types.js';
import { evaluate, misuse, type DecideOptions, type RuleTrace } from './evaluate.js';
import type { Decision, GrayRequest } from './types.js';

/** A decision together with the trace of every rule tried. */
export interface Explanation {
  readonly decision: Decision;
  readonly rules: readonly RuleTrace[];
}

/**
 * Decides like `decide` and records, for every rule tried, which conditions held and why the rule
 * did or did not apply ("why did this request get beta?").
 *
 * @example
 * ```ts
 * const { decision, rules } = explain(config, { headers: { 'x-user-group': 'qa' } });
 * console.log(formatExplanation({ decision, rules }));
 * ```
 */
export function explain(
  config: GrayConfig,
  request: GrayRequest,
  options: DecideOptions = {},
): Explanation {
  const rules: RuleTrace[] = [];
  try {
    return { decision: evaluate(config, request, options.rejected, rules), rules };
  } catch {
    if (misuse('explain', config, request, options))
      return explain(config, request ?? {}, options ?? {});
    return { decision: { version: config.default, reason: 'default', source: 'default' }, rules };
  }
}

/**
 * Renders an explanation as plain text, one rule per paragraph.
 *
 * @example
 * ```ts
 * console.log(formatExplanation(explain(config, request)));
 * ```
 */
export function formatExplanation(explanation: Explanation): string {
  const { decision } = explanation;
  const head = `version ${decision.version} (reason: ${decision.reason}${decision.ruleId ? `, rule: ${decision.ruleId}` : ''}${decision.bucket !== undefined ? `, bucket: ${decision.bucket}` : ''})`;
  const lines = [head];
  for (const step of explanation.rules) {
    lines.push(`  rule ${step.ruleId}: ${step.outcome.replace('_', ' ')}`);
    for (const d of step.details) lines.push(`    ${d}`);
  }
  if (decision.rejected)
    lines.push(`  ignored ${decision.rejected.source} marker: ${decision.rejected.reason}`);
  return lines.join('\n');
}
