import { canonicalJson } from '../json/canonical.js';
import type { JsonValue } from '../json/parse.js';
import type { GrayConfig } from '../config/types.js';

/** Ids of rules added, removed or modified between two configs, in document order. */
export function changedRuleIds(before: GrayConfig, after: GrayConfig): string[] {
  const a = ruleMap(before);
  const b = ruleMap(after);
  const out: string[] = [];
  for (const [id, text] of b) if (a.get(id) !== text) out.push(id);
  for (const id of a.keys()) if (!b.has(id)) out.push(id);
  return out;
}

/** True when the document-level settings differ. */
export function settingsChanged(before: GrayConfig, after: GrayConfig): boolean {
  return (
    before.default !== after.default ||
    before.caseInsensitive !== after.caseInsensitive ||
    before.versions.join(',') !== after.versions.join(',')
  );
}

function ruleMap(config: GrayConfig): Map<string, string> {
  const map = new Map<string, string>();
  for (const rule of config.document.rules ?? []) {
    map.set(rule.id, canonicalJson(rule as unknown as JsonValue));
  }
  return map;
}
