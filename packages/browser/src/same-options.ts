import type { GrayOptions } from './options.js';

const RULES_KEY = Symbol.for('@graylane/browser:rules-key');

/**
 * @internal Tags rules made by `split` / `rulesFromConfig` (and `excludePaths`) with the inputs they were made from,
 * so that a second `initGray` with freshly made but equal rules counts as the same options.
 */
export function keyed<T extends object>(rules: T, key: string): T {
  return Object.assign(rules, { [RULES_KEY]: key });
}

/**
 * @internal What makes two `initGray` calls "the same options": equal data (RegExps by source
 * and flags), the same server hand-off, rules equal by their tag or identity, the same jar.
 * `onAssign` is left out: a new one replaces the old without firing (one exposure per page).
 * Two keys are the same when every part is (`===`).
 */
export function optionsKey(o: GrayOptions, server: unknown): readonly unknown[] {
  const data = [
    o.versions,
    o.default,
    o.header,
    o.allow?.map(String),
    o.override,
    o.persistOverride,
    server,
    o.cookie,
  ];
  const rules = o.rules as { [RULES_KEY]?: string } | undefined;
  const exclude = o.exclude as { [RULES_KEY]?: string } | undefined;
  return [
    JSON.stringify(data),
    rules?.[RULES_KEY] ?? rules,
    o.cookies,
    exclude?.[RULES_KEY] ?? exclude,
  ];
}
