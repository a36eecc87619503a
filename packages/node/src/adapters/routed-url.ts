import type { CarrierEdits, InboundCarrier } from '@graylane/core';
import { DelegatingCarrier, recordOriginals, type Original } from '../inbound/once.js';

/**
 * @internal A Node carrier whose `url` is the target as the app's router reads it (koa under
 * koa-mount, fastify with router options that normalise the path): `route` maps the target the
 * carrier read (origin form, query as its widest reader finds it) to that. Read once; a throwing
 * `route` leaves the target as read (I1). Everything else, edits included, goes to the carrier:
 * an edit changes the request itself (its `url` relative to the mount, as koa and fastify keep it).
 */
export class RoutedCarrier extends DelegatingCarrier {
  private routed: string | undefined = undefined;
  private done = false;
  /** Where the first values of what an edit changes are recorded (decide-once, GW-03). */
  private original: Original | undefined = undefined;
  constructor(
    inner: InboundCarrier,
    private readonly route: (url: string) => string,
  ) {
    super(inner);
  }
  override get url(): string | undefined {
    if (this.done) return this.routed;
    const url = this.inner.url;
    try {
      this.routed = typeof url === 'string' ? this.route(url) : url;
    } catch {
      this.routed = url;
    }
    this.done = true;
    return this.routed;
  }
  recordInto(original: Original): void {
    this.original = original;
  }
  edit(edits: CarrierEdits): void {
    // Recorded as routed: a stricter layer that decides again reads the path this one matched.
    if (this.original !== undefined) recordOriginals(this.original, edits, this);
    this.inner.edit?.(edits);
  }
}

/** `url` split at its first `?` into the path and the query (with the `?`, or ''). */
export function splitTarget(url: string): readonly [string, string] {
  const q = url.indexOf('?');
  return q === -1 ? [url, ''] : [url.slice(0, q), url.slice(q)];
}
