// CTX-05 on hono (`@graylane/node/hono` under @hono/node-server): the listeners an app adds to
// the Node request and response (`c.env.incoming` / `c.env.outgoing`) run in the request's
// context, as `req`/`res` listeners do on express, koa and fastify (the controls here). Before,
// the hono adapter decided with `bind: false`: a listener on `c.env.outgoing` saw no lane (and an
// outbound call from it under installGlobal() carried no marker), nor did one added by a
// middleware before graylane. Every row: a real server on 127.0.0.1, one POST whose body flows
// through the listeners, each listener method, added before graylane, after it (a later
// middleware or hook), in the handler, and in the handler after an await; trust open and edge.
import { AsyncResource } from 'node:async_hooks';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installGlobal, tryGetGrayVersion } from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';
import { graylaneKoa } from '../src/adapters/koa.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { graylaneHono } from '../src/adapters/hono.js';
import { CONFIG, listen, type Running } from './helpers.js';

/** Created at import: its scope is the root context, which belongs to no request. */
const ROOT = new AsyncResource('graylane-test-root');

type Fw = 'hono' | 'express' | 'koa' | 'fastify';
type Mode = 'open' | 'edge';
type Where = 'before' | 'after' | 'handler' | 'handler-await';
type Add = 'on' | 'addListener' | 'prependListener' | 'once' | 'prependOnceListener';
const FRAMEWORKS: readonly Fw[] = ['hono', 'express', 'koa', 'fastify'];
const MODES: readonly Mode[] = ['open', 'edge'];
const WHERES: readonly Where[] = ['before', 'after', 'handler', 'handler-await'];
const ADDS: readonly Add[] = [
  'on',
  'addListener',
  'prependListener',
  'once',
  'prependOnceListener',
];
/** `target:event`: the events a request and a response of a completed POST emit. */
const EVENTS = ['res:finish', 'res:close', 'req:data', 'req:end', 'req:close'] as const;
type Event = (typeof EVENTS)[number];

/** The client always sends `beta`: open honours it, edge decides without it (the default). */
const DECIDED: Record<Mode, string> = { open: 'beta', edge: 'stable' };

/** rid → listener key → the lanes it saw, every call ('data' is called per chunk). */
const seen = new Map<string, Map<string, string>>();
const record = (rid: string, key: string, value: string) => {
  let m = seen.get(rid);
  if (m === undefined) seen.set(rid, (m = new Map()));
  const had = m.get(key);
  if (had === undefined) m.set(key, value);
  else if (!had.split('|').includes(value)) m.set(key, `${had}|${value}`);
};

/** What the allowlisted sink received: id → X-Gray-Id. */
const sunk = new Map<string, string>();
let sink: Running;
let uninstall: () => void = () => undefined;

/** What the request asks for: where to add which listeners, and whether they call out. */
interface Plan {
  rid: string;
  where: Where;
  event: Event;
  out: boolean;
}
function planOf(headers: http.IncomingHttpHeaders): Plan | undefined {
  const v = headers['x-plan'];
  return typeof v === 'string' ? (JSON.parse(v) as Plan) : undefined;
}

/** Adds the plan's listeners (one per method) when `stage` is the plan's. */
function addListeners(
  stage: Where,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  plan = planOf(req.headers),
): void {
  if (plan === undefined || plan.where !== stage) return;
  const [on, event] = plan.event.split(':') as ['req' | 'res', string];
  const target = (on === 'req' ? req : res) as unknown as Record<
    Add,
    (e: string, l: (...a: unknown[]) => void) => void
  >;
  for (const add of ADDS) {
    const key: string = add;
    target[add](event, () => {
      const lane = String(tryGetGrayVersion());
      record(plan.rid, key, lane);
      if (plan.out)
        void fetch(`${sink.url}/?id=${encodeURIComponent(`${plan.rid}:${key}`)}`).catch(
          () => undefined,
        );
    });
  }
}

/** The handler's part: waits for the body to end (the listeners may consume it), answers the lane. */
async function handler(req: http.IncomingMessage, res: http.ServerResponse): Promise<string> {
  const plan = planOf(req.headers);
  addListeners('handler', req, res, plan);
  if (plan?.where === 'handler-await') {
    await sleep(1);
    addListeners('handler-await', req, res, plan);
  }
  if (!req.readableEnded)
    await new Promise<void>((resolve) => {
      req.on('end', () => resolve());
      req.resume();
    });
  return String(tryGetGrayVersion());
}

function options(mode: Mode) {
  return { config: CONFIG, trust: mode, allowHosts: [`127.0.0.1:${sink.port}`] };
}

