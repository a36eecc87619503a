/**
 * @graylane/browser/remote — browser rules from an HTTP endpoint: bootstrapped from the page,
 * revalidated with ETags, validated before they apply, sticky for visitors. Kept out of the main
 * entry: it bundles core's rule engine.
 */

export { createRemoteRules } from './remote/create.js';
export type { RemoteRules, RemoteRulesOptions } from './remote/create.js';
export type { RulesFetch } from './remote/fetch-rules.js';
export type { RerollEvent, RerollReason } from './remote/sticky.js';
