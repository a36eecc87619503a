// One benchmark server per child process: `node http-server.mjs <kind>`. Listens on 127.0.0.1:0,
// reports `{ port, node }` over IPC, and answers `start` / `stop` with its own process.cpuUsage()
// delta, so CPU per request is the server's alone (the load generator runs in another process).
// `profile-start` / `profile-stop` take a V8 CPU profile of the same window (the inspector's
// Profiler, what `--cpu-prof` uses) and answer with it.
//
// Kinds: `<framework>` bare, `<framework>+als` (one AsyncLocalStorage.run per request, the way
// the framework's users bind a store), `<framework>+graylane` (header marker), and
// `<framework>+graylane-rules` (no marker: the 10 rules decide); framework is http (node:http),
// express, koa, fastify or hono (on @hono/node-server). Plus `http+graylane+otel` (OTel context
// manager, propagator and tracer registered) and `http+otel-instr` (OTel HttpInstrumentation).
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { Session } from 'node:inspector';
import { rulesDocument } from '../lib/fixtures.mjs';

const require = createRequire(import.meta.url);
const kind = process.argv[2];
const [framework, variant = 'bare'] = kind.split(/\+(.*)/s);
const BODY = 'ok';
const config = rulesDocument(10);
// `rules`: the header name is one the load generator never sends, so the 10 rules decide.
const grayOptions = (attributes) =>
  variant.includes('rules')
    ? { config, markers: { header: 'x-not-sent' }, attributes }
    : { config, attributes };
const fromNodeRequest = (req) => ({ userId: req.headers['x-user-id'], plan: 'free' });

function reply(res) {
  res.setHeader('content-type', 'text/plain');
  res.end(BODY);
}

async function startOtel({ instrumentHttp }) {
  const api = require('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
  const { BasicTracerProvider } = require('@opentelemetry/sdk-trace-base');
  const {
    CompositePropagator,
    W3CBaggagePropagator,
    W3CTraceContextPropagator,
  } = require('@opentelemetry/core');
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  );
  // No span processor: spans are created and ended, nothing is exported.
  api.trace.setGlobalTracerProvider(new BasicTracerProvider());
  if (instrumentHttp) {
    const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
    const { registerInstrumentations } = require('@opentelemetry/instrumentation');
    registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
  }
}

const als = new AsyncLocalStorage();

/** One factory per framework: `mw` is graylane's middleware for it, or the ALS-only one. */
const FRAMEWORKS = {
  async http(http) {
    if (variant === 'als') return http.createServer((req, res) => als.run({ req }, reply, res));
    if (variant.startsWith('graylane')) {
      const { createGraylane } = await import('@graylane/node');
      const gray = createGraylane(grayOptions(fromNodeRequest));
      return http.createServer((req, res) => gray.handle(req, res, () => reply(res)));
    }
    return http.createServer((req, res) => reply(res));
  },
  async express(http) {
    const express = require('express');
    const app = express();
    if (variant === 'als') app.use((req, res, next) => als.run({ req }, next));
    if (variant.startsWith('graylane')) {
      const { graylaneExpress } = await import('@graylane/node/express');
      app.use(graylaneExpress(grayOptions(fromNodeRequest)));
    }
    app.get('/', (req, res) => reply(res));
    return http.createServer(app);
  },
  async koa(http) {
    const Koa = require('koa');
    const app = new Koa();
    if (variant === 'als') app.use((ctx, next) => als.run({ ctx }, next));
    if (variant.startsWith('graylane')) {
      const { graylaneKoa } = await import('@graylane/node/koa');
      app.use(graylaneKoa(grayOptions((ctx) => fromNodeRequest(ctx.req))));
    }
    app.use((ctx) => {
      ctx.type = 'text/plain';
      ctx.body = BODY;
    });
    return http.createServer(app.callback());
  },
  async fastify(http) {
    const Fastify = require('fastify');
    let server;
    const app = Fastify({
      logger: false,
      serverFactory: (handler) => (server = http.createServer(handler)),
    });
    // The hook users write for a request store: the rest of the request runs inside run().
    if (variant === 'als') app.addHook('onRequest', (req, rep, done) => als.run({ req }, done));
    if (variant.startsWith('graylane')) {
      const { graylaneFastify } = await import('@graylane/node/fastify');
      await app.register(
        graylaneFastify,
        grayOptions((req) => fromNodeRequest(req.raw)),
      );
    }
    app.get('/', (req, rep) => rep.type('text/plain').send(BODY));
    await app.ready();
    return server;
  },
  async hono(http) {
    const { Hono } = await import('hono');
    const { getRequestListener } = await import('@hono/node-server');
    const app = new Hono();
    if (variant === 'als') app.use((c, next) => als.run({ c }, next));
    if (variant.startsWith('graylane')) {
      const { graylaneHono } = await import('@graylane/node/hono');
      app.use(
        graylaneHono(grayOptions((c) => ({ userId: c.req.header('x-user-id'), plan: 'free' }))),
      );
    }
    app.get('/', (c) => c.text(BODY));
    return http.createServer(getRequestListener(app.fetch));
  },
};

async function createServer() {
  if (variant.includes('otel')) await startOtel({ instrumentHttp: variant === 'otel-instr' });
  // Required after OTel so HttpInstrumentation (require-in-the-middle) can patch it.
  const http = require('node:http');
  const make = FRAMEWORKS[framework];
  const known = ['bare', 'als', 'graylane', 'graylane-rules', 'graylane+otel', 'otel-instr'];
  if (!make || !known.includes(variant)) throw new Error(`unknown server kind ${kind}`);
  return make(http);
}

let session;
function post(method, params) {
  return new Promise((resolve, reject) =>
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
  );
}

const server = await createServer();
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () =>
  process.send({ port: server.address().port, node: process.version }),
);
let mark;
process.on('message', async (msg) => {
  const type = typeof msg === 'string' ? msg : msg?.type;
  if (type === 'start') {
    mark = process.cpuUsage();
    process.send({ started: true });
  } else if (type === 'stop') {
    const d = process.cpuUsage(mark);
    process.send({ cpuUs: d.user + d.system });
  } else if (type === 'profile-start') {
    session = new Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: msg.intervalUs ?? 50 });
    await post('Profiler.start');
    mark = process.cpuUsage();
    process.send({ started: true });
  } else if (type === 'profile-stop') {
    const d = process.cpuUsage(mark);
    const { profile } = await post('Profiler.stop');
    session.disconnect();
    process.send({ cpuUs: d.user + d.system, profile });
  } else if (type === 'exit') {
    server.closeAllConnections?.();
    server.close(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
