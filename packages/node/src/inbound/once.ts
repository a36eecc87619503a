import type { CarrierEdits, InboundCarrier, TrustMode } from '@graylane/core';
import { storage, type GrayStore } from '../context/storage.js';
import {
  bindRequestEmitters,
  getRequestEntry,
  setRequestEntry,
  type RequestEntry,
} from '../context/emitters.js';
import type { InboundEngine, InboundOutcome } from './engine.js';
import {
  applyOutcome,
  asSink,
  type ResponseSink,
  type ServerResponseLike,
} from './node-response.js';

/** The request's entry (context/emitters.ts keeps it: a slot on the request, or a `WeakMap`). */
interface Decided extends RequestEntry {
  readonly outcome: InboundOutcome;
  readonly store: GrayStore;
  /** True once the cookies and debug header went to a response. */
  written: boolean;
  /** What the client sent before any layer normalised it, for a stricter layer to decide on. */
  readonly original: Original;
}

/** Header values (by lower-case name) and the URL as they were before the first edit. */
export interface Original {
  /** Created on the first edit (most requests are never edited). */
  headers: Map<string, string | readonly string[] | undefined> | undefined;
  url?: string | undefined;
  edited: boolean;
}

/** How much a decision can be relied on: an `edge` decision trusted no client marker at all. */
const RANK: Readonly<Record<TrustMode, number>> = { open: 0, signed: 1, edge: 2 };

/** What {@link decideOnce} needs besides the engine. */
export interface DecideOnceInput<R> {
  /** The object that identifies the request across layers (the Node `IncomingMessage`). */
  readonly key: object;
  /** The object handed to the app's callbacks (`req`, koa `ctx`, fastify `request`, hono `c`). */
  readonly req: R;
  readonly carrier: InboundCarrier;
  /**
   * Where cookies and the debug header go (a Node response is wrapped only when something is
   * written); omitted by layers that must not write.
   */
  readonly sink?: ResponseSink | ServerResponseLike | undefined;
  /**
   * Bind the events of `key` (the Node request) and of `res` when given to the request's
   * context (CTX-05); false for requests that are not Node emitters.
   */
  readonly bind: boolean;
  readonly res?: object | undefined;
}

/**
 * @internal Decides once per request: a second graylane layer on the same request (an app and a
 * router both mounting it) reuses the first decision — but only when it was made under at least
 * the trust this layer would apply (GW-03): a `signed` router never reuses an `open` app's
 * decision, an `edge` layer never reuses anything but an `edge` one for an untrusted peer. A
 * stricter layer decides again, on the request as the first layer normalised it. Keyed on the
 * request itself, never on the ambient context.
 */
export function decideOnce<R>(engine: InboundEngine<R>, input: DecideOnceInput<R>): InboundOutcome {
  // A layer that runs inside an earlier layer's context finds its record there (no lookup on the
  // request object, which costs on express's prototype-swapped requests); else on the request.
  const active = storage().getStore();
  const previous =
    active !== undefined && active.request === input.key && active.entry !== undefined
      ? (active.entry as Decided)
      : getRequestEntry<Decided>(input.key);
  const current = input.carrier;
  let entry: Decided;
  if (previous && RANK[previous.outcome.trust] >= RANK[engine.trustFor(current)]) {
    entry = previous;
  } else {
    // A stricter layer decides on what the client sent, not on what a weaker layer left.
    const original: Original = previous?.original ?? { headers: undefined, edited: false };
    const outcome = engine.evaluate(recording(asSent(current, original), original), input.req);
    entry = { outcome, store: outcome.store, written: false, original };
    entry.store.request = input.key;
    entry.store.entry = entry;
    // Listeners bound to the weaker decision's store follow this one (GW-03).
    if (previous) previous.store.successor = entry.store;
    setRequestEntry(input.key, entry, input.bind);
    if (input.bind) bindRequestEmitters(entry, input.key as never, input.res as never);
  }
  if (input.sink && !entry.written) {
    entry.written = true;
    // A weaker layer's cookies and debug header describe the decision this one replaced (GW-03).
    const replaced =
      previous !== undefined && previous !== entry && previous.written
        ? previous.outcome
        : undefined;
    const stale =
      replaced !== undefined &&
      (replaced.setCookies.length > 0 || replaced.debugHeader !== undefined);
    if (entry.outcome.setCookies.length > 0 || entry.outcome.debugHeader !== undefined || stale)
      applyOutcome(asSink(input.sink), entry.outcome, replaced);
  }
  return entry.outcome;
}

/** The carrier as the client sent it: edited values are read from `original`. */
function asSent(carrier: InboundCarrier, original: Original): InboundCarrier {
  if (!original.edited) return carrier;
  return new SentCarrier(carrier, original);
}

/** A carrier that records into `original` itself (Node's: no wrapper per request). */
interface SelfRecording extends InboundCarrier {
  recordInto(original: Original): void;
}

/** Records the first value of everything an edit changes, then edits. */
function recording(carrier: InboundCarrier, original: Original): InboundCarrier {
  if (!carrier.edit) return carrier;
  if (typeof (carrier as Partial<SelfRecording>).recordInto === 'function') {
    (carrier as SelfRecording).recordInto(original);
    return carrier;
  }
  return new RecordingCarrier(carrier, original);
}

/** @internal Records what `edits` will change, as it is before the first edit. */
export function recordOriginals(
  original: Original,
  edits: CarrierEdits,
  carrier: Pick<InboundCarrier, 'header' | 'url'>,
): void {
  const headers = (original.headers ??= new Map());
  for (const name of edits.headers.keys())
    if (!headers.has(name)) headers.set(name, carrier.header(name));
  if (edits.query && original.url === undefined) original.url = carrier.url;
  original.edited = true;
}

/** @internal Delegates everything to `inner` (classes, not spreads: no closures per request). */
export class DelegatingCarrier implements InboundCarrier {
  constructor(protected readonly inner: InboundCarrier) {}
  header(name: string): string | readonly string[] | undefined {
    return this.inner.header(name);
  }
  get headers(): InboundCarrier['headers'] {
    return this.inner.headers;
  }
  get method(): string | undefined {
    return this.inner.method;
  }
  get url(): string | undefined {
    return this.inner.url;
  }
  get host(): string | undefined {
    return this.inner.host;
  }
  get secure(): boolean {
    return this.inner.secure;
  }
  get remoteAddress(): string | undefined {
    return this.inner.remoteAddress;
  }
}

class SentCarrier extends DelegatingCarrier {
  constructor(
    inner: InboundCarrier,
    private readonly original: Original,
  ) {
    super(inner);
    if (inner.edit) this.edit = (edits) => inner.edit?.(edits);
  }
  readonly edit?: (edits: CarrierEdits) => void;
  override header(name: string): string | readonly string[] | undefined {
    const headers = this.original.headers;
    return headers?.has(name) ? headers.get(name) : this.inner.header(name);
  }
  override get url(): string | undefined {
    return this.original.url ?? this.inner.url;
  }
}

class RecordingCarrier extends DelegatingCarrier {
  constructor(
    inner: InboundCarrier,
    private readonly original: Original,
  ) {
    super(inner);
  }
  edit(edits: CarrierEdits): void {
    recordOriginals(this.original, edits, this.inner);
    this.inner.edit?.(edits);
  }
}