const apps: Record<Fw, (mode: Mode) => Promise<Running>> = {
  hono: async (mode) => {
    type Env = { Bindings: { incoming: http.IncomingMessage; outgoing: http.ServerResponse } };
    const app = new Hono<Env>();
    app.use(async (c, next) => {
      addListeners('before', c.env.incoming, c.env.outgoing);
      await next();
    });
    app.use(graylaneHono(options(mode)));
    app.use(async (c, next) => {
      addListeners('after', c.env.incoming, c.env.outgoing);
      await next();
    });
    app.post('/*', async (c) => c.text(await handler(c.env.incoming, c.env.outgoing)));
    return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
  },
  express: async (mode) => {
    const app = express();
    app.use((req, res, next) => (addListeners('before', req, res), next()));
    app.use(graylaneExpress(options(mode)));
    app.use((req, res, next) => (addListeners('after', req, res), next()));
    app.post(/.*/, (req, res) => void handler(req, res).then((lane) => res.send(lane)));
    return listen(http.createServer(app));
  },
  koa: async (mode) => {
    const app = new Koa();
    app.silent = true; // the reset rows: koa would log each ECONNRESET
    app.use((ctx, next) => (addListeners('before', ctx.req, ctx.res), next()));
    app.use(graylaneKoa(options(mode)));
    app.use((ctx, next) => (addListeners('after', ctx.req, ctx.res), next()));
    app.use(async (ctx) => {
      ctx.body = await handler(ctx.req, ctx.res);
    });
    return listen(http.createServer(app.callback()));
  },
  fastify: async (mode) => {
    const app = Fastify();
    app.addHook('onRequest', (request, reply, done) => {
      addListeners('before', request.raw, reply.raw);
      done();
    });
    await app.register(graylaneFastify, options(mode));
    app.addHook('onRequest', (request, reply, done) => {
      addListeners('after', request.raw, reply.raw);
      done();
    });
    app.removeAllContentTypeParsers();
    // The body stays unread for the route: the listeners and the handler consume it.
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));
    app.post('/*', async (request, reply) => handler(request.raw, reply.raw));
    await app.ready();
    return listen(app.server);
  },
};

const servers = new Map<string, Running>();
beforeAll(async () => {
  sink = await listen(
    http.createServer((req, res) => {
      const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
      const v = req.headers['x-gray-id'];
      sunk.set(id, typeof v === 'string' ? v : 'none');
      res.end('ok');
    }),
  );
  uninstall = installGlobal({ allowHosts: [`127.0.0.1:${sink.port}`] });
  for (const fw of FRAMEWORKS)
    for (const mode of MODES) servers.set(`${fw}:${mode}`, await apps[fw](mode));
});
afterAll(async () => {
  uninstall();
  await Promise.all([...servers.values(), sink].map((s) => s.close()));
});

/**
 * A POST over a plain socket (installGlobal, active in this file, takes the marker off calls to
 * hosts that are not allowlisted, the servers under test included); the response's body.
 */
