import { createRequire } from 'node:module';
import { createGrayProxy, type GrayProxyOptions } from '@graylane/next';
import { NextRequest } from 'next/server';

/**
 * Server code run as Next renders it: Next's own work and work-unit stores (what `headers()`
 * reads and checks), holding the headers the proxy passed on.
 */
const require = createRequire(import.meta.url);
const { createRequestStore } = require('next/dist/server/async-storage/request-store.js') as {
  createRequestStore(input: object): object;
};
const { workUnitAsyncStorage } =
  require('next/dist/server/app-render/work-unit-async-storage.external.js') as {
    workUnitAsyncStorage: { run<T>(store: object, fn: () => T): T };
  };
const { workAsyncStorage } =
  require('next/dist/server/app-render/work-async-storage.external.js') as {
    workAsyncStorage: { run<T>(store: object, fn: () => T): T };
  };
const { afterTaskAsyncStorage } =
  require('next/dist/server/app-render/after-task-async-storage.external.js') as {
    afterTaskAsyncStorage: { run<T>(store: object, fn: () => T): T };
  };

export const { headers: nextHeaders } = require('next/headers.js') as {
  headers(): Promise<Headers>;
};

/** The name/value pairs of `headers` (this package's lib has no Headers iterator). */
export function pairsOf(headers: Headers): [string, string][] {
  const out: [string, string][] = [];
  headers.forEach((value, name) => out.push([name, value]));
  return out;
}

/** Where in a request the code runs (what Next's `headers()` checks before it answers). */
export interface Phase {
  /** The work store's flags (`dynamic = 'error'` sets `dynamicShouldError`). */
  readonly work?: { readonly dynamicShouldError?: boolean; readonly forceStatic?: boolean };
  /** A work-unit store other than the request's own: a cache scope, a build-time generator. */
  readonly unit?: Record<string, unknown>;
  /** The request store's phase (`after`: the response went out, `after()` callbacks run). */
  readonly requestPhase?: 'render' | 'action' | 'after';
  /** An `after()` task: the phase that spawned it. */
  readonly afterTask?: 'render' | 'action';
}

/** Runs `fn` as server code of a request whose headers the proxy passed on (sealed or not). */
export function inRequest<T>(
  headers: Headers,
  fn: () => Promise<T>,
  phase: Phase = {},
): Promise<T> {
  const work = {
    route: '/t',
    forceStatic: false,
    dynamicShouldError: false,
    isStaticGeneration: false,
    ...phase.work,
  };
  const store = createRequestStore({
    phase: phase.requestPhase ?? 'render',
    headers: Object.fromEntries(pairsOf(headers)),
    url: { pathname: '/t' },
  });
  const inUnit = (): Promise<T> =>
    workUnitAsyncStorage.run(phase.unit ? { phase: 'render', ...phase.unit } : store, () =>
      phase.afterTask === undefined
        ? fn()
        : afterTaskAsyncStorage.run({ rootTaskSpawnPhase: phase.afterTask }, fn),
    );
  return workAsyncStorage.run(work, inUnit);
}

/** The request headers the app gets from the proxy for a client sending `x-gray-id: beta`. */
export async function passedOn(
  config: GrayProxyOptions['config'] = {
    versions: ['stable', 'beta', 'canary'],
    default: 'stable',
  },
): Promise<Headers> {
  const res = await createGrayProxy({ config })(
    new NextRequest('http://app.test/', { headers: { 'x-gray-id': 'beta', cookie: 'sid=1' } }),
  );
  const names = (res.headers.get('x-middleware-override-headers') ?? '').split(',');
  return new Headers(
    names.filter(Boolean).map((n) => [n, res.headers.get(`x-middleware-request-${n}`) ?? '']),
  );
}

/** Next's own routing headers on a proxy response: it consumes them, never copies them. */
const CONSUMED = /^x-middleware-(override-headers|request-.*|next|rewrite|redirect|refresh)$/;

/**
 * What `headers()` holds in server code behind the proxy for a new visitor split by
 * `ramp`: the request headers the proxy passed on, then every other header of the
 * proxy's response — `Set-Cookie`, the debug header, the `x-middleware-set-cookie` hand-over — as
 * Next's router copies them into the request (lib/router-utils/resolve-routes.js).
 */
export async function heldByNext(options: Omit<GrayProxyOptions, 'config'>): Promise<Headers> {
  const split = { version: 'beta', weight: 50 } as const;
  const res = await createGrayProxy({
    config: {
      versions: ['stable', 'beta', 'canary'],
      default: 'stable',
      rules: [
        {
          id: 'ramp',
          split: [split, { ...split, version: 'stable' }],
          bucketBy: 'cookie:gray_uid',
        },
      ],
    },
    ...options,
  })(new NextRequest('http://app.test/', { headers: { cookie: 'sid=1' } }));
  const names = (res.headers.get('x-middleware-override-headers') ?? '').split(',');
  const held = new Headers(
    names.filter(Boolean).map((n) => [n, res.headers.get(`x-middleware-request-${n}`) ?? '']),
  );
  res.headers.forEach((value, name) => {
    if (!CONSUMED.test(name)) held.append(name, value);
  });
  return held;
}
