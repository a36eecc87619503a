import type { Decision } from '../rules/types.js';

/**
 * The `X-Gray-Decision` debug header value: closed sets and rule ids only, never request text.
 *
 * @example
 * ```ts
 * debugHeaderValue(decision); // 'version=beta; reason=weight; source=rules; rule=ramp; bucket=42'
 * ```
 */
export function debugHeaderValue(d: Decision): string {
  let v = `version=${d.version}; reason=${d.reason}; source=${d.source}`;
  if (d.ruleId !== undefined) v += `; rule=${d.ruleId}`;
  if (d.bucket !== undefined) v += `; bucket=${d.bucket}`;
  return v;
}
