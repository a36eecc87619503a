import { VERSION_PATTERN } from '@graylane/core';
import { declaringConfigs } from '../metrics/state.js';
import { MAX_LANES_SEARCHED } from './files.js';
import type { ResolvedAssetOptions } from './options.js';

/** The part of a {@link ResolvedAssetOptions} that learns lanes. */
type Learning = Pick<ResolvedAssetOptions, 'lanes' | 'served'>;

/**
 * The lanes a file missing from `own` is looked up in, in order: the fallback, then the `lanes`
 * option, or by default the versions of the config in force of every graylane middleware in this
 * process (each engine's config store, held weakly by the process-wide metrics state, asked
 * now: a fresh process knows every lane before it served any, and a reloaded config counts at
 * once), then the versions this handler has served a build for (a custom `version(req)` with
 * no graylane middleware in the process: a router in front decides). Only version labels a
 * config declares or a decision pointed to: a folder under `root` is never a lane because of its
 * name. At most {@link MAX_LANES_SEARCHED}; never throws.
 */
export function otherLanes(o: ResolvedAssetOptions, own: string): string[] {
  const lanes = new Set<string>(o.lanes ?? [o.fallback]);
  if (o.lanes === undefined) {
    addConfiguredVersions(lanes);
    for (const v of o.served) lanes.add(v);
  }
  lanes.delete(own);
  return [...lanes].slice(0, MAX_LANES_SEARCHED);
}

/**
 * Records a version (already checked against `VERSION_PATTERN`) whose build served a request,
 * when the `lanes` option is not given: a lane from then on (at most
 * {@link MAX_LANES_SEARCHED}, the first ones kept).
 */
export function learnLane(o: Learning, version: string): void {
  if (o.lanes === undefined && o.served.size < MAX_LANES_SEARCHED) o.served.add(version);
}

function addConfiguredVersions(lanes: Set<string>): void {
  // Newest engines first: with more lanes than are searched, the current config's count.
  for (const { versions } of declaringConfigs()) {
    if (Array.isArray(versions))
      for (const v of versions as unknown[])
        if (typeof v === 'string' && VERSION_PATTERN.test(v)) lanes.add(v);
    if (lanes.size > MAX_LANES_SEARCHED) return;
  }
}
