import { readBaggageMember } from '@graylane/core';
import type { MarkerPolicy } from '@graylane/core';
import { propagation } from '@opentelemetry/api';
import type { Context, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import { getGrayBaggage, removeGrayBaggage, setGrayBaggage } from './baggage.js';
import { BAGGAGE_HEADER, DEFAULT_BAGGAGE_KEY, DEFAULT_GRAY_HEADER } from './constants.js';
import { isSuppressed } from './context-keys.js';
import { acceptVersion, toMarkerPolicy } from './policy.js';
import type { VersionPolicy } from './policy.js';
import { serializeWithMarker } from './serialize.js';

/** Options of {@link GrayPropagator}. One options object, defaults from DESIGN.md. */
export interface GrayPropagatorOptions {
  /** Marker header. Default `x-gray-id` (matched case-insensitively by HTTP carriers). */
  readonly header?: string;
  /** Baggage member key. Default `gray`. */
  readonly baggageKey?: string;
  /** Accepted versions: pass your `GrayConfig` or a list. Default: any well-formed label. */
  readonly versions?: VersionPolicy;
  /**
   * Whether `inject` also writes the `baggage` header (all context baggage, the marker first).
   * Default `true`. Set `false` when a `W3CBaggagePropagator` in the same composite should own it.
   */
  readonly injectBaggage?: boolean;
}

/**
 * A `TextMapPropagator` that carries the marker as the `X-Gray-Id` header and the `gray` baggage
 * member together.
 *
 * - `extract` reads the header first, then the raw `baggage` header with core's bounded scan
 *   (`readBaggageMember`: W3C limits, and a key present twice with different values is
 *   ambiguous, unlike OTel's last-wins, BG-02). A valid marker is written into the context's
 *   baggage; an ambiguous or invalid one is *removed* from it, undoing what a
 *   `W3CBaggagePropagator` earlier in the composite extracted. Put this propagator **after** the
 *   W3C baggage propagator: OTel's baggage extract replaces the whole context baggage.
 * - `inject` writes the header, and the `baggage` header with the marker first, from the
 *   context's baggage. Under `suppressTracing` only the header is written, the same way OTel's
 *   baggage propagator skips (OUT-06).
 *
 * Never throws.
 *
 * @example
 * ```ts
 * import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
 * const sdk = new NodeSDK({
 *   textMapPropagator: new CompositePropagator({
 *     propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), new GrayPropagator({ versions: ['stable', 'beta'] })],
 *   }),
 * });
 * ```
 */
export class GrayPropagator implements TextMapPropagator {
  readonly #header: string;
  readonly #key: string;
  readonly #policy: MarkerPolicy;
  readonly #injectBaggage: boolean;

  constructor(options: GrayPropagatorOptions = {}) {
    this.#header = (options.header ?? DEFAULT_GRAY_HEADER).toLowerCase();
    this.#key = options.baggageKey ?? DEFAULT_BAGGAGE_KEY;
    this.#policy = toMarkerPolicy(options.versions);
    this.#injectBaggage = options.injectBaggage ?? true;
  }

  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    try {
      const version = getGrayBaggage(ctx, { key: this.#key, versions: this.#policy });
      if (version === undefined) return;
      setter.set(carrier, this.#header, version);
      if (!this.#injectBaggage || isSuppressed(ctx)) return;
      const baggage = propagation.getBaggage(ctx);
      setter.set(carrier, BAGGAGE_HEADER, serializeWithMarker(baggage, this.#key, version));
    } catch {
      // Propagation never breaks the caller's request (RELIABILITY I1).
    }
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    try {
      const fromHeader = this.#readHeader(carrier, getter);
      if (fromHeader !== undefined) return this.#bind(ctx, fromHeader);
      const read = readBaggageMember(getter.get(carrier, BAGGAGE_HEADER), this.#key);
      if (read.kind === 'absent') return ctx;
      const version = read.kind === 'value' ? acceptVersion(read.value, this.#policy) : undefined;
      // Present but ambiguous or invalid: ignored, i.e. absent (I3).
      return version === undefined
        ? removeGrayBaggage(ctx, { key: this.#key })
        : this.#bind(ctx, version);
    } catch {
      return ctx;
    }
  }

  fields(): string[] {
    return this.#injectBaggage ? [this.#header, BAGGAGE_HEADER] : [this.#header];
  }

  #readHeader(carrier: unknown, getter: TextMapGetter): string | undefined {
    const raw = getter.get(carrier, this.#header);
    return raw === undefined ? undefined : parseRaw(raw, this.#policy);
  }

  #bind(ctx: Context, version: string): Context {
    return setGrayBaggage(ctx, version, { key: this.#key, versions: this.#policy });
  }
}

function parseRaw(raw: string | string[], policy: MarkerPolicy): string | undefined {
  if (Array.isArray(raw)) return raw.length === 1 ? acceptVersion(raw[0], policy) : undefined;
  return acceptVersion(raw, policy);
}
