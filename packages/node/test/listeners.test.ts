// CTX-05: listeners on a request's `req`/`res` run in the request's context. They are bound
// when added (issue 20: `emit` stays Node's), so these rows attack that mechanism: every way of
// adding a listener, removal by the app's function, `once` semantics, listeners added before
// graylane decided, listeners added from another request's context, concurrent requests, a
// stricter second layer (GW-03), and events emitted from outside any context.
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import http from 'node:http';
import net from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createGraylane, runWithGray, tryGetGrayVersion } from '../src/index.js';
import { closeAll, CONFIG, listen, type Running } from './helpers.js';

afterEach(closeAll);

/** Created at import: its scope is the root context, which belongs to no request. */
const ROOT = new AsyncResource('graylane-test-root');
const fromRoot = (fn: () => void): void => ROOT.runInAsyncScope(fn);

type Add = 'on' | 'addListener' | 'prependListener' | 'once' | 'prependOnceListener';
const ADDS: Add[] = ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener'];
const ONCE = new Set<Add>(['once', 'prependOnceListener']);
type Emitter = http.IncomingMessage | http.ServerResponse;
type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A server that runs `handler` under graylane, on plain node:http or inside express. */
async function serve(framework: 'node:http' | 'express', handler: Handler): Promise<Running> {
  const gray = createGraylane({ config: CONFIG });
  if (framework === 'node:http')
    return listen(http.createServer((req, res) => gray.handle(req, res, () => handler(req, res))));
  const app = express();
  app.use(gray.middleware);
  app.all('/', (req, res) => handler(req, res));
  return listen(http.createServer(app));
}

/**
 * A server where `before` runs ahead of graylane (code before `gray.handle`, or an earlier
 * express middleware) and `after` inside its decision, with what `before` returned.
 */
async function serveAround<S>(
  framework: 'node:http' | 'express',
  before: (req: http.IncomingMessage, res: http.ServerResponse) => S,
  after: (req: http.IncomingMessage, res: http.ServerResponse, state: S) => void,
): Promise<Running> {
  const gray = createGraylane({ config: CONFIG });
  if (framework === 'node:http')
    return listen(
      http.createServer((req, res) => {
        const state = before(req, res);
        gray.handle(req, res, () => after(req, res, state));
      }),
    );
  const app = express();
  const states = new WeakMap<object, { state: S }>();
  app.use((req, res, next) => {
    states.set(req, { state: before(req, res) });
    next();
  });
  app.use(gray.middleware);
  app.get('/', (req, res) => after(req, res, (states.get(req) as { state: S }).state));
  return listen(http.createServer(app));
}

async function ask(s: Running, marker: string, body?: string): Promise<unknown> {
  const headers = { 'x-gray-id': marker };
  const r = await fetch(
    s.url,
    body === undefined ? { headers } : { method: 'POST', body, headers },
  );
  return r.json();
}

const FRAMEWORKS = ['node:http', 'express'] as const;

