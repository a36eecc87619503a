import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AddressInfo } from 'node:net';
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, tryGetGrayVersion, type GraylaneOptions } from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';

/*
 * OTB-02 and CTX-05 in process, with what OpenTelemetry's http instrumentation does on the
 * `request` event: it extracts the client's context and calls the real context manager's
 * `context.bind(ctx, req)` / `(ctx, res)`, which puts own-property listener methods on both
 * (AbstractAsyncHooksContextManager). A listener the app adds after graylane decided must run
 * in graylane's lane *and* in an OTel context whose baggage has the decided `gray` member (or
 * none with `markers.baggage: false`), not the one the client sent. The first row is this
 * process's first request (graylane's prototype wrappers were not installed yet when OTel's
 * methods captured Node's). Then: every listener method, a listener added from a
 * `'newListener'` listener, an APM that patches `on` only with a context of its own, a stricter
 * second layer (GW-03), and removal through both layers. otel-listeners.test.ts runs the
 * SDK itself in child processes.
 */

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CBaggagePropagator());
});
afterAll(() => {
  context.disable();
  propagation.disable();
});

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  );
});

const gray = (): string | undefined =>
  propagation.getBaggage(context.active())?.getEntry('gray')?.value;
const tenant = (): string | undefined =>
  propagation.getBaggage(context.active())?.getEntry('tenant')?.value;

type App = (req: IncomingMessage, res: ServerResponse) => void;

