import { createAllowlist, type AllowEntry, type Allowlist } from '@graylane/core';

/** Options shared by every outbound integration. */
export interface OutboundOptions {
  /**
   * Targets that receive the marker. Default: the `allowHosts` of the middleware (or
   * `runWithGray`) that bound the current request; with neither, nothing is injected (I8).
   */
  readonly allowHosts?: readonly AllowEntry[];
}

/** @internal Compiled once per wrapper; throws `INVALID_OPTIONS` on a bad entry (construction time). */
export function compileOutbound(options: OutboundOptions | undefined): Allowlist | undefined {
  return options?.allowHosts === undefined
    ? undefined
    : createAllowlist({ allow: options.allowHosts });
}