describe('CTX-05 listeners bound when added', () => {
  describe.each(FRAMEWORKS)('%s', (framework) => {
    it.each(ADDS)(
      'req.%s("data" / "end") sees the marker for a streamed POST body, concurrently',
      async (add) => {
        const s = await serve(framework, (req, res) => {
          const seen = new Set<string | undefined>();
          const target = req as unknown as Record<Add, (t: string, l: () => void) => void>;
          target[add]('data', () => seen.add(tryGetGrayVersion()));
          target[add]('end', () => res.end(JSON.stringify([...seen, tryGetGrayVersion()])));
          // Only `on('data')` starts the flow (and a `once('data')` listener leaves after one
          // chunk): keep the body flowing for every variant.
          req.resume();
        });
        const body = 'x'.repeat(300_000);
        const out = await Promise.all(['beta', 'canary', 'stable'].map((m) => ask(s, m, body)));
        expect(out).toEqual([
          ['beta', 'beta'],
          ['canary', 'canary'],
          ['stable', 'stable'],
        ]);
      },
    );

    it.each(ADDS.flatMap((add) => (['req', 'res'] as const).map((t) => [add, t] as const)))(
      '%s on %s: emitted from the root context it sees the marker; removable by the app function',
      async (add, which) => {
        const s = await serve(framework, (req, res) => {
          const target: Emitter = which === 'req' ? req : res;
          const log: (string | undefined)[] = [];
          const seen = function seen(this: unknown) {
            log.push(this === target ? tryGetGrayVersion() : 'wrong this');
          };
          const removed = () => log.push('removed listener ran');
          const t = target as unknown as Record<Add, (e: string, l: () => void) => void>;
          t[add]('probe', seen);
          t[add]('probe', removed);
          const shape = {
            listeners: target.listeners('probe'),
            count: target.listenerCount('probe'),
          };
          target.removeListener('probe', removed);
          const after = target.listeners('probe');
          setImmediate(() =>
            fromRoot(() => {
              target.emit('probe');
              target.emit('probe');
              res.setHeader('content-type', 'application/json');
              res.end(
                JSON.stringify({
                  log,
                  listedApp: shape.listeners[0] === seen || shape.listeners[1] === seen,
                  count: shape.count,
                  afterRemoval: after.length,
                  afterRemovalIsApp: after[0] === seen,
                }),
              );
            }),
          );
        });
        const out = await Promise.all(['beta', 'canary'].map((m) => ask(s, m)));
        const times = ONCE.has(add) ? 1 : 2;
        expect(out).toEqual(
          ['beta', 'canary'].map((m) => ({
            log: Array(times).fill(m),
            listedApp: true,
            count: 2,
            afterRemoval: 1,
            afterRemovalIsApp: true,
          })),
        );
      },
    );

    it.each(ADDS)(
      'a listener added with %s and removed by the app function before its event never runs',
      async (add) => {
        const s = await serve(framework, (req, res) => {
          let ran = 0;
          const fn = () => ran++;
          const r = res as unknown as Record<Add, (e: string, l: () => void) => void>;
          const q = req as unknown as Record<Add, (e: string, l: () => void) => void>;
          r[add]('probe', fn);
          res.removeListener('probe', fn);
          q[add]('probe', fn);
          req.off('probe', fn);
          setImmediate(() =>
            fromRoot(() => {
              req.emit('probe');
              res.emit('probe');
              res.end(
                JSON.stringify({
                  ran,
                  counts: [req.listenerCount('probe'), res.listenerCount('probe')],
                }),
              );
            }),
          );
        });
        expect(await ask(s, 'beta')).toEqual({ ran: 0, counts: [0, 0] });
      },
    );

    it("a listener added from another request's context to this request: never the other lane", async () => {
      let parked: http.IncomingMessage | undefined;
      let release: (() => void) | undefined;
      const s = await serve(framework, (req, res) => {
        if (req.headers['x-gray-id'] === 'beta') {
          // The first request parks its req and waits.
          parked = req;
          release = () =>
            fromRoot(() => {
              req.emit('probe');
            });
          req.on('probe-done', (seen: unknown) => res.end(JSON.stringify(seen)));
          return;
        }
        // The second (canary) adds a listener to the parked beta request from its own context.
        const other = parked as http.IncomingMessage;
        other.on('probe', () => other.emit('probe-done', tryGetGrayVersion() ?? 'none'));
        release?.();
        res.end(JSON.stringify(tryGetGrayVersion()));
      });
      const first = ask(s, 'beta');
      while (parked === undefined) await new Promise((r) => setTimeout(r, 5));
      const second = await ask(s, 'canary');
      expect(second).toBe('canary');
      // The beta request's listener ran with beta's context or none, never canary's.
      expect(['beta', 'none']).toContain(await first);
    });
  });

  it.each(FRAMEWORKS)(
    '%s: listeners added by middleware before graylane decided see the marker',
    async (framework) => {
      const early = (req: http.IncomingMessage, res: http.ServerResponse) => {
        const log: unknown[] = [];
        res.on('probe', () => log.push(['res', tryGetGrayVersion() ?? 'none']));
        req.on('probe', () => log.push(['req1', tryGetGrayVersion() ?? 'none']));
        req.on('probe', () => log.push(['req2', tryGetGrayVersion() ?? 'none']));
        return log;
      };
      const finish = (req: http.IncomingMessage, res: http.ServerResponse, log: unknown[]) =>
        setImmediate(() =>
          fromRoot(() => {
            req.emit('probe');
            res.emit('probe');
            res.end(JSON.stringify(log));
          }),
        );
      const s = await serveAround(framework, early, finish);
      const out = await Promise.all(['beta', 'canary'].map((m) => ask(s, m)));
      expect(out).toEqual(
        ['beta', 'canary'].map((m) => [
          ['req1', m],
          ['req2', m],
          ['res', m],
        ]),
      );
    },
  );

  // Listeners already there when graylane decides are found without enumerating `_events` when
  // the events Node and frameworks usually listen to account for all of them (issue 20), and by
  // enumerating it otherwise: rows of either kind, mixed, arrays, symbols and `once` wrappers.
  const SYM = Symbol('graylane-test-event');
  type Early = readonly [
    target: 'req' | 'res',
    event: string | symbol,
    add: Add,
    name?: string | undefined,
    bound?: 'bound',
  ];
  const EARLY_ROWS: readonly (readonly [string, readonly Early[]])[] = [
    [
      'common events only',
      [
        ['res', 'finish', 'on'],
        ['res', 'close', 'on'],
        ['req', 'end', 'on'],
      ],
    ],
    [
      'on-finished shape',
      [
        ['res', 'end', 'on'],
        ['res', 'finish', 'on'],
      ],
    ],
    [
      'every common event',
      [
        ['req', 'error', 'on'],
        ['req', 'aborted', 'on'],
        ['res', 'prefinish', 'on'],
        ['res', 'error', 'prependListener'],
        ['req', 'close', 'addListener'],
      ],
    ],
    [
      'uncommon events only',
      [
        ['req', 'probe', 'on'],
        ['res', 'timeout', 'on'],
        ['res', 'x:custom', 'addListener'],
      ],
    ],
    [
      'common and uncommon mixed',
      [
        ['res', 'finish', 'on'],
        ['res', 'probe', 'on'],
        ['req', 'end', 'on'],
        ['req', 'pipe', 'on'],
      ],
    ],
    [
      'several on one event',
      [
        ['res', 'close', 'on'],
        ['res', 'close', 'on'],
        ['res', 'close', 'prependListener'],
        ['req', 'probe', 'on'],
        ['req', 'probe', 'on'],
      ],
    ],
    [
      'a symbol event',
      [
        ['req', SYM, 'on'],
        ['res', SYM, 'on'],
      ],
    ],
    [
      'a symbol event beside common ones',
      [
        ['res', 'finish', 'on'],
        ['res', SYM, 'on'],
      ],
    ],
    [
      'once, common and uncommon',
      [
        ['res', 'close', 'once'],
        ['req', 'probe', 'once'],
        ['res', 'finish', 'prependOnceListener'],
      ],
    ],
    [
      'once beside on',
      [
        ['res', 'close', 'on'],
        ['res', 'close', 'once'],
        ['req', 'end', 'once'],
        ['req', 'end', 'on'],
      ],
    ],
    // Node's own listeners are told by name only under `finish` / `end`: elsewhere the names are the app's.
    [
      "app functions named like Node's",
      [
        ['res', 'probe', 'on', 'resOnFinish'],
        ['req', 'data', 'on', 'clearIncoming'],
        ['res', 'close', 'on', 'bound resOnFinish'],
      ],
    ],
    // Node's `resOnFinish` is bound and only on responses, `clearIncoming` only on requests.
    [
      "app functions named like Node's, under finish and end",
      [
        ['res', 'finish', 'on', 'resOnFinish'],
        ['res', 'end', 'on', 'clearIncoming'],
        ['req', 'finish', 'on', 'bound resOnFinish'],
      ],
    ],
    [
      'bound app functions under finish and end',
      [
        ['res', 'finish', 'on', undefined, 'bound'],
        ['req', 'end', 'on', undefined, 'bound'],
        ['res', 'end', 'prependListener', undefined, 'bound'],
      ],
    ],
  ];

  describe.each(FRAMEWORKS)('%s: listeners already there when graylane decides', (framework) => {
    it.each(EARLY_ROWS)(
      '%s: each sees the marker and leaves by its app function',
      async (_name, rows) => {
        type Log = unknown[];
        /** Adds the row's listeners (and one to be removed per row) before graylane decides. */
        const early = (req: http.IncomingMessage, res: http.ServerResponse) => {
          const log: Log = [];
          const added = rows.map(([which, event, add, name, bound], i) => {
            const target: Emitter = which === 'req' ? req : res;
            const t = target as unknown as Record<Add, (e: string | symbol, l: () => void) => void>;
            const app = function early(this: unknown) {
              log.push([i, this === target ? (tryGetGrayVersion() ?? 'none') : 'wrong this']);
            };
            const fn = bound ? app.bind(target) : app;
            if (name !== undefined) Object.defineProperty(fn, 'name', { value: name });
            const gone = () => log.push([i, 'removed listener ran']);
            t[add](event, fn);
            t[add](event, gone);
            return { target, event, fn, gone, add };
          });
          return { log, added };
        };
        const finish = (
          _req: http.IncomingMessage,
          res: http.ServerResponse,
          { log, added }: ReturnType<typeof early>,
        ) => {
          const listed = added.map(({ target, event, fn }) => target.listeners(event).includes(fn));
          for (const { target, event, gone } of added) target.removeListener(event, gone);
          setImmediate(() =>
            fromRoot(() => {
              // The row's listeners called as `emit` calls them, without Node's own (emitting a
              // real `finish` would finish the response).
              const called = new Set<unknown>();
              for (const { target, event } of added) {
                for (const f of target.rawListeners(event)) {
                  const app = (f as { listener?: unknown }).listener ?? f;
                  if (called.has(f) || !added.some((a) => a.fn === app)) continue;
                  called.add(f);
                  f.call(target);
                }
              }
              const left = added.map(({ target, event, add, fn }) =>
                ONCE.has(add)
                  ? !target.listeners(event).includes(fn)
                  : target.listeners(event).includes(fn),
              );
              // Node's own `finish` listener is still Node's, unwrapped.
              const nodeOwn = res
                .rawListeners('finish')
                .filter((f) => f.name === 'bound resOnFinish');
              res.end(JSON.stringify({ log, listed, left, nodeOwn: nodeOwn.length }));
            }),
          );
        };
        const s = await serveAround(framework, early, finish);
        const out = await Promise.all(['beta', 'canary'].map((m) => ask(s, m)));
        expect(out).toEqual(
          ['beta', 'canary'].map((m) => ({
            log: expect.arrayContaining(rows.map((_r, i) => [i, m])),
            listed: rows.map(() => true),
            left: rows.map(() => true),
            nodeOwn: 1,
          })),
        );
        for (const o of out as { log: unknown[] }[]) expect(o.log).toHaveLength(rows.length);
      },
    );
  });

  it.each(FRAMEWORKS)(
    '%s: a lone listener on a request event Node never listens to (finish), there before graylane decided',
    async (framework) => {
      const seen = new WeakMap<object, unknown[]>();
      const early = (req: http.IncomingMessage) => {
        const log: unknown[] = [];
        seen.set(req, log);
        req.on('finish', () => log.push(tryGetGrayVersion() ?? 'none'));
      };
      const finish = (req: http.IncomingMessage, res: http.ServerResponse) =>
        setImmediate(() =>
          fromRoot(() => {
            req.emit('finish');
            res.end(JSON.stringify(seen.get(req)));
          }),
        );
      const s = await serveAround(framework, early, finish);
      expect(await ask(s, 'beta')).toEqual(['beta']);
    },
  );

  it.each(FRAMEWORKS)(
    "%s: another library's wrapper carrying .listener, there before graylane decided, keeps firing on every event",
    async (framework) => {
      const fired = new WeakMap<object, number>();
      // Shaped like Node 24's once wrapper (a closure named `wrapper` with `.listener`), but
      // persistent: it must not become a once.
      const early = (req: http.IncomingMessage) => {
        fired.set(req, 0);
        const wrapper = Object.assign(
          function wrapper() {
            fired.set(req, (fired.get(req) ?? 0) + 1);
          },
          { listener: () => undefined },
        );
        req.prependListener('probe', wrapper);
      };
      const finish = (req: http.IncomingMessage, res: http.ServerResponse) =>
        setImmediate(() =>
          fromRoot(() => {
            for (let i = 0; i < 3; i++) req.emit('probe');
            res.end(JSON.stringify({ fired: fired.get(req), count: req.listenerCount('probe') }));
          }),
        );
      const s = await serveAround(framework, early, finish);
      expect(await ask(s, 'beta')).toEqual({ fired: 3, count: 1 });
    },
  );

  it('GW-03 a stricter second layer replaces the store listeners bound to the first', async () => {
    const outer = createGraylane({ config: CONFIG });
    // Edge trust and an untrusted peer (no trustedProxies): the client marker is ignored.
    const inner = createGraylane({ config: CONFIG, trust: 'edge' });
    const s = await listen(
      http.createServer((req, res) =>
        outer.handle(req, res, () => {
          const log: unknown[] = [];
          req.on('probe', () => log.push(tryGetGrayVersion()));
          log.push(tryGetGrayVersion());
          inner.handle(req, res, () => {
            log.push(tryGetGrayVersion());
            setImmediate(() =>
              fromRoot(() => {
                req.emit('probe');
                res.end(JSON.stringify(log));
              }),
            );
          });
        }),
      ),
    );
    // Outer (open) says beta; inner (edge) decides the default; the early listener follows it.
    expect(await ask(s, 'beta')).toEqual(['beta', 'stable', 'stable']);
  });

  it('events graylane did not bind (no request context) stay unbound, and client responses are untouched', async () => {
    const up = await listen(http.createServer((_req, res) => res.end('up')));
    const s = await serve('node:http', (_req, res) => {
      const seen: unknown[] = [];
      // An emitter created before the request: not the request's, never bound.
      const outside = new http.IncomingMessage(null as never);
      outside.on('probe', () => seen.push(tryGetGrayVersion() ?? 'none'));
      fromRoot(() => outside.emit('probe'));
      // A client response read inside the request context keeps Node's own async context.
      http.get(up.url, (r) => {
        r.resume();
        r.on('end', () => {
          seen.push(tryGetGrayVersion() ?? 'none');
          res.end(JSON.stringify(seen));
        });
      });
    });
    expect(await ask(s, 'canary')).toEqual(['none', 'canary']);
  });
});

