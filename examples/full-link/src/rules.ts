/**
 * The edge's rules: the embedded default (a copy of `rules.json`, bundled at build time, so the
 * demo runs even without the file) overlaid by the JSON file through the file source, which
 * hot-reloads edits and keeps the last-known-good config on a bad one.
 */
import { createConfigStore, type ConfigDocument, type ConfigStore } from '@graylane/core';
import { createFileSource } from '@graylane/node/sources';
import embedded from '../rules.json' with { type: 'json' };

/** The rules the demo ships with. */
export const EMBEDDED_RULES: ConfigDocument = embedded;

/** A config store fed by a rules file, and how to stop watching it. */
export interface EdgeConfig {
  readonly store: ConfigStore;
  /** `ready`, `stale`, … of the file source, for the banner. */
  status(): string;
  stop(): Promise<void>;
}

/** Creates the edge store and starts the file source on `path` (resolves after the first read). */
export async function startEdgeConfig(path: string): Promise<EdgeConfig> {
  const store = createConfigStore({ initial: EMBEDDED_RULES, source: 'embedded' });
  const source = createFileSource({ path });
  await source.start(store);
  return { store, status: () => source.status().state, stop: () => source.stop() };
}

/** A store with the same versions and default but no rules: what internal hops need. */
export function internalConfig(edge: ConfigStore): ConfigStore {
  const { versions, default: fallback } = edge.get().config;
  return createConfigStore({
    initial: { versions: [...versions], default: fallback },
    source: 'embedded',
  });
}
