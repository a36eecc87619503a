import { ROOT_CONTEXT, context, diag, propagation, trace } from '@opentelemetry/api';
import type { Attributes, Context, ContextManager, DiagLogger, Span } from '@opentelemetry/api';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createOtelBridge } from './bridge.js';
import { getOtelBridge } from './index.js';
import { loadOtelApi } from './load.js';

const grayOf = () => propagation.getBaggage(context.active())?.getEntry('gray')?.value;

/** A minimal ALS context manager, so @graylane/node tests need only the api (a devDependency). */
class AlsContextManager implements ContextManager {
  readonly #als = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#als.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#als.disable();
    return this;
  }
}

function registerAls(): void {
  context.setGlobalContextManager(new AlsContextManager());
}

function recordingSpan(): Span & { attrs: Attributes } {
  const attrs: Attributes = {};
  return {
    attrs,
    isRecording: () => true,
    setAttributes: (a: Attributes) => Object.assign(attrs, a),
  } as never;
}

afterEach(() => {
  context.disable();
  diag.disable();
});

describe('OTel bridge loading', () => {
  it('CTX-10 returns undefined when @opentelemetry/api is not installed or not usable', () => {
    expect(
      loadOtelApi(() => {
        throw Object.assign(new Error('missing'), { code: 'MODULE_NOT_FOUND' });
      }),
    ).toBeUndefined();
    expect(loadOtelApi(() => ({}))).toBeUndefined();
    expect(loadOtelApi(() => undefined)).toBeUndefined();
  });

  it('loads the installed api lazily and caches the bridge', () => {
    const bridge = getOtelBridge();
    expect(bridge).toBeDefined();
    expect(getOtelBridge()).toBe(bridge);
  });
});

