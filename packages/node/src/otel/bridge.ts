import { isVersionLabel } from '@graylane/core';
import type { Decision } from '@graylane/core';
import type { Context, Span } from '@opentelemetry/api';
import type { OtelApiLike } from './load.js';

/** What the middleware needs from OpenTelemetry. */
export interface OtelBridge {
  /** Runs `fn` in an OTel context whose baggage carries `key=version` (other entries kept). */
  runWithMarker<T>(version: string, key: string, fn: () => T): T;
  /**
   * `ctx` with `key=version` in its baggage (other entries kept); `ctx` itself when it already
   * carries it or the version is not a label. For instrumentations that captured a context before
   * graylane decided and run the handler in it (`@fastify/otel`, OTB-03).
   */
  markContext(ctx: Context, version: string, key: string): Context;
  /** `ctx` with the baggage member `key` removed (other entries kept); `ctx` when it has none. */
  unmarkContext(ctx: Context, key: string): Context;
  /**
   * Runs `fn` in an OTel context whose baggage lacks `key` (other entries kept); `fn` as is when
   * the member is absent or no context manager is registered. For `markers.baggage: false`: the
   * W3C propagator forwards the inbound baggage, so a client's `gray=` would reach the next hop
   * through OTel although graylane ignored it (OTB-02).
   */
  runWithoutMember<T>(key: string, fn: () => T): T;
  /** Sets `graylane.version` / `graylane.reason` on the request's server span. */
  annotate(decision: Decision): void;
  /**
   * The middleware's one bridge call per request: annotates the server span with the decision
   * and runs `fn` in an OTel context whose baggage carries `key=version` — or, when `key` is
   * false, lacks the member `strip` (when given); `fn` as is, with no OTel work at all, when no
   * context manager is registered. The context `fn` runs in is kept on `keep.otelContext`, for
   * the request's `req`/`res` listeners to enter too, and `entered(keep)` is called then, before
   * `fn` (context/emitters.ts). Never throws from its own work; `fn`'s errors propagate unchanged.
   */
  runRequest<T, S extends OtelContextSlot = OtelContextSlot>(
    decision: Decision,
    key: string | false,
    fn: () => T,
    keep?: S,
    strip?: string,
    entered?: (keep: S) => void,
  ): T;
  /**
   * Calls `fn` with `self` and `args` inside `ctx` (a context {@link runRequest} kept); `fn` as is
   * when the context manager fails before calling it. `fn`'s errors propagate unchanged.
   */
  runIn(
    ctx: unknown,
    fn: (...args: unknown[]) => unknown,
    self: unknown,
    args: ArrayLike<unknown>,
  ): unknown;
  /** Sets `graylane.lane` / `graylane.lane.fallback` on the request's server span. */
  annotateLane(lane: string, fallback: boolean): void;
}

/** Where {@link OtelBridge.runRequest} keeps the OTel context a request's handler runs in. */
export interface OtelContextSlot {
  otelContext: unknown;
}

/*
 * Keys owned by @opentelemetry/core; `createContextKey` is `Symbol.for(description)`, so the same
 * description yields the same key without depending on core (core 2.x `trace/rpc-metadata.ts`).
 */
const RPC_METADATA = 'OpenTelemetry SDK Context Key RPC_METADATA';
/**
 * Where @opentelemetry/api 1.x keeps its registered globals (`api/src/internal/global-utils.ts`):
 * `context` is set only when a real context manager is registered. Shared by every api copy.
 */
const OTEL_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/**
 * Builds the bridge over a loaded api. Everything is resolved at call time through the api's
 * global registry, so a context manager registered after graylane started is used (OUT-07), and
 * the Noop manager simply runs `fn` (CTX-10): graylane's own AsyncLocalStorage still carries the
 * marker. Never throws from its own work.
 */
