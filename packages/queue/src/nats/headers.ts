import { packageRequire } from '../package-require.js';
import { GraylaneError } from '@graylane/core';

/**
 * The part of a NATS header set graylane uses: `MsgHdrs` of `@nats-io/transport-node` (v3) and of
 * `nats` v2 both satisfy it (iterable of `[name, values]`, case-preserving names).
 */
export interface NatsHeadersLike extends Iterable<[string, string[]]> {
  keys(): string[];
  values(name: string): string[];
  set(name: string, value: string): void;
  append(name: string, value: string): void;
  delete(name: string): void;
}

/** Creates an empty NATS header set (`headers` of `@nats-io/transport-node`, or of `nats` v2). */
export type NatsHeadersFactory<H extends NatsHeadersLike = NatsHeadersLike> = () => H;

/** Where a header factory is found when none is passed, in order: v3, its core, v2. */
const CLIENTS = ['@nats-io/transport-node', '@nats-io/nats-core', 'nats'] as const;

let found: NatsHeadersFactory | undefined;

/**
 * The `headers` factory of whichever NATS client is installed, loaded on first use — not at
 * import, so `@graylane/queue/nats` loads in a project that has only `nats` v2 (an optional
 * peer is never a hard import). Throws `INVALID_OPTIONS` when no NATS client is installed.
 */
export function defaultNatsHeaders(): NatsHeadersLike {
  found ??= load();
  return found();
}

function load(): NatsHeadersFactory {
  const require = packageRequire();
  for (const name of CLIENTS) {
    try {
      const mod = require(name) as { headers?: unknown };
      if (typeof mod.headers === 'function') return mod.headers as NatsHeadersFactory;
    } catch {
      // not installed: try the next client
    }
  }
  throw new GraylaneError(
    'INVALID_OPTIONS',
    `no NATS client found (${CLIENTS.join(', ')}): install one, or pass its \`headers\` factory`,
  );
}
