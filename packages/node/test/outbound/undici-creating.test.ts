import { nodeUndici } from './node-undici.js';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grayInterceptor, installGlobal, runWithGray } from '../../src/index.js';
import { startTopology, type Hop, type Topology } from './servers.js';

/*
 * I7 / I8: `grayInterceptor()` on an undici Client or Pool, called with a path and no `origin`,
 * learns whose request undici is creating from undici's own read of the dispatched options. That
 * note was matched on the path alone and outlived the read: on Node 20 and 22's undici 6 after
 * every call (graylane finds the caller through the handler there and never took the note), on
 * undici 7 whenever an interceptor inside grayInterceptor copied the options
 * (`interceptors.redirect`, `interceptors.retry`), a `query` option made undici's path differ,
 * or undici refused the options (an invalid header value). The next request undici created in
 * the same job with that path — a raw `dispatch` or a global `fetch` on another client, in
 * another lane or none, to a host only the interceptor allowlists (installGlobal's list does
 * not) — took the call's judgment and went out with its marker. Now a spread copy of the options
 * neither reads nor carries the announcer, a note still waiting when the call's dispatch returns
 * is forgotten, the next request created takes or drops it, and it must have the call's path and
 * method on a host the dispatcher was seen to create requests on; anything else gets no marker
 * from it.
 *
 * Each combination, in one synchronous job: a first call (lane alpha), a second call (lane beta,
 * queued by a pool with `connections: 1`), then a thief with the same method and path through a
 * dispatcher graylane does not wrap. The thief never carries a marker; the calls carry their own.
 * Then calls to an allowlisted and a not allowlisted origin in one job. The rows whose calls name
 * `origin` (Agent with dns, fetch) announce nothing: controls. Run on Node 20, 22 and 24: Node's
 * own undici (6.x on 20 and 22, 7.x on 24) is a row as well.
 */

let topo: Topology;
let seq = 0;
const bundled = nodeUndici() as NonNullable<ReturnType<typeof nodeUndici>>;

beforeAll(async () => {
  expect(bundled, 'Node’s own undici').toBeDefined();
  expect(bundled.Pool, 'Node’s own undici Pool').not.toBe(undici.Pool);
  topo = await startTopology();
});
afterAll(() => topo.close());

const gray = (allowHosts: string[]) => grayInterceptor({ allowHosts });
const redirect = () => undici.interceptors.redirect({ maxRedirections: 2 });
const retry = () => undici.interceptors.retry({ maxRetries: 1, minTimeout: 1 });

interface Kind {
  readonly name: string;
  readonly make: (origin: string, allowHosts: string[]) => undici.Dispatcher;
  /** The calls name `origin` (an Agent, fetch): judged at dispatch, nothing is announced. */
  readonly named?: boolean;
  /** Calls are made with Node's global `fetch` and this dispatcher. */
  readonly fetch?: boolean;
  /** Calls name the host `localhost` (the dns interceptor resolves it to 127.0.0.1). */
  readonly localhost?: boolean;
  /**
   * Calls graylane cannot trace go out without a marker (fail closed). `queued`: the second call,
   * queued, reaches undici only through a copy of its options an interceptor inside
   * grayInterceptor made (`interceptors.redirect`; compose grayInterceptor inside it instead).
   * `all`: an interceptor inside dispatches later, outside grayInterceptor's dispatch, so undici
   * never creates a request there and the dispatcher's host is never learned.
   */
  readonly untraced?: 'queued' | 'all';
  /** The thief is dispatched one microtask later (after the deferred interceptor's copy). */
  readonly deferThief?: boolean;
}

/**
 * An interceptor that dispatches a copy of the options made field by field (not a spread, so it
 * reads every option by name), now or `deferred` to a microtask.
 */