export function createOtelBridge(api: OtelApiLike): OtelBridge {
  const rpcKey = api.createContextKey(RPC_METADATA);
  const probeKey = api.createContextKey('graylane compatibility probe');
  let warned = false;
  /** The registered manager last probed, and whether graylane's api copy uses it. */
  let probed: unknown;
  let usable = false;

  /**
   * True when a real context manager is registered. Without one, building baggage and calling
   * `context.with` per request buys nothing. Read per request (one property lookup), so a manager
   * registered later is used at once (OUT-07). No registry at all means nothing was registered.
   */
  function hasManager(): boolean {
    const registry = (globalThis as { [OTEL_GLOBAL]?: { context?: unknown; version?: unknown } })[
      OTEL_GLOBAL
    ];
    const manager =
      registry === undefined || typeof registry !== 'object' ? undefined : registry.context;
    if (manager === undefined) {
      if (!warned) {
        warned = true;
        api.diag.warn(
          '[graylane] no active OpenTelemetry context manager: the marker is carried by graylane only, not in OTel baggage',
        );
      }
      return false;
    }
    if (manager !== probed) {
      probed = manager;
      usable = seesManager();
      if (!usable) warnCopy(registry?.version);
    }
    return usable;
  }

  /**
   * True when graylane's copy of the api actually uses the registered manager. A second copy of
   * `@opentelemetry/api` that is newer than the one that registered the globals sees none (OTel's
   * own compatibility check) and silently runs the Noop manager: then graylane skips the bridge
   * and says so once, on the process (the app's diag logger is invisible to that copy too).
   */
  function seesManager(): boolean {
    try {
      const probe = api.context.active().setValue(probeKey, true);
      return api.context.with(probe, () => api.context.active().getValue(probeKey) === true);
    } catch {
      return false;
    }
  }

  function withMarker(version: string, key: string, active: Context): Context | undefined {
    if (!isVersionLabel(version)) return undefined;
    const baggage = api.propagation.getBaggage(active);
    if (baggage?.getEntry(key)?.value === version) return undefined;
    const next = (baggage ?? api.propagation.createBaggage()).setEntry(key, { value: version });
    return api.propagation.setBaggage(active, next);
  }

  /** `active` without the baggage member `key`, or undefined when it has none. */
  function withoutMember(key: string, active: Context): Context | undefined {
    const baggage = api.propagation.getBaggage(active);
    return baggage?.getEntry(key) === undefined
      ? undefined
      : api.propagation.setBaggage(active, baggage.removeEntry(key));
  }

  /** The request's recording server span in `active`, or undefined. */
  function serverSpan(active: Context): Span | undefined {
    const meta = active.getValue(rpcKey) as { span?: Span } | undefined;
    const span = meta?.span ?? api.trace.getSpan(active);
    return span !== undefined && span.isRecording() ? span : undefined;
  }

  function setOnServerSpan(attributes: Record<string, string | boolean>): void {
    try {
      serverSpan(api.context.active())?.setAttributes(attributes);
    } catch {
      // Telemetry never breaks a request (RELIABILITY I1).
    }
  }

  /** The decision on the server span in `active` (attributes built only when one records). */
  function annotateIn(active: Context, decision: Decision): void {
    try {
      serverSpan(active)?.setAttributes({
        'graylane.version': decision.version,
        'graylane.reason': decision.reason,
      });
    } catch {
      // Telemetry never breaks a request (RELIABILITY I1).
    }
  }

  return {
    runWithMarker<T>(version: string, key: string, fn: () => T): T {
      let ctx: Context | undefined;
      try {
        ctx = hasManager() ? withMarker(version, key, api.context.active()) : undefined;
      } catch {
        ctx = undefined;
      }
      return ctx === undefined ? fn() : api.context.with(ctx, fn);
    },
    runWithoutMember<T>(key: string, fn: () => T): T {
      let ctx: Context | undefined;
      try {
        if (hasManager()) ctx = withoutMember(key, api.context.active());
      } catch {
        ctx = undefined;
      }
      return ctx === undefined ? fn() : api.context.with(ctx, fn);
    },
    markContext(ctx: Context, version: string, key: string): Context {
      try {
        return withMarker(version, key, ctx) ?? ctx;
      } catch {
        return ctx;
      }
    },
    unmarkContext(ctx: Context, key: string): Context {
      try {
        return withoutMember(key, ctx) ?? ctx;
      } catch {
        return ctx;
      }
    },
    annotate(decision: Decision): void {
      try {
        // Without a context manager no span can be active: nothing to look up.
        if (hasManager()) annotateIn(api.context.active(), decision);
      } catch {
        // Telemetry never breaks a request (RELIABILITY I1).
      }
    },
    runRequest<T, S extends OtelContextSlot = OtelContextSlot>(
      decision: Decision,
      key: string | false,
      fn: () => T,
      keep?: S,
      strip?: string,
      entered?: (keep: S) => void,
    ): T {
      let ctx: Context | undefined;
      try {
        if (hasManager()) {
          const active = api.context.active();
          annotateIn(active, decision);
          if (key !== false) ctx = withMarker(decision.version, key, active);
          else if (strip !== undefined) ctx = withoutMember(strip, active);
          if (keep !== undefined) {
            keep.otelContext = ctx ?? active;
            entered?.(keep);
          }
        }
      } catch {
        ctx = undefined;
      }
      if (ctx === undefined) return fn();
      let ran = false;
      try {
        return api.context.with(ctx, () => {
          ran = true;
          return fn();
        });
      } catch (err) {
        // A manager that failed before running the handler: run it without OTel; a handler
        // error is the app's own and is re-thrown unchanged.
        if (ran) throw err;
        return fn();
      }
    },
    runIn(
      ctx: unknown,
      fn: (...args: unknown[]) => unknown,
      self: unknown,
      args: ArrayLike<unknown>,
    ): unknown {
      let ran = false;
      try {
        return api.context.with(ctx as Context, () => {
          ran = true;
          return Reflect.apply(fn, self, args) as unknown;
        });
      } catch (err) {
        if (ran) throw err;
        return Reflect.apply(fn, self, args) as unknown;
      }
    },
    annotateLane(lane: string, fallback: boolean): void {
      setOnServerSpan({ 'graylane.lane': lane, 'graylane.lane.fallback': fallback });
    },
  };
}

let copyWarned = false;

/** Once per process: graylane's api copy cannot use the globals another copy registered. */
function warnCopy(registered: unknown): void {
  if (copyWarned) return;
  copyWarned = true;
  const version = typeof registered === 'string' ? registered.slice(0, 32) : 'another version';
  try {
    process.emitWarning(
      `@opentelemetry/api ${version} registered the OpenTelemetry globals, and the copy graylane loads cannot use them (it is newer): graylane puts nothing into OTel baggage. Install @opentelemetry/api once, at the top level (npm ls @opentelemetry/api).`,
      { code: 'GRAYLANE_OTEL_API_COPY' },
    );
  } catch {
    // A warning never breaks a request (I1).
  }
}
