import { isVersionLabel, setBaggageMember } from '@graylane/core';
import { signMarker, tryGetGrayVersion } from '@graylane/node';
import { otelActive } from '../context/otel.js';
import { countCarry } from '../metrics/stats.js';
import { BAGGAGE_HEADER } from '../limits.js';
import type { ResolvedLaneOptions } from '../options.js';
import { baggageText } from './values.js';

/** What an outgoing message carries: the bound version and its wire value. */
export interface OutgoingMarker {
  /** The version bound where the message is produced. */
  readonly version: string;
  /** The header value: the version, or a signed token in `signed` mode. */
  readonly value: string;
  /** True when OpenTelemetry is active: the `gray` baggage member is written too. */
  readonly baggage: boolean;
}

/**
 * @internal Signs at most once per version per half token lifetime (HMAC off the hot path); a
 * token is reused only while more than half its lifetime is left.
 */
export class TokenCache {
  private readonly tokens = new Map<string, { token: string; renewAt: number }>();

  constructor(private readonly opts: ResolvedLaneOptions) {}

  get(version: string): string | undefined {
    const signing = this.opts.signing;
    if (signing === undefined) return undefined;
    const now = this.opts.now();
    const cached = this.tokens.get(version);
    if (cached && cached.renewAt > now) return cached.token;
    const ttl = this.opts.tokenTtlSeconds;
    const token = signMarker(version, {
      key: signing.key,
      kid: signing.kid,
      ttlSeconds: ttl,
      now: () => now,
    });
    // The token's `exp` is whole seconds (`floor(now / 1000) + ttl`): renewing half a lifetime
    // before it, not half a lifetime after `now`, leaves every token sent more than ttl / 2.
    const exp = Math.floor(now / 1000) + ttl;
    this.tokens.set(version, { token, renewAt: exp * 1000 - (ttl * 1000) / 2 });
    return token;
  }
}

/**
 * The marker for a message produced now: only when a lane is bound, the version is declared in
 * the config in force, and (in `signed` mode) a token can be made. Counts every skip. Never throws.
 */
export function outgoingMarker(
  opts: ResolvedLaneOptions,
  tokens: TokenCache,
): OutgoingMarker | undefined {
  const version = tryGetGrayVersion();
  if (version === undefined) {
    countCarry('skipped_no_lane');
    return undefined;
  }
  try {
    if (!isVersionLabel(version) || !opts.store.get().config.hasVersion(version)) {
      countCarry('skipped_invalid');
      return undefined;
    }
    const value = opts.trust === 'signed' ? tokens.get(version) : version;
    if (value === undefined) {
      countCarry('skipped_invalid');
      return undefined;
    }
    return { version, value, baggage: opts.baggageKey !== false && otelActive() };
  } catch {
    countCarry('skipped_invalid');
    return undefined;
  }
}

/**
 * A header table with the marker added: a new object (the caller's is never mutated), the
 * caller's own marker header kept as is (never a second copy, OUT-03), the `gray` baggage member
 * set exactly once in any existing `baggage` header (OUT-01). The caller's table when nothing
 * is added.
 */
export function injectTable<T extends Readonly<Record<string, unknown>>>(
  existing: T | undefined,
  marker: OutgoingMarker | undefined,
  opts: ResolvedLaneOptions,
): T | Record<string, unknown> | undefined {
  if (marker === undefined) return existing;
  const keys = existing == null ? [] : Object.keys(existing); // `null` from plain JS
  const mine = keys.filter((k) => k.toLowerCase() === opts.header);
  // A key holding undefined or null is no value (`headers: { 'x-gray-id': req.headers[…] }` for
  // a request that had none): the marker replaces it.
  if (mine.some((k) => hasValue(existing?.[k]))) {
    countCarry('skipped_caller');
    return existing;
  }
  const out: Record<string, unknown> = { ...existing };
  for (const k of mine) delete out[k];
  out[opts.header] = marker.value;
  if (marker.baggage && opts.baggageKey !== false) {
    // Every spelling of the header is merged into one, so the member is on the wire once.
    const names = keys.filter((k) => k.toLowerCase() === BAGGAGE_HEADER);
    const current = names.map((k) => existing?.[k]);
    for (const k of names) delete out[k];
    out[names[0] ?? BAGGAGE_HEADER] = setBaggageMember(
      baggageText(current.length === 1 ? current[0] : current),
      opts.baggageKey,
      marker.value,
    );
  }
  countCarry('injected');
  return out;
}

/** @internal A caller's header value that counts as set: anything but undefined and null. */
export function hasValue(value: unknown): boolean {
  return value !== undefined && value !== null;
}