const rebuild =
  (deferred = false) =>
  (dispatch: undici.Dispatcher['dispatch']): undici.Dispatcher['dispatch'] =>
  (opts, handler) => {
    if (deferred) {
      queueMicrotask(() => void rebuild()(dispatch)(opts, handler));
      return true;
    }
    const o = opts as undici.Dispatcher.DispatchOptions & Record<string, unknown>;
    const copy: Record<string, unknown> = {};
    for (const key of [
      'origin',
      'path',
      'method',
      'body',
      'headers',
      'query',
      'idempotent',
      'blocking',
      'upgrade',
      'reset',
      'expectContinue',
    ])
      if (o[key] !== undefined) copy[key] = o[key];
    return dispatch(copy as unknown as undici.Dispatcher.DispatchOptions, handler);
  };

const one = { connections: 1 };
const KINDS: Kind[] = [
  { name: 'Client', make: (o, h) => new undici.Client(o).compose(gray(h)) },
  { name: 'Pool', make: (o, h) => new undici.Pool(o).compose(gray(h)) },
  { name: 'Pool, connections: 1', make: (o, h) => new undici.Pool(o, one).compose(gray(h)) },
  {
    name: 'Pool, connections: 1, retry inside',
    make: (o, h) => new undici.Pool(o, one).compose(retry(), gray(h)),
  },
  {
    name: 'Pool, connections: 1, redirect inside',
    make: (o, h) => new undici.Pool(o, one).compose(redirect(), gray(h)),
    untraced: 'queued',
  },
  {
    name: 'Pool, connections: 1, a field-by-field copy inside',
    make: (o, h) => new undici.Pool(o, one).compose(rebuild(), gray(h)),
    untraced: 'queued',
  },
  {
    name: 'Pool, connections: 1, a deferred field-by-field copy inside',
    make: (o, h) => new undici.Pool(o, one).compose(rebuild(true), gray(h)),
    untraced: 'all',
    deferThief: true,
  },
  {
    name: 'Pool, connections: 1, retry and redirect outside',
    make: (o, h) => new undici.Pool(o, one).compose(gray(h), retry(), redirect()),
  },
  {
    name: 'Agent, connections: 1, dns inside',
    make: (_o, h) =>
      new undici.Agent(one).compose(undici.interceptors.dns({ dualStack: false }), gray(h)),
    named: true,
    localhost: true,
  },
  { name: 'Node’s Client', make: (o, h) => new bundled.Client(o).compose(gray(h)) },
  {
    name: 'Node’s Pool, connections: 1',
    make: (o, h) => new bundled.Pool(o, one).compose(gray(h)),
  },
  {
    name: 'global fetch, dispatcher: Node’s Pool, connections: 1',
    make: (o, h) => new bundled.Pool(o, one).compose(gray(h)),
    named: true,
    fetch: true,
  },
];

/** What makes the old note outlive its read (besides the kind's own interceptors). */
interface Variant {
  readonly name: string;
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  /** undici refuses the second call: it fails, no request is sent. */
  readonly refused?: boolean;
}
const VARIANTS: Variant[] = [
  { name: 'plain' },
  { name: 'query', query: { q: '1' } },
  { name: 'invalid header value', headers: { 'x-bad': 'a\r\nb' }, refused: true },
];

/** A dispatcher graylane does not wrap, and how it dispatches (handler API, lane). */
interface Thief {
  readonly name: string;
  readonly site: 'a' | 'b';
  readonly lane?: string;
  readonly make: (origin: string) => undici.Dispatcher;
  readonly handler: 'legacy' | 'controller' | 'fetch';
}
const THIEVES: Thief[] = [
  {
    name: 'raw Client(b).dispatch, legacy handler, lane stable',
    site: 'b',
    lane: 'stable',
    make: (o) => new undici.Client(o),
    handler: 'legacy',
  },
  {
    name: 'raw Client(b).dispatch, controller handler, no lane',
    site: 'b',
    make: (o) => new undici.Client(o),
    handler: 'controller',
  },
  {
    name: 'raw Pool(a).dispatch (the calls’ host), legacy handler, no lane',
    site: 'a',
    make: (o) => new undici.Pool(o),
    handler: 'legacy',
  },
  {
    name: 'Node’s Client(b).dispatch, legacy handler, lane stable',
    site: 'b',
    lane: 'stable',
    make: (o) => new bundled.Client(o),
    handler: 'legacy',
  },
  {
    name: 'global fetch(b) with Node’s Client, lane stable',
    site: 'b',
    lane: 'stable',
    make: (o) => new bundled.Client(o),
    handler: 'fetch',
  },
];

