import { describeArms, shareAt, type CompiledRule, type GrayConfig } from '@graylane/core';
import { CliError } from '../io.js';
import { printable } from '../text.js';
import { upstreamName } from './plan.js';

type SplitRule = Extract<CompiledRule, { kind: 'split' }>;

/** The split `render envoy --bucket-header` renders as Envoy `weighted_clusters`. */
export interface EnvoySplit {
  /** The request header carrying graylane's bucket (0–9999), e.g. `x-gray-bucket`. */
  readonly header: string;
  readonly rule: SplitRule;
  /** Epoch ms: the schedule step in force then is rendered. */
  readonly at: number;
}

/** One Envoy v3 `WeightedCluster.ClusterWeight` (the subset rendered). */
export interface EnvoyClusterWeight {
  readonly name: string;
  readonly weight: number;
  readonly request_headers_to_add?: readonly {
    readonly header: { readonly key: string; readonly value: string };
    readonly append_action: 'OVERWRITE_IF_EXISTS_OR_ADD';
  }[];
}

/** Envoy v3 `WeightedCluster` with the `header_name` random value specifier. */
export interface EnvoyWeightedClusters {
  readonly header_name: string;
  readonly clusters: readonly EnvoyClusterWeight[];
}

/** The split rule named by `--rule`, or the config's only split rule. */
export function pickSplitRule(config: GrayConfig, id: string | undefined): SplitRule {
  const splits = config.rules.filter((r): r is SplitRule => r.kind === 'split');
  const rule =
    id === undefined && splits.length === 1 ? splits[0] : splits.find((r) => r.id === id);
  if (rule) return rule;
  const ids = printable(splits.map((r) => r.id).join(', ')) || 'none';
  throw new CliError(
    id === undefined
      ? `--bucket-header needs --rule ID when the config has not exactly one split rule (split rules: ${ids})`
      : `--rule ${printable(id)}: not an enabled split rule of this config (split rules: ${ids})`,
  );
}

/**
 * The arms in force at `split.at` as Envoy clusters, in graylane's arm order, weighted in basis
 * points (sum 10000). Envoy picks `header value % 10000` and walks the clusters cumulatively,
 * which is how graylane maps a bucket to an arm, so both pick the same version for a bucket.
 * Arms of weight 0 own no buckets and are left out (the layout of the others is unchanged).
 */
export function weightedClusters(
  split: EnvoySplit,
  marker: (version: string) => EnvoyClusterWeight['request_headers_to_add'],
): EnvoyWeightedClusters {
  let start = 0;
  const clusters: EnvoyClusterWeight[] = [];
  for (const arm of shareAt(split.rule, split.at).arms) {
    const weight = arm.end - start;
    start = arm.end;
    if (weight === 0) continue;
    const add = marker(arm.version);
    clusters.push({
      name: upstreamName(arm.version),
      weight,
      ...(add ? { request_headers_to_add: add } : {}),
    });
  }
  return { header_name: split.header, clusters };
}

/** Header comment lines: what Envoy does with the bucket, and the schedule to re-render at. */
export function splitNotes(split: EnvoySplit): string[] {
  const { rule, at } = split;
  const share = shareAt(rule, at);
  const lines = [
    `# Requests without a marker: rule ${rule.id}'s split at ${new Date(at).toISOString()} (${describeArms(share.arms)}),`,
    `# picked by the ${split.header} header (graylane's bucket, 0-9999) so Envoy and the app agree;`,
    '# without the header Envoy draws its own random value. Match conditions, windows and other',
    '# rules are not rendered: only this split.',
  ];
  if (rule.schedule.length > 0) {
    lines.push(
      `# Scheduled ramp: re-render at each step (${rule.schedule.map((s) => new Date(s.at).toISOString()).join(', ')})${share.paused ? `; paused at ${new Date(rule.pausedAt ?? at).toISOString()}` : ''}.`,
    );
  }
  return lines;
}