// A bound listener enters the request's context with `AsyncLocalStorage.run`: graylane switches
// its own store and nothing else. Whatever the listener does, the emitter keeps its context, the
// lane reaches what the listener starts, and the other stores are those of the context the event
// is emitted from, on every Node. (A per-request AsyncResource entered instead, cheaper on
// Node 24, restored every store as captured at one listener's add site: rejected, issue 20.)
describe('CTX-05 the context a bound listener enters', () => {
  type When = 'before graylane decides' | 'inside the request';
  const WHEN: When[] = ['before graylane decides', 'inside the request'];
  /** What the listener does: it fills `seen`; a promise it returns is awaited before the reply. */
  type Body = (seen: unknown[], req: http.IncomingMessage) => Promise<void> | void;
  const ROWS: readonly (readonly [string, Body])[] = [
    ['returns', (seen) => void seen.push(tryGetGrayVersion() ?? 'none')],
    [
      'throws',
      (seen) => {
        seen.push(tryGetGrayVersion() ?? 'none');
        throw new Error('listener failed');
      },
    ],
    [
      'starts a timer and a promise',
      (seen) =>
        Promise.all([
          new Promise<void>((done) =>
            setTimeout(() => {
              seen.push(tryGetGrayVersion() ?? 'none');
              done();
            }, 1),
          ),
          Promise.resolve().then(() => void seen.push(tryGetGrayVersion() ?? 'none')),
        ]).then(() => undefined),
    ],
    [
      'emits another bound event',
      (seen, req) => {
        seen.push(tryGetGrayVersion() ?? 'none');
        req.emit('nested', seen);
      },
    ],
  ];
  // The emitter's own context around the emit: the root, or another lane's scope.
  const AROUND = ['from the root', "from another lane's scope"] as const;

  describe.each(FRAMEWORKS)('%s', (framework) => {
    describe.each(WHEN)('added %s', (when) => {
      it.each(AROUND)(
        'emitted %s: every row sees its lane and leaves the emitter its context',
        async (around) => {
          const s = await serveAround(
            framework,
            (req) => {
              const state = { seen: new Map<string, unknown[]>(), work: [] as unknown[] };
              if (when === 'before graylane decides') addRows(req, state);
              return state;
            },
            (req, res, state) => {
              if (when === 'inside the request') addRows(req, state);
              setImmediate(() => {
                const emitted: unknown[] = [];
                const emit = () => {
                  for (const [name] of ROWS) {
                    try {
                      req.emit(`probe:${name}`);
                    } catch (err) {
                      emitted.push((err as Error).message);
                    }
                    emitted.push(tryGetGrayVersion() ?? 'none');
                  }
                };
                if (around === 'from the root') fromRoot(emit);
                else fromRoot(() => runWithGray('other', emit));
                void Promise.all(state.work).then(() =>
                  res.end(JSON.stringify({ seen: Object.fromEntries(state.seen), emitted })),
                );
              });
            },
          );
          const outside = around === 'from the root' ? 'none' : 'other';
          for (const marker of ['beta', 'canary'])
            expect(await ask(s, marker)).toEqual({
              seen: {
                returns: [marker],
                throws: [marker],
                'starts a timer and a promise': [marker, marker],
                'emits another bound event': [marker, 'nested', marker],
              },
              emitted: [outside, 'listener failed', outside, outside, outside],
            });
        },
      );
    });
  });

  /** One listener per row on `probe:<row>`, and one on `nested` for the row that emits it. */
  function addRows(
    req: http.IncomingMessage,
    state: { seen: Map<string, unknown[]>; work: unknown[] },
  ): void {
    for (const [name, body] of ROWS) {
      const seen: unknown[] = [];
      state.seen.set(name, seen);
      req.on(`probe:${name}`, () => {
        const out = body(seen, req);
        if (out instanceof Promise) state.work.push(out);
      });
    }
    req.on('nested', (seen: unknown[]) => {
      seen.push('nested');
      seen.push(tryGetGrayVersion() ?? 'none');
    });
  }

  it.each(FRAMEWORKS)(
    "%s: the other AsyncLocalStorage values in a listener are the emitter's, not its add site's",
    async (framework) => {
      const app = new AsyncLocalStorage<string>();
      const s = await serveAround(
        framework,
        (req) => {
          const seen: unknown[] = [];
          req.on('probe', () => seen.push(['early', tryGetGrayVersion(), app.getStore()]));
          return seen;
        },
        (req, res, seen) => {
          // The first listener added inside the request, from a nested scope of the app's own.
          app.run('add-site', () =>
            req.on('probe', () => seen.push(['nested', tryGetGrayVersion(), app.getStore()])),
          );
          req.on('probe', () => seen.push(['inside', tryGetGrayVersion(), app.getStore()]));
          setImmediate(() =>
            fromRoot(() =>
              app.run('emitter', () => {
                req.emit('probe');
                res.end(JSON.stringify(seen));
              }),
            ),
          );
        },
      );
      expect(await ask(s, 'beta')).toEqual([
        ['early', 'beta', 'emitter'],
        ['nested', 'beta', 'emitter'],
        ['inside', 'beta', 'emitter'],
      ]);
    },
  );
});

