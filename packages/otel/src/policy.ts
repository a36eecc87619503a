import { isVersionLabel, parseMarker } from '@graylane/core';
import type { MarkerPolicy } from '@graylane/core';

/**
 * Which versions a graylane OTel helper accepts: a `MarkerPolicy` (a `GrayConfig` is one), a
 * list of version labels, or nothing, which accepts any well-formed label
 * (`^[a-z][a-z0-9_-]{0,31}$`). Pass the config wherever you have it, to keep the closed world
 * (RELIABILITY I2).
 *
 * @example
 * ```ts
 * new GrayPropagator({ versions: ['stable', 'beta'] });
 * new GrayPropagator({ versions: config }); // a GrayConfig from @graylane/core
 * ```
 */
export type VersionPolicy = MarkerPolicy | readonly string[];

const ANY_LABEL: MarkerPolicy = { hasVersion: isVersionLabel };

/** @internal Normalizes the accepted forms into a `MarkerPolicy`. */
export function toMarkerPolicy(policy: VersionPolicy | undefined): MarkerPolicy {
  if (policy === undefined) return ANY_LABEL;
  if (Array.isArray(policy)) {
    const set = new Set<string>(policy as readonly string[]);
    return { hasVersion: (v) => set.has(v) };
  }
  return policy as MarkerPolicy;
}

/** @internal A valid version from one raw value, or undefined. Never throws. */
export function acceptVersion(raw: unknown, policy: MarkerPolicy): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const result = parseMarker(raw, policy);
  return result.kind === 'valid' ? result.version : undefined;
}
