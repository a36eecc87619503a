import { readBaggageMember, setBaggageMember } from '@graylane/core';
import type { MarkerPolicy } from '@graylane/core';
import { propagation } from '@opentelemetry/api';
import type { Context, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import { removeGrayBaggage, setGrayBaggage } from './baggage.js';
import { BAGGAGE_HEADER, DEFAULT_BAGGAGE_KEY, DEFAULT_GRAY_HEADER } from './constants.js';
import { acceptVersion, toMarkerPolicy } from './policy.js';
import type { VersionPolicy } from './policy.js';

/** Options of {@link GrayPropagator}. One options object, defaults from DESIGN.md. */
export interface GrayPropagatorOptions {
  /** Marker header read on extract. Default `x-gray-id` (matched case-insensitively by HTTP carriers). */
  readonly header?: string;
  /** Baggage member key. Default `gray`. */
  readonly baggageKey?: string;
  /**
   * Accepted versions: a list, a `GrayConfig` or your config document (the one you give
   * `createGraylane`). Default: any well-formed label. Anything else throws `INVALID_OPTIONS`.
   */
  readonly versions?: VersionPolicy;
  /**
   * Every propagator of your setup that carries baggage, which this one stands in for: the W3C
   * one (`new W3CBaggagePropagator()` from `@opentelemetry/core`), and any other that writes
   * baggage members into headers of its own — `JaegerPropagator` (`uberctx-<key>`),
   * `OTTracePropagator` (`ot-baggage-<key>`). Extract runs them first, in order, then
   * graylane's marker rules; inject gives them the context **without** the marker member, so no
   * OpenTelemetry client sends `gray` to any host in any of their formats. Leave it out only
   * when nothing in your composite propagates baggage at all.
   */
  readonly baggage?: TextMapPropagator | readonly TextMapPropagator[];
}

/**
 * A `TextMapPropagator` that reads the marker (the `X-Gray-Id` header, then the `gray` baggage
 * member) and keeps OpenTelemetry from ever sending it. OTel propagators have no target, so
 * they would copy the marker to every host an instrumented client calls, third parties
 * included; graylane's outbound integrations (`installGlobal`, `withGray`, `grayInterceptor`,
 * `attachGray`) know the target and add `X-Gray-Id` and `gray` to allowlisted hosts only
 * (RELIABILITY OTB-01). Use it **instead of** `W3CBaggagePropagator`, wrapping it.
 *
 * - `extract`: the wrapped propagators first; then `X-Gray-Id`, then the raw `baggage` header
 *   with core's bounded scan (`readBaggageMember`: W3C limits, a key present twice with
 *   different values is ambiguous, unlike OTel's last-wins, BG-02). The marker member of the
 *   context is graylane's reading, never theirs: a valid marker is set in the context's
 *   baggage; an ambiguous or invalid one is removed from it; where graylane finds none (past
 *   its caps, which count differently from OTel's, or only in a Jaeger `uberctx-gray` header),
 *   what they read is taken out again: the member stays as it was in the context given.
 * - `inject`: the wrapped propagators, with the marker member taken out of the context. A marker
 *   member already on the request (graylane's outbound code put it there for an allowlisted
 *   host) is kept when an HTTP instrumentation rewrites `baggage`. Never writes `X-Gray-Id`, so
 *   graylane's own outbound code is the only writer (OTB-04: one value).
 *
 * `inject` and `extract` never throw; a failure inside `extract` keeps the carrier's member out
 * of the context (fails closed). The constructor throws `INVALID_OPTIONS` for a `versions` that
 * is not a list, a `GrayConfig` or a config document.
 *
 * @example
 * ```ts
 * import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
 * const sdk = new NodeSDK({
 *   textMapPropagator: new CompositePropagator({
 *     propagators: [
 *       new W3CTraceContextPropagator(),
 *       new GrayPropagator({ versions: ['stable', 'beta'], baggage: new W3CBaggagePropagator() }),
 *     ],
 *   }),
 * });
 * // With Jaeger's propagator too, wrap it as well (its `uberctx-gray` header is baggage):
 * new GrayPropagator({ versions, baggage: [new W3CBaggagePropagator(), new JaegerPropagator()] });
 * ```
 */
export class GrayPropagator implements TextMapPropagator {
  readonly #header: string;
  readonly #key: string;
  readonly #policy: MarkerPolicy;
  readonly #inner: readonly TextMapPropagator[];

  constructor(options: GrayPropagatorOptions = {}) {
    options ??= {}; // `null` from plain JS
    this.#header = (options.header ?? DEFAULT_GRAY_HEADER).toLowerCase();
    this.#key = options.baggageKey ?? DEFAULT_BAGGAGE_KEY;
    this.#policy = toMarkerPolicy(options.versions, 'GrayPropagator');
    const inner = options.baggage;
    this.#inner = inner === undefined ? [] : isList(inner) ? [...inner] : [inner];
  }

  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    try {
      if (this.#inner.length === 0) return;
      // HTTP instrumentations inject into the request's own header object, replacing its
      // `baggage`: a marker graylane's outbound code already put there (for an allowlisted
      // target) is kept, never added.
      const kept = this.#carrierMarker(carrier);
      const set: TextMapSetter =
        kept === undefined
          ? setter
          : {
              set: (c, key, value) =>
                setter.set(
                  c,
                  key,
                  key.toLowerCase() === BAGGAGE_HEADER
                    ? setBaggageMember(value, this.#key, kept)
                    : value,
                ),
            };
      const without = removeGrayBaggage(ctx, { key: this.#key });
      for (const inner of this.#inner) inner.inject(without, carrier, set);
    } catch {
      // Propagation never breaks the caller's request (RELIABILITY I1).
    }
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    let base = ctx;
    try {
      for (const inner of this.#inner) base = inner.extract(base, carrier, getter);
      const fromHeader = this.#readHeader(carrier, getter);
      if (fromHeader !== undefined) return this.#bind(base, fromHeader);
      const read = readBaggageMember(getter.get(carrier, BAGGAGE_HEADER), this.#key);
      // Nothing graylane reads as the marker: what an inner propagator read as the member (past
      // graylane's caps, BG-02/06; a Jaeger `uberctx-gray`) does not enter the context (I3).
      if (read.kind === 'absent') return this.#restore(base, ctx);
      const version = read.kind === 'value' ? acceptVersion(read.value, this.#policy) : undefined;
      // Present but ambiguous or invalid: ignored, i.e. absent (I3).
      return version === undefined
        ? removeGrayBaggage(base, { key: this.#key })
        : this.#bind(base, version);
    } catch {
      // Fail closed: whatever the wrapped propagators read as the member stays out (I2, I3).
      try {
        return this.#restore(base, ctx);
      } catch {
        return ctx;
      }
    }
  }

  fields(): string[] {
    const fields = [this.#header];
    for (const inner of this.#inner)
      for (const f of inner.fields()) if (!fields.includes(f)) fields.push(f);
    return fields;
  }

  /**
   * `base` without a marker member the wrapped propagators read from the carrier: the member of
   * `before` (the context given to extract) where they changed it, none where it had none.
   */
  #restore(base: Context, before: Context): Context {
    const key = this.#key;
    const bag = propagation.getBaggage(base);
    const now = bag?.getEntry(key);
    if (bag === undefined || now === undefined) return base;
    const was = propagation.getBaggage(before)?.getEntry(key);
    if (now === was || (now.value === was?.value && now.metadata === was.metadata)) return base;
    if (was === undefined) return removeGrayBaggage(base, { key });
    return propagation.setBaggage(base, bag.setEntry(key, was));
  }

  /** A valid marker member in the carrier's existing `baggage` (a plain header object), if any. */
  #carrierMarker(carrier: unknown): string | undefined {
    if (typeof carrier !== 'object' || carrier === null || Array.isArray(carrier)) return undefined;
    for (const name of Object.keys(carrier)) {
      if (name.toLowerCase() !== BAGGAGE_HEADER) continue;
      const raw = (carrier as Record<string, unknown>)[name];
      const value = typeof raw === 'string' || Array.isArray(raw) ? raw : undefined;
      const read = readBaggageMember(value as string | string[] | undefined, this.#key);
      return read.kind === 'value' ? acceptVersion(read.value, this.#policy) : undefined;
    }
    return undefined;
  }

  #readHeader(carrier: unknown, getter: TextMapGetter): string | undefined {
    const raw = getter.get(carrier, this.#header);
    return raw === undefined ? undefined : parseRaw(raw, this.#policy);
  }

  #bind(ctx: Context, version: string): Context {
    return setGrayBaggage(ctx, version, { key: this.#key, versions: this.#policy });
  }
}

function isList(
  p: TextMapPropagator | readonly TextMapPropagator[],
): p is readonly TextMapPropagator[] {
  return Array.isArray(p);
}

function parseRaw(raw: string | string[], policy: MarkerPolicy): string | undefined {
  if (Array.isArray(raw)) return raw.length === 1 ? acceptVersion(raw[0], policy) : undefined;
  return acceptVersion(raw, policy);
}