/** A server that binds each request's emitters to the client's context first, as OTel does. */
async function otelServer(app: App): Promise<number> {
  const server = http.createServer((req, res) => {
    const ctx = propagation.extract(ROOT_CONTEXT, req.headers);
    context.with(ctx, () => {
      context.bind(context.active(), req);
      context.bind(context.active(), res);
      app(req, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function post(port: number, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/', headers },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end('body');
  });
}

const config = { versions: ['stable', 'beta'], default: 'stable', rules: [] };
const CLIENT = { 'x-gray-id': 'beta', baggage: 'gray=beta,tenant=t1' };
/** Open honours the header; the client's baggage member says otherwise (OTel extracted it). */
const OPEN_CLIENT = { 'x-gray-id': 'beta', baggage: 'gray=stable,tenant=t1' };
const MODES: [
  string,
  Partial<GraylaneOptions>,
  Record<string, string>,
  string,
  string | undefined,
][] = [
  ['edge', { trust: 'edge' }, CLIENT, 'stable', 'stable'],
  [
    'signed',
    { trust: 'signed', keys: { k1: 'k'.repeat(32) }, signingKid: 'k1' },
    CLIENT,
    'stable',
    'stable',
  ],
  ['markers.baggage: false', { markers: { baggage: false } }, CLIENT, 'beta', undefined],
  ['open', {}, OPEN_CLIENT, 'beta', 'beta'],
];
const KINDS = ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener'] as const;

/** What a listener sees: graylane's lane, OTel's `gray` and `tenant` members. */
const seenHere = (): string => `${tryGetGrayVersion()} gray=${gray()} tenant=${tenant()}`;

describe('OTB-02/CTX-05 listeners under a context.bind of the request (in process)', () => {
  it("CTX-05 the process's first request: an 'end' listener sees the lane and the decided member", async () => {
    const g = createGraylane({ config, trust: 'edge' });
    const port = await otelServer((req, res) =>
      g.handle(req, res, () => {
        req.on('end', () => res.end(seenHere()));
        req.resume();
      }),
    );
    expect(await post(port, CLIENT)).toBe('stable gray=stable tenant=t1');
  });

  describe.each(MODES)('%s', (_name, mode, client, decided, member) => {
    const want = `${decided} gray=${member} tenant=t1`;
    it.each(KINDS)(
      'OTB-02 req %s and res the same: the decided member, never the client',
      async (kind) => {
        const g = createGraylane({ config, ...mode });
        let onRes: (seen: string) => void = () => undefined;
        const finished = new Promise<string>((resolve) => (onRes = resolve));
        const port = await otelServer((req, res) =>
          g.handle(req, res, () => {
            res[kind]('finish', () => onRes(seenHere()));
            req[kind]('end', () => res.end(seenHere()));
            req.resume();
          }),
        );
        expect(await post(port, client)).toBe(want);
        expect(await finished).toBe(want);
      },
    );
  });

  it("CTX-05 a listener added from a 'newListener' listener is bound too", async () => {
    const g = createGraylane({ config, trust: 'edge' });
    const port = await otelServer((req, res) =>
      g.handle(req, res, () => {
        let added = false;
        req.on('newListener', (type) => {
          if (type !== 'end' || added) return;
          added = true;
          req.on('end', () => res.end(seenHere()));
        });
        req.on('end', () => undefined);
        req.resume();
      }),
    );
    expect(await post(port, CLIENT)).toBe('stable gray=stable tenant=t1');
  });

  it("CTX-05 an APM that patches only `on` with its own context: both contexts, removal by the app's function", async () => {
    const apm = new AsyncLocalStorage<string>();
    const g = createGraylane({ config, trust: 'edge' });
    const port = await otelServer((req, res) => {
      const on = req.on;
      const map = new WeakMap<object, (...args: unknown[]) => void>();
      // An instance patch over OTel's (the outermost, like a second APM).
      req.on = function apmOn(this: IncomingMessage, type: string, fn: (...a: unknown[]) => void) {
        const wrapped = (...args: unknown[]) => apm.run('apm', () => fn(...args));
        map.set(fn, wrapped);
        return on.call(this, type, wrapped);
      } as typeof req.on;
      const removeListener = req.removeListener;
      req.removeListener = function apmRemove(this: IncomingMessage, type: string, fn: never) {
        return removeListener.call(this, type, map.get(fn) ?? fn);
      } as typeof req.removeListener;
      g.handle(req, res, () => {
        const removed = () => res.end('removed listener ran');
        req.on('end', removed);
        req.removeListener('end', removed);
        req.on('end', () => res.end(`${apm.getStore()} ${seenHere()}`));
        req.resume();
      });
    });
    expect(await post(port, CLIENT)).toBe('apm stable gray=stable tenant=t1');
  });

  it('GW-03 a listener bound under an open layer follows the stricter edge layer after it', async () => {
    const app = express();
    app.use(graylaneExpress({ config }));
    app.use((req, res, next) => {
      req.on('end', () => res.end(seenHere()));
      next();
    });
    app.use(graylaneExpress({ config, trust: 'edge' }));
    app.use((req) => req.resume());
    const port = await otelServer(app as unknown as App);
    expect(await post(port, CLIENT)).toBe('stable gray=stable tenant=t1');
  });

  it('CTX-05 removal through both layers: removeListener, off, once, prependOnceListener, removeAllListeners, listeners()', async () => {
    const g = createGraylane({ config, trust: 'edge' });
    const port = await otelServer((req, res) => {
      const calls: string[] = [];
      const earlier = () => calls.push('earlier');
      req.on('x', earlier);
      g.handle(req, res, () => {
        const a = () => calls.push('a');
        const b = () => calls.push('b');
        const c = () => calls.push(`c ${seenHere()}`);
        const d = () => calls.push('d');
        const e = () => calls.push('e');
        req.on('x', a);
        req.removeListener('x', a);
        req.on('x', b);
        req.off('x', b);
        req.once('x', c);
        req.prependOnceListener('x', d);
        req.removeListener('x', d);
        req.on('x', e);
        req.once('x', e);
        req.removeListener('x', e);
        req.removeListener('x', e);
        req.removeListener('x', earlier);
        req.on('y', a);
        req.removeAllListeners('y');
        req.on('y', b);
        const count = req.listenerCount('x');
        req.on('end', () => {
          req.emit('x');
          req.emit('x');
          req.emit('y');
          res.end(JSON.stringify({ calls, count, y: req.listenerCount('y') }));
        });
        req.resume();
      });
    });
    expect(JSON.parse(await post(port, CLIENT))).toEqual({
      calls: ['c stable gray=stable tenant=t1', 'b'],
      count: 1,
      y: 1,
    });
  });
});
