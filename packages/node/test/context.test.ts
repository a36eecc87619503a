import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import v8 from 'node:v8';
import vm from 'node:vm';
import express from 'express';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  bindGray,
  createGraylane,
  getGrayVersion,
  graylane,
  runWithGray,
  tryGetGrayVersion,
  withGray,
} from '../src/index.js';
import { closeAll, CONFIG, echoServer, listen, type Running } from './helpers.js';

afterEach(closeAll);

type Observe = (req: http.IncomingMessage) => Promise<unknown>;

/** An express app whose route runs `observe` and answers what it saw. Two concurrent requests per check. */
async function app(observe: Observe): Promise<Running> {
  const a = express();
  a.use(graylane({ config: CONFIG }));
  a.get('/', async (req, res) => {
    res.json({ seen: await observe(req) });
  });
  return listen(http.createServer(a));
}

async function twoConcurrent(s: Running): Promise<unknown[]> {
  const [a, b] = await Promise.all(
    ['beta', 'canary'].map((m) =>
      fetch(s.url, { headers: { 'x-gray-id': m } }).then(
        (r) => r.json() as Promise<{ seen: unknown }>,
      ),
    ),
  );
  return [a?.seen, b?.seen];
}

describe('CTX: context propagation (Node 20, express 5)', () => {
  it('CTX-01 await, setTimeout, setImmediate, nextTick, queueMicrotask, Promise.all', async () => {
    const s = await app(async () => {
      const seen: (string | undefined)[] = [];
      await null;
      seen.push(tryGetGrayVersion());
      await new Promise<void>((r) => setTimeout(() => (seen.push(tryGetGrayVersion()), r()), 10));
      await new Promise<void>((r) => setImmediate(() => (seen.push(tryGetGrayVersion()), r())));
      await new Promise<void>((r) => process.nextTick(() => (seen.push(tryGetGrayVersion()), r())));
      await new Promise<void>((r) => queueMicrotask(() => (seen.push(tryGetGrayVersion()), r())));
      seen.push(...(await Promise.all([1, 2].map(async () => tryGetGrayVersion()))));
      return seen;
    });
    expect(await twoConcurrent(s)).toEqual([Array(7).fill('beta'), Array(7).fill('canary')]);
  });

  it('CTX-02 custom thenables, and a thenable returned after await', async () => {
    const s = await app(async () => {
      const v1 = await {
        then: (r: (v: string | undefined) => void) => setTimeout(() => r(tryGetGrayVersion()), 5),
      };
      const after = await (async () => {
        await null;
        return { then: (r: (v: string | undefined) => void) => r(tryGetGrayVersion()) };
      })();
      return [v1, await after, tryGetGrayVersion()];
    });
    const [a, b] = await twoConcurrent(s);
    expect((a as string[])[2]).toBe('beta');
    expect((b as string[])[2]).toBe('canary');
    // The values seen *inside* a custom thenable are documented as unspecified (Node PR #33189);
    // after the await the request's own context is always back.
  });

  it('CTX-03 callback pool with max 1: without bindGray B sees A (documented); with bindGray B sees B', async () => {
    const queue: (() => void)[] = [];
    let busy = false;
    const acquire = (cb: () => void): void => {
      if (!busy) {
        busy = true;
        cb();
      } else queue.push(cb);
    };
    const release = (): void => {
      const next = queue.shift();
      if (next) next();
      else busy = false;
    };
    const s = await app(
      async (req) =>
        new Promise((resolve) => {
          const bind = req.headers['x-bind'] === '1';
          const cb = (): void => {
            const seen = tryGetGrayVersion();
            // Hold the resource until the other request has queued, so the hand-over is certain.
            const started = Date.now();
            const poll = setInterval(() => {
              if (queue.length > 0 || Date.now() - started > 5000) {
                clearInterval(poll);
                release();
                resolve(seen);
              }
            }, 2);
          };
          acquire(bind ? bindGray(cb) : cb);
        }),
    );
    const go = (m: string, bind: boolean): Promise<unknown> =>
      fetch(s.url, { headers: { 'x-gray-id': m, 'x-bind': bind ? '1' : '0' } }).then(
        async (r) => ((await r.json()) as { seen: unknown }).seen,
      );
    expect((await Promise.all([go('beta', true), go('canary', true)])).sort()).toEqual([
      'beta',
      'canary',
    ]);
    const unbound = await Promise.all([go('beta', false), go('canary', false)]);
    // The hazard bindGray exists for (dd-trace #3733): the queued request ran in the releaser's context.
    expect(unbound[0]).toBe(unbound[1]);
  });

  it('CTX-04 shared EventEmitter: registered in A, emitted in B; bindGray keeps A', async () => {
    const bus = new EventEmitter();
    const s = await app(async (req) => {
      if (req.headers['x-gray-id'] === 'beta') {
        return new Promise((resolve) => {
          bus.once(
            'tick',
            bindGray(() => resolve(['bound', tryGetGrayVersion()])),
          );
        });
      }
      await new Promise((r) => setTimeout(r, 20));
      bus.emit('tick');
      return ['emitter', tryGetGrayVersion()];
    });
    expect(await twoConcurrent(s)).toEqual([
      ['bound', 'beta'],
      ['emitter', 'canary'],
    ]);
  });

  /** Answers with the versions the request's `data` listeners saw, then the one at `end`. */
  const answerWhatBodyListenersSaw = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const seen: (string | undefined)[] = [];
    req.on('data', () => seen.push(tryGetGrayVersion()));
    req.on('end', () =>
      res.end(JSON.stringify([...new Set(seen)].concat(tryGetGrayVersion() ?? 'none'))),
    );
  };

  /** Concurrent POSTs of a 300 KB body (many `data` events), one per marker. */
  const postBodies = (url: string, markers: string[]): Promise<unknown[]> =>
    Promise.all(
      markers.map((m) =>
        fetch(url, { method: 'POST', body: 'x'.repeat(300_000), headers: { 'x-gray-id': m } }).then(
          (r) => r.json() as Promise<unknown>,
        ),
      ),
    );

  it('CTX-05 req.on("data"/"end") listeners see the marker (node:http)', async () => {
    const gray = createGraylane({ config: CONFIG });
    const s = await listen(
      http.createServer((req, res) =>
        gray.handle(req, res, () => answerWhatBodyListenersSaw(req, res)),
      ),
    );
    const out = await postBodies(s.url, ['beta', 'canary']);
    expect(out).toEqual([
      ['beta', 'beta'],
      ['canary', 'canary'],
    ]);
  });

  it.each([
    ['express handed the request by node:http after graylane decided', false],
    ['…with a second graylane layer inside express, which reuses the decision', true],
  ])(
    'CTX-05 %s: body listeners still see the marker (the prototype was swapped after the decision)',
    async (_label, inner) => {
      const gray = createGraylane({ config: CONFIG });
      const router = createGraylane({ config: CONFIG });
      const appInside = express();
      if (inner) appInside.use(router.middleware);
      appInside.post('/', (req, res) => answerWhatBodyListenersSaw(req, res));
      const s = await listen(
        http.createServer((req, res) => gray.handle(req, res, () => appInside(req, res))),
      );
      const out = await postBodies(s.url, ['beta', 'canary', 'beta']);
      expect(out).toEqual([
        ['beta', 'beta'],
        ['canary', 'canary'],
        ['beta', 'beta'],
      ]);
      // Decided once per request, by the outer layer.
      const count = (st: ReturnType<typeof gray.stats>) =>
        st.decisions.reduce((n, r) => n + r.count, 0);
      expect(count(gray.stats())).toBe(3);
      expect(count(router.stats())).toBe(0);
      await s.close();
    },
  );

  it('CTX-07 outbound http.request over one keep-alive socket: each response handler sees its own marker', async () => {
    const up = await echoServer();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const s = await app(
      () =>
        new Promise((resolve, reject) => {
          const req = http.request({ host: '127.0.0.1', port: up.port, agent }, (res) => {
            const inResponse = tryGetGrayVersion();
            res.resume().on('end', () => resolve([inResponse, tryGetGrayVersion()]));
          });
          req.on('error', reject).end();
        }),
    );
    for (let i = 0; i < 3; i++)
      expect(await twoConcurrent(s)).toEqual([
        ['beta', 'beta'],
        ['canary', 'canary'],
      ]);
    agent.destroy();
  });

  it('CTX-08 worker threads do not share the marker; pass it explicitly and runWithGray inside', async () => {
    const version = await runWithGray('beta', async () => {
      const code = `
        const { parentPort, workerData } = require('node:worker_threads');
        const { tryGetGrayVersion, runWithGray } = require('@graylane/node');
        const inherited = tryGetGrayVersion() ?? null;
        const explicit = runWithGray(workerData.version, () => tryGetGrayVersion());
        parentPort.postMessage({ inherited, explicit });`;
      const worker = new Worker(code, { eval: true, workerData: { version: getGrayVersion() } });
      return new Promise((resolve, reject) =>
        worker.once('message', resolve).once('error', reject),
      );
    });
    expect(version).toEqual({ inherited: null, explicit: 'beta' });
  });

  it('CTX-09 the SDK never calls enterWith (source scan) and binds with run()', () => {
    const root = join(fileURLToPath(new URL('..', import.meta.url)), 'src');
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) files.push(p);
      }
    };
    walk(root);
    expect(files.length).toBeGreaterThan(20);
    const offenders = files.filter((f) => /\.enterWith\s*\(/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
    expect(readFileSync(join(root, 'context/run.ts'), 'utf8')).toMatch(
      /storage\(\)\.run\(store, fn\)/,
    );
    // The matrix runs this file on Node 20, 22 and 24 (AsyncContextFrame on 24): engines >= 20.6.
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(20);
  });

  it('CTX-10 OTel context manager registered after the middleware: the marker still flows', async () => {
    const up = await echoServer();
    const s = await app(async () => {
      await new Promise((r) => setTimeout(r, 5));
      const r = await withGray(fetch, { allowHosts: [`127.0.0.1:${up.port}`] })(up.url);
      return [
        tryGetGrayVersion(),
        ((await r.json()) as { headers: Record<string, string> }).headers['x-gray-id'],
      ];
    });
    expect(await twoConcurrent(s)).toEqual([
      ['beta', 'beta'],
      ['canary', 'canary'],
    ]);
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      expect(await twoConcurrent(s)).toEqual([
        ['beta', 'beta'],
        ['canary', 'canary'],
      ]);
    } finally {
      context.disable();
    }
  });

  it('CTX-11 after 10,000 finished requests no request store is retained (WeakRef + gc)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const refs: WeakRef<object>[] = [];
    const gray = createGraylane({ config: CONFIG });
    const s = await listen(
      http.createServer((req, res) =>
        gray.handle(req, res, () => {
          // The request's own store (the decision object is shared per config and version).
          const store = (
            (globalThis as Record<symbol, unknown>)[
              Symbol.for('@graylane/node.context')
            ] as AsyncLocalStorage<object>
          ).getStore();
          if (store !== undefined) refs.push(new WeakRef(store));
          setImmediate(() => res.end('ok'));
        }),
      ),
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
    const one = (i: number): Promise<void> =>
      new Promise((resolve, reject) => {
        http
          .get(
            {
              host: '127.0.0.1',
              port: s.port,
              agent,
              headers: { 'x-gray-id': i % 2 ? 'beta' : 'canary' },
            },
            (r) => r.resume().on('end', resolve),
          )
          .on('error', reject);
      });
    for (let batch = 0; batch < 20; batch++)
      await Promise.all(Array.from({ length: 500 }, (_, i) => one(batch * 500 + i)));
    agent.destroy();
    await s.close();
    // A leak keeps growing with traffic and never goes away; the last request's objects may
    // outlive the sockets by a few event-loop turns. So collect until nothing is left, up to 3 s.
    // `deref()` keeps its target alive until the end of the current job, so each round collects
    // at the start of a fresh macrotask and only then looks.
    const retained = (): number => refs.filter((r) => r.deref() !== undefined).length;
    let left = refs.length;
    for (let i = 0; i < 100 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 30));
      gc();
      left = retained();
    }
    expect(refs).toHaveLength(10_000);
    expect(left).toBe(0);
  }, 90_000);
});