/** The thief's call: a bare handler object (no AsyncResource, nothing graylane can trace). */
function steal(thief: Thief, d: undici.Dispatcher, path: string): Promise<void> {
  const opts = { path, method: 'POST', body: 'thief' };
  const init: Record<string, unknown> = { method: 'POST', body: 'thief', dispatcher: d };
  const go = (): Promise<void> =>
    thief.handler === 'fetch'
      ? fetch(`${topo[thief.site].origin}${path}`, init as RequestInit)
          .then((r) => r.text())
          .then(() => undefined)
      : rawDispatch(d, opts, thief.handler);
  return thief.lane === undefined ? go() : runWithGray(thief.lane, go);
}

function rawDispatch(
  d: undici.Dispatcher,
  opts: object,
  api: 'legacy' | 'controller',
): Promise<void> {
  return new Promise((resolve, reject) => {
    const handler =
      api === 'legacy'
        ? {
            onConnect: () => undefined,
            onHeaders: () => true,
            onData: () => true,
            onComplete: () => resolve(),
            onError: (e: Error) => reject(e),
          }
        : {
            onRequestStart: () => undefined,
            onResponseStart: () => undefined,
            onResponseData: () => undefined,
            onResponseEnd: () => resolve(),
            onResponseError: (_c: unknown, e: Error) => reject(e),
          };
    d.dispatch(
      opts as undici.Dispatcher.DispatchOptions,
      handler as undici.Dispatcher.DispatchHandler,
    );
  });
}

/** One call through the composed dispatcher, in `lane`; resolves to 'sent' or 'refused'. */
function call(
  kind: Kind,
  d: undici.Dispatcher,
  origin: string,
  lane: string,
  path: string,
  body: string,
  variant: Variant = VARIANTS[0] as Variant,
): Promise<'sent' | 'refused'> {
  const headers = { baggage: 'a=1', ...variant.headers };
  return runWithGray(lane, async () => {
    try {
      if (kind.fetch) {
        const query = variant.query ? `?${new URLSearchParams(variant.query)}` : '';
        const init: Record<string, unknown> = { method: 'POST', body, headers, dispatcher: d };
        await (await fetch(`${origin}${path}${query}`, init as RequestInit)).text();
        return 'sent';
      }
      const res = await d.request({
        ...(kind.named ? { origin } : {}),
        path,
        method: 'POST',
        body,
        headers,
        ...(variant.query ? { query: variant.query } : {}),
      });
      await res.body.text();
      return 'sent';
    } catch {
      return 'refused';
    }
  });
}

function members(hop: Hop): string[] {
  return hop.baggage.flatMap((v) => v.split(',')).map((m) => m.trim());
}

/** The markers of the hop with `body` on `server`: [X-Gray-Id lines, gray members]. */
function markers(id: string, server: string, body: string): [string[], string[]] | undefined {
  const hop = topo.hops(id).find((h) => h.server === server && h.body === body);
  if (hop === undefined) return undefined;
  return [hop.grayIds, members(hop).filter((m) => m.startsWith('gray'))];
}

const carries = (v: string | undefined): [string[], string[]] =>
  v === undefined ? [[], []] : [[v], [`gray=${v}`]];

/** The origin the kind's calls name. */
const named = (kind: Kind, origin: string): string =>
  kind.localhost ? origin.replace('127.0.0.1', 'localhost') : origin;

