import {
  GraylaneError,
  createConfigStore,
  isConfigStore,
  type AllowEntry,
  type ConfigDocument,
  type ConfigStore,
  type GrayConfig,
} from '@graylane/core';
import { compileKeyRing, nodeRegexEngine, type CompiledKeys, type KeyRing } from '@graylane/node';
import {
  DEFAULT_BAGGAGE_KEY,
  DEFAULT_MESSAGE_HEADER,
  DEFAULT_MESSAGE_TOKEN_TTL_SECONDS,
} from './limits.js';

/**
 * How far a message's marker is trusted. A message marker is a client marker (issue 18):
 * - `open`: a well-formed, declared version is honoured;
 * - `signed`: only a valid signed token (`version.exp.kid.sig`) is honoured;
 * - `ignore`: markers are never honoured (every message runs in the default version).
 */
export type MessageTrust = 'open' | 'signed' | 'ignore';

/** Options of {@link createMessageLanes}. One object; defaults are applied in one place. */
export interface MessageLanesOptions {
  /** The versions (and default) messages may carry: a parsed config, a document, JSON text or a store. */
  readonly config: GrayConfig | ConfigDocument | string | ConfigStore;
  /** Default `open`. */
  readonly trust?: MessageTrust;
  /** `signed`: key id → HMAC-SHA256 key (≥ 16 bytes). Consumers verify with every key. */
  readonly keys?: KeyRing;
  /** `signed`: the key producers sign with. Default: the first key. */
  readonly signingKid?: string;
  /** `signed`: lifetime of the tokens producers write. Default 3600 s. */
  readonly tokenTtlSeconds?: number;
  /** The marker header on messages. Default `x-gray-id`. */
  readonly header?: string;
  /** The W3C baggage key read and written beside the header, or false. Default `gray`. */
  readonly baggageKey?: string | false;
  /** Outbound hosts that receive the marker from inside a message handler. Default: none. */
  readonly allowHosts?: readonly AllowEntry[];
  /** Clock (epoch ms) for signed tokens. Default `Date.now`. */
  readonly now?: () => number;
}

/** @internal The options with every default applied and every check done. */
export interface ResolvedLaneOptions {
  readonly store: ConfigStore;
  readonly trust: MessageTrust;
  readonly keys: CompiledKeys | undefined;
  readonly signing: { readonly kid: string; readonly key: string | Uint8Array } | undefined;
  readonly tokenTtlSeconds: number;
  readonly header: string;
  readonly baggageKey: string | false;
  readonly allowHosts: readonly AllowEntry[] | undefined;
  readonly now: () => number;
}

const HEADER_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const TRUST_MODES: ReadonlySet<string> = new Set(['open', 'signed', 'ignore']);

/** @internal Applies defaults; throws `INVALID_OPTIONS` / `INVALID_CONFIG` at construction only. */
export function resolveLaneOptions(options: MessageLanesOptions): ResolvedLaneOptions {
  const trust = options.trust ?? 'open';
  if (!TRUST_MODES.has(trust)) fail(`trust must be open, signed or ignore, not ${String(trust)}`);
  const header = (options.header ?? DEFAULT_MESSAGE_HEADER).toLowerCase();
  if (!HEADER_NAME.test(header)) fail(`header ${JSON.stringify(header)} is not a header name`);
  const baggageKey = options.baggageKey ?? DEFAULT_BAGGAGE_KEY;
  if (baggageKey !== false && !HEADER_NAME.test(baggageKey)) {
    fail(`baggageKey ${JSON.stringify(baggageKey)} is not a baggage key`);
  }
  const ttl = options.tokenTtlSeconds ?? DEFAULT_MESSAGE_TOKEN_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0) fail('tokenTtlSeconds must be a positive integer');
  const keys = options.keys === undefined ? undefined : compileKeyRing(options.keys);
  if (trust === 'signed' && (keys === undefined || keys.keys.size === 0)) {
    fail("trust 'signed' needs keys");
  }
  return {
    store: toStore(options.config),
    trust,
    keys,
    signing: options.keys === undefined ? undefined : signingKey(options.keys, options.signingKid),
    tokenTtlSeconds: ttl,
    header,
    baggageKey,
    allowHosts: options.allowHosts,
    now: options.now ?? Date.now,
  };
}

function toStore(config: MessageLanesOptions['config']): ConfigStore {
  if (isConfigStore(config)) return config;
  return createConfigStore({ initial: config, regex: nodeRegexEngine() });
}

function signingKey(
  ring: KeyRing,
  kid: string | undefined,
): { kid: string; key: string | Uint8Array } | undefined {
  const entries: [string, string | Uint8Array][] =
    ring instanceof Map ? [...ring.entries()] : Object.entries(ring);
  const chosen = kid === undefined ? entries[0] : entries.find(([id]) => id === kid);
  if (kid !== undefined && chosen === undefined) fail(`signingKid ${kid} is not in keys`);
  return chosen === undefined ? undefined : { kid: chosen[0], key: chosen[1] };
}

function fail(message: string): never {
  throw new GraylaneError('INVALID_OPTIONS', `message lanes: ${message}`);
}