function post(port: number, plan: Plan): Promise<string> {
  return new Promise((resolve, reject) => {
    const body = 'x'.repeat(200_000);
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve(text.slice(text.indexOf('\r\n\r\n') + 4));
    });
    sock.write(
      `POST /p HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\nx-gray-id: beta\r\n` +
        `x-plan: ${JSON.stringify(plan)}\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
  });
}

let n = 0;
async function run(fw: Fw, mode: Mode, where: Where, event: Event, out: boolean) {
  const rid = `${fw}-${mode}-${where}-${event}-${out ? 'o' : 'l'}-${++n}`;
  const s = servers.get(`${fw}:${mode}`) as Running;
  const plan: Plan = { rid, where, event, out };
  expect(await post(s.port, plan), 'the handler').toBe(DECIDED[mode]);
  // 'finish' and 'close' come after the response: wait for every listener.
  const keys = ADDS.map(String);
  const done = () => keys.every((k) => seen.get(rid)?.has(k) && (!out || sunk.has(`${rid}:${k}`)));
  for (let i = 0; i < 200 && !done(); i++) await sleep(10);
  return {
    lanes: Object.fromEntries(keys.map((k) => [k, seen.get(rid)?.get(k)])),
    sent: out ? Object.fromEntries(keys.map((k) => [k, sunk.get(`${rid}:${k}`)])) : undefined,
    rid,
  };
}

const all = (v: string) => Object.fromEntries(ADDS.map((k) => [k, v]));

describe('CTX-05 hono: c.env.incoming / c.env.outgoing listeners run in the request context', () => {
  describe.each(FRAMEWORKS.flatMap((fw) => MODES.map((mode) => ({ fw, mode }))))(
    '$fw, trust $mode',
    ({ fw, mode }) => {
      it.each(WHERES.flatMap((where) => EVENTS.map((event) => [where, event] as const)))(
        'added %s graylane, %s: every listener method sees the decided lane',
        async (where, event) => {
          const { lanes } = await run(fw, mode, where, event, false);
          expect(lanes).toEqual(all(DECIDED[mode]));
        },
      );
    },
  );
});

describe('CTX-05/OUT hono: an outbound call from a listener carries the decided marker (installGlobal)', () => {
  describe.each(FRAMEWORKS.flatMap((fw) => MODES.map((mode) => ({ fw, mode }))))(
    '$fw, trust $mode',
    ({ fw, mode }) => {
      it.each([
        ['before', 'res:finish'],
        ['handler', 'res:finish'],
        ['handler-await', 'res:close'],
        ['after', 'req:end'],
      ] as const)('added %s graylane, %s', async (where, event) => {
        const { sent } = await run(fw, mode, where, event, true);
        expect(sent).toEqual(all(DECIDED[mode]));
      });
    },
  );
});

/** Sends the head and part of a body, then resets the connection. */
function abortMidBody(port: number, plan: Plan): Promise<void> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write(
        `POST /p HTTP/1.1\r\nhost: 127.0.0.1\r\nx-gray-id: beta\r\nx-plan: ${JSON.stringify(plan)}\r\ncontent-length: 100000\r\n\r\n${'x'.repeat(1000)}`,
      );
      setTimeout(() => {
        sock.resetAndDestroy();
        resolve();
      }, 100);
    });
    sock.on('error', () => undefined);
  });
}

describe('CTX-05 hono: a client that resets mid-body ("error", "aborted", "close" on the request)', () => {
  describe.each(FRAMEWORKS.flatMap((fw) => MODES.map((mode) => ({ fw, mode }))))(
    '$fw, trust $mode',
    ({ fw, mode }) => {
      it.each([
        ['handler', 'req:error'],
        ['handler', 'req:aborted'],
        ['before', 'req:error'],
        ['after', 'res:close'],
      ] as const)('added %s graylane, %s', async (where, event) => {
        const rid = `${fw}-${mode}-abort-${where}-${event}-${++n}`;
        const s = servers.get(`${fw}:${mode}`) as Running;
        await abortMidBody(s.port, { rid, where, event: event as Event, out: false });
        const keys = ADDS.map(String);
        for (let i = 0; i < 200 && !keys.every((k) => seen.get(rid)?.has(k)); i++) await sleep(10);
        expect(Object.fromEntries(keys.map((k) => [k, seen.get(rid)?.get(k)]))).toEqual(
          all(DECIDED[mode]),
        );
      });
    },
  );
});

describe('CTX-05 hono: removal by the app function and off Node', () => {
  type Env = { Bindings: { incoming: http.IncomingMessage; outgoing: http.ServerResponse } };
  /** Listeners on `c.env.outgoing` 'x', emitted twice after the response, from the socket. */
  const REMOVAL: [string, (o: http.ServerResponse, log: (s: string) => () => void) => void][] = [
    ['on, removeListener', (o, log) => o.removeListener('x', (o.on('x', log('a')), seenFn(o)))],
    ['on, off', (o, log) => o.off('x', (o.on('x', log('a')), seenFn(o)))],
    ['once', (o, log) => void o.once('x', log('once'))],
    ['once, removeListener', (o, log) => o.removeListener('x', (o.once('x', log('a')), seenFn(o)))],
    ['prependOnceListener', (o, log) => void o.prependOnceListener('x', log('once'))],
    ['on, removeAllListeners("x")', (o, log) => (o.on('x', log('a')), o.removeAllListeners('x'))],
  ];
  /** The app function last added for 'x' (what `listeners()` shows, graylane's wrapper unwrapped). */
  function seenFn(o: http.ServerResponse): (...a: unknown[]) => void {
    return o.listeners('x').at(-1) as (...a: unknown[]) => void;
  }
  const WANT: Record<string, string[]> = {
    'on, removeListener': [],
    'on, off': [],
    once: ['once beta'],
    'once, removeListener': [],
    prependOnceListener: ['once beta'],
    'on, removeAllListeners("x")': [],
  };

  it.each(REMOVAL)('%s on c.env.outgoing', async (name, act) => {
    const calls: string[] = [];
    const log = (s: string) => () => void calls.push(`${s} ${String(tryGetGrayVersion())}`);
    const app = new Hono<Env>();
    app.use(graylaneHono({ config: CONFIG }));
    app.post('/*', (c) => {
      const o = c.env.outgoing;
      act(o, log);
      o.on('x', log('kept'));
      // Emitted from the root context, which belongs to no request.
      o.on('finish', () =>
        ROOT.runInAsyncScope(() => setImmediate(() => (o.emit('x'), o.emit('x')))),
      );
      return c.text(String(o.listenerCount('x')));
    });
    const s = await listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
    const plan: Plan = { rid: `removal-${++n}`, where: 'before', event: 'res:close', out: false };
    expect(await post(s.port, plan)).toBe(String(1 + (WANT[name] as string[]).length));
    for (let i = 0; i < 100 && !calls.includes('kept beta'); i++) await sleep(10);
    await sleep(20);
    expect(calls.filter((c) => !c.startsWith('kept'))).toEqual(WANT[name]);
    expect(calls.filter((c) => c.startsWith('kept'))).toEqual(['kept beta', 'kept beta']);
    await s.close();
  });

  it('control: off Node (no c.env) the handler has its lane and nothing is bound', async () => {
    const app = new Hono();
    app.use(graylaneHono({ config: CONFIG }));
    app.get('/', (c) => c.text(String(tryGetGrayVersion())));
    const r = await app.request('/', { headers: { 'x-gray-id': 'canary' } });
    expect(await r.text()).toBe('canary');
  });
});