/**
 * Each variant against each thief ('plain' against all): the thief's dispatch and the calls in
 * one job, on a fresh composed dispatcher. `global`: installGlobal({ allowHosts: [a] }) is on.
 */
const COMBOS: [Variant, Thief, boolean][] = VARIANTS.flatMap((v, i) => [
  ...(i === 0 ? THIEVES : [THIEVES[0] as Thief, THIEVES[2] as Thief]).map(
    (t) => [v, t, false] as [Variant, Thief, boolean],
  ),
  [v, THIEVES[0] as Thief, true] as [Variant, Thief, boolean],
]);

describe.each(KINDS)('$name', (kind) => {
  it('I7/I8 a call in the same job never takes another’s marker; two origins, one allowlisted', async () => {
    const a = named(kind, topo.a.origin);
    const thieves = THIEVES.map((t) => t.make(topo[t.site].origin));
    try {
      for (const [variant, thief, global] of COMBOS) {
        // The interceptor allowlists both servers (and the dns row's name); installGlobal, when
        // on, only a: the thief's hop is never graylane's to mark.
        const d = kind.make(a, [topo.a.origin, topo.b.origin, a]);
        const t = thieves[THIEVES.indexOf(thief)] as undici.Dispatcher;
        const uninstall = global ? installGlobal({ allowHosts: [topo.a.origin] }) : undefined;
        const id = `t${++seq}`;
        const path = `/echo/${id}`;
        const where = `${variant.name} / ${thief.name}${global ? ' / installGlobal' : ''}`;
        try {
          const sent = await Promise.all([
            call(kind, d, a, 'alpha', path, 'first'),
            call(kind, d, a, 'beta', path, 'second', variant),
            kind.deferThief
              ? Promise.resolve().then(() => steal(thief, t, path))
              : steal(thief, t, path),
          ]);
          expect
            .soft(sent, where)
            .toEqual(['sent', variant.refused ? 'refused' : 'sent', undefined]);
          expect
            .soft(markers(id, thief.site, 'thief'), `${where}: thief`)
            .toEqual(carries(undefined));
          expect
            .soft(markers(id, 'a', 'first'), `${where}: first`)
            .toEqual(carries(kind.untraced === 'all' ? undefined : 'alpha'));
          if (!variant.refused)
            expect
              .soft(markers(id, 'a', 'second'), `${where}: second`)
              .toEqual(carries(kind.untraced ? undefined : 'beta'));
        } finally {
          uninstall?.();
          await d.close();
        }
      }
    } finally {
      await Promise.all(thieves.map((t) => t.close()));
    }
    await twoOrigins(kind);
  });
});

/** Calls to a (allowlisted) and b (not) through two composed dispatchers, in one job. */
async function twoOrigins(kind: Kind): Promise<void> {
  const [a, b] = [named(kind, topo.a.origin), named(kind, topo.b.origin)];
  const allow = [topo.a.origin, a];
  const da = kind.make(a, allow);
  const db = kind.make(b, allow);
  const id = `c${++seq}`;
  const path = `/echo/${id}`;
  try {
    const sent = await Promise.all([
      call(kind, da, a, 'alpha', path, 'first'),
      call(kind, db, b, 'alpha', path, 'first'),
      call(kind, da, a, 'beta', path, 'second'),
      call(kind, db, b, 'beta', path, 'second'),
    ]);
    expect.soft(sent, 'two origins').toEqual(Array(4).fill('sent'));
    expect
      .soft(markers(id, 'a', 'first'), 'two origins: a first')
      .toEqual(carries(kind.untraced === 'all' ? undefined : 'alpha'));
    expect
      .soft(markers(id, 'a', 'second'), 'two origins: a second')
      .toEqual(carries(kind.untraced ? undefined : 'beta'));
    for (const body of ['first', 'second'])
      expect.soft(markers(id, 'b', body), `two origins: b ${body}`).toEqual(carries(undefined));
  } finally {
    await Promise.all([da.close(), db.close()]);
  }
}