describe('CTX-05 pipelined requests on one connection (docs/node.md §6)', () => {
  it("each decided response's listeners see its own lane; a route in front of graylane sees the previous one's", async () => {
    const gray = createGraylane({ config: CONFIG });
    const seen: string[] = [];
    const s = await listen(
      http.createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        const id = url.searchParams.get('id');
        const body = () => {
          res.on('finish', () => seen.push(`${id} finish ${tryGetGrayVersion() ?? 'none'}`));
          req.on('end', () => seen.push(`${id} end ${tryGetGrayVersion() ?? 'none'}`));
          req.resume();
          // The first response ends late, so the others queue behind it.
          if (id === '1') setTimeout(() => res.end('a'), 30);
          else res.end('b');
        };
        if (url.pathname === '/plain') body();
        else gray.handle(req, res, body);
      }),
    );
    const get = (path: string, headers: string) =>
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`;
    const raw =
      get('/g?id=1', 'x-gray-id: beta\r\n') +
      get('/plain?id=2', '') +
      get('/g?id=3', 'x-gray-id: canary\r\n') +
      get('/g?id=4', 'connection: close\r\n');
    const port = new URL(s.url).port;
    const replies = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(raw));
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.setTimeout(5_000, () => reject(new Error('no reply')));
    });
    expect(replies.match(/HTTP\/1\.1 200/g)).toHaveLength(4);
    await new Promise((r) => setImmediate(r));
    expect(seen.filter((e) => !e.startsWith('2 ')).sort()).toEqual([
      '1 end beta',
      '1 finish beta',
      '3 end canary',
      '3 finish canary',
      '4 end stable',
      '4 finish stable',
    ]);
    // The route in front of graylane: Node flushed its queued response from the first
    // response's finish, in that request's context.
    expect(seen).toContain('2 finish beta');
  });
});
