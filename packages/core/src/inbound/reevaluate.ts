import type { CompiledRule, GrayConfig } from '../config/types.js';

/**
 * STK-03: true when a sticky cookie saying `version` must be checked against the rules again —
 * some rule with `sticky: "reevaluate"` can give that version (an arm of its split or schedule,
 * or its fixed version), so the cookie is taken for that rule's assignment. A cookie naming a
 * version no such rule gives (a QA choice, a `keep` rule's assignment) decides as before.
 */
export function mustReevaluate(config: GrayConfig, version: string): boolean {
  for (const rule of config.rules)
    if (rule.sticky === 'reevaluate' && gives(rule, version)) return true;
  return false;
}

function gives(rule: CompiledRule, version: string): boolean {
  if (rule.kind === 'version') return rule.version === version;
  if (rule.arms.some((a) => a.version === version)) return true;
  return rule.schedule.some((step) => step.arms.some((a) => a.version === version));
}