describe('runWithMarker', () => {
  const bridge = createOtelBridge(loadOtelApi()!);

  it('sets the marker in the active baggage, keeps other entries, returns fn result', () => {
    registerAls();
    const outer = propagation.setBaggage(
      ROOT_CONTEXT,
      propagation.createBaggage({ tenant: { value: 'acme' } }),
    );
    const result = context.with(outer, () =>
      bridge.runWithMarker('beta', 'gray', () => {
        const bag = propagation.getBaggage(context.active());
        return [bag?.getEntry('gray')?.value, bag?.getEntry('tenant')?.value];
      }),
    );
    expect(result).toEqual(['beta', 'acme']);
  });

  it('replaces an upstream marker (the decision wins over inbound OTel baggage)', () => {
    registerAls();
    const outer = propagation.setBaggage(
      ROOT_CONTEXT,
      propagation.createBaggage({ gray: { value: 'stable' } }),
    );
    expect(context.with(outer, () => bridge.runWithMarker('beta', 'gray', grayOf))).toBe('beta');
  });

  it('I7 concurrent requests each see their own marker across awaits', async () => {
    registerAls();
    const run = (v: string) =>
      bridge.runWithMarker(v, 'gray', async () => {
        await new Promise((r) => setTimeout(r, Math.random() * 5));
        return grayOf();
      });
    const versions = Array.from({ length: 40 }, (_, i) => (i % 3 ? 'beta' : 'stable'));
    expect(await Promise.all(versions.map(run))).toEqual(versions);
  });

  it('OUT-05 an invalid version runs fn without touching baggage, and never throws', () => {
    registerAls();
    expect(bridge.runWithMarker('beta\r\n', 'gray', () => grayOf() ?? 'none')).toBe('none');
  });

  it('propagates errors thrown by fn unchanged and runs fn once', () => {
    registerAls();
    const fn = vi.fn(() => {
      throw new Error('app');
    });
    expect(() => bridge.runWithMarker('beta', 'gray', fn)).toThrow('app');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('CTX-10 with the Noop context manager fn still runs, and a warning goes to diag once', () => {
    const warn = vi.fn();
    diag.setLogger({
      warn,
      error: vi.fn(),
      info: vi.fn(),
      debug: vi.fn(),
      verbose: vi.fn(),
    } as DiagLogger);
    const noopBridge = createOtelBridge(loadOtelApi()!);
    expect(noopBridge.runWithMarker('beta', 'gray', () => 42)).toBe(42);
    noopBridge.runWithMarker('beta', 'gray', () => 0);
    expect(warn.mock.calls.filter(([m]) => String(m).includes('[graylane]'))).toHaveLength(1);
  });

  it('OUT-07 a context manager registered after the bridge was created is used', () => {
    const early = createOtelBridge(loadOtelApi()!);
    expect(early.runWithMarker('beta', 'gray', grayOf)).toBeUndefined(); // Noop: no OTel context yet
    registerAls();
    expect(early.runWithMarker('beta', 'gray', grayOf)).toBe('beta');
  });
});

/**
 * A second, genuinely separate copy of `@opentelemetry/api` that says it is `version` (an npm
 * alias or a nested node_modules with a newer minor): the CJS build loaded again with its
 * `version.js` replaced, so OTel's own compatibility check runs against the registry.
 */
function apiCopy(version: string): ReturnType<typeof loadOtelApi> {
  const req = createRequire(import.meta.url);
  const main = req.resolve('@opentelemetry/api');
  const root = main.slice(0, main.lastIndexOf('/build/'));
  const saved = new Map<string, NodeJS.Module | undefined>();
  const mine = () => Object.keys(req.cache).filter((k) => k.startsWith(root));
  for (const k of mine()) {
    saved.set(k, req.cache[k]);
    delete req.cache[k];
  }
  const file = join(root, 'build/src/version.js');
  req.cache[file] = {
    id: file,
    filename: file,
    loaded: true,
    exports: { VERSION: version },
  } as never;
  try {
    return loadOtelApi(() => req(main));
  } finally {
    for (const k of mine()) delete req.cache[k];
    for (const [k, m] of saved) req.cache[k] = m;
  }
}

describe('two copies of @opentelemetry/api', () => {
  it.each([
    ['a newer minor', '1.99.0', false],
    ['a newer patch', '1.9.7', true],
    ['the same version', '1.9.0', true],
    ['an older minor', '1.8.0', true],
  ])('CTX-10 graylane loads %s (%s) than the registered one', (_name, version, shared) => {
    registerAls();
    const warnings: string[] = [];
    const spy = vi
      .spyOn(process, 'emitWarning')
      .mockImplementation(
        ((w: string | Error, o?: { code?: string }) =>
          void warnings.push(`${o?.code ?? ''} ${String(w)}`)) as never,
      );
    try {
      const copy = apiCopy(version);
      expect(copy).toBeDefined();
      const bridge = createOtelBridge(copy!);
      // fn always runs; the marker reaches OTel baggage only through a copy that shares the
      // registry, and a copy that cannot says so once, on the process.
      expect(bridge.runWithMarker('beta', 'gray', grayOf)).toBe(shared ? 'beta' : undefined);
      expect(bridge.runWithMarker('beta', 'gray', () => 7)).toBe(7);
      const ours = warnings.filter((w) => w.startsWith('GRAYLANE_OTEL_API_COPY'));
      expect(ours.length).toBeLessThanOrEqual(1);
      if (!shared) expect(warnings.join('\n')).toMatch(/1\.9\.0 registered/);
      else expect(ours).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('annotate', () => {
  it('sets graylane.version and graylane.reason on the active span', () => {
    registerAls();
    const bridge = createOtelBridge(loadOtelApi()!);
    const span = recordingSpan();
    context.with(trace.setSpan(ROOT_CONTEXT, span), () =>
      bridge.annotate({ version: 'beta', reason: 'rule', source: 'rules', ruleId: 'r1' }),
    );
    expect(span.attrs).toEqual({ 'graylane.version': 'beta', 'graylane.reason': 'rule' });
  });

  it('CTX-06 prefers the HTTP server span kept in RPC metadata over a framework span', () => {
    registerAls();
    const bridge = createOtelBridge(loadOtelApi()!);
    const server = recordingSpan();
    const framework = recordingSpan();
    const rpcKey = Symbol.for('OpenTelemetry SDK Context Key RPC_METADATA');
    const ctx = trace.setSpan(
      ROOT_CONTEXT.setValue(rpcKey, { type: 'http', span: server }),
      framework,
    );
    context.with(ctx, () =>
      bridge.annotate({ version: 'beta', reason: 'header', source: 'header' }),
    );
    expect(server.attrs).toEqual({ 'graylane.version': 'beta', 'graylane.reason': 'header' });
    expect(framework.attrs).toEqual({});
  });

  it('does nothing without a span and never throws', () => {
    const bridge = createOtelBridge(loadOtelApi()!);
    expect(() =>
      bridge.annotate({ version: 'beta', reason: 'header', source: 'header' }),
    ).not.toThrow();
    const broken = trace.setSpan(ROOT_CONTEXT, {
      isRecording: () => {
        throw new Error('x');
      },
    } as never);
    registerAls();
    expect(() =>
      context.with(broken, () =>
        bridge.annotate({ version: 'beta', reason: 'header', source: 'header' }),
      ),
    ).not.toThrow();
  });
});
