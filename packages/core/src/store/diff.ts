import { canonicalJson } from '../json/canonical.js';
import type { JsonValue } from '../json/parse.js';
import type { GrayConfig } from '../config/types.js';

/**
 * Ids of rules added, removed, modified or moved (first match wins, so a rule that now comes
 * before or after another it came after or before decides differently) between two configs, in
 * document order. Compared in normal form, as the store compares: whenever the store sees a
 * change, this list or {@link settingsChanged} names it.
 */
export function changedRuleIds(before: GrayConfig, after: GrayConfig): string[] {
  const a = ruleMap(before);
  const b = ruleMap(after);
  const kept = [...a.keys()].filter((id) => b.has(id));
  const moved = new Set<string>();
  [...b.keys()]
    .filter((id) => a.has(id))
    .forEach((id, i) => {
      if (kept[i] !== id) moved.add(id).add(kept[i] as string);
    });
  const out: string[] = [];
  for (const [id, text] of b) if (a.get(id) !== text || moved.has(id)) out.push(id);
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
