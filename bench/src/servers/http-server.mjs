// One benchmark server per child process: `node http-server.mjs <kind>`. Listens on 127.0.0.1:0,
// reports `{ port }` over IPC, and answers `start` / `stop` with its own process.cpuUsage() delta,
// so CPU per request is the server's alone (the load generator runs in another process).
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { rulesDocument } from '../lib/fixtures.mjs';

const require = createRequire(import.meta.url);
const kind = process.argv[2];
const BODY = 'ok';
const config = rulesDocument(10);
// `rules`: the header name is one the load generator never sends, so the 10 rules decide.
const grayOptions = (kind) =>
  kind.includes('rules')
    ? {
        config,
        markers: { header: 'x-not-sent' },
        attributes: (req) => ({ userId: req.headers['x-user-id'], plan: 'free' }),
      }
    : { config, attributes: (req) => ({ userId: req.headers['x-user-id'], plan: 'free' }) };

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

async function createServer() {
  if (kind.includes('otel')) await startOtel({ instrumentHttp: kind === 'http+otel-instr' });
  // Required after OTel so HttpInstrumentation (require-in-the-middle) can patch it.
  const http = require('node:http');
  switch (kind) {
    case 'http':
      return http.createServer((req, res) => reply(res));
    case 'http+otel-instr':
      return http.createServer((req, res) => reply(res));
    case 'http+als': {
      const als = new AsyncLocalStorage();
      return http.createServer((req, res) => als.run({ req }, () => reply(res)));
    }
    case 'http+graylane':
    case 'http+graylane-rules':
    case 'http+graylane+otel': {
      const { createGraylane } = await import('@graylane/node');
      const gray = createGraylane(grayOptions(kind));
      return http.createServer((req, res) => gray.handle(req, res, () => reply(res)));
    }
    case 'express':
    case 'express+graylane': {
      const express = require('express');
      const app = express();
      if (kind.endsWith('graylane')) {
        const { graylaneExpress } = await import('@graylane/node/express');
        app.use(graylaneExpress(grayOptions(kind)));
      }
      app.get('/', (req, res) => reply(res));
      return http.createServer(app);
    }
    case 'koa':
    case 'koa+graylane': {
      const Koa = require('koa');
      const app = new Koa();
      if (kind.endsWith('graylane')) {
        const { graylaneKoa } = await import('@graylane/node/koa');
        app.use(graylaneKoa(grayOptions(kind)));
      }
      app.use((ctx) => {
        ctx.type = 'text/plain';
        ctx.body = BODY;
      });
      return http.createServer(app.callback());
    }
    case 'fastify':
    case 'fastify+graylane': {
      const Fastify = require('fastify');
      let server;
      const app = Fastify({
        logger: false,
        serverFactory: (handler) => (server = http.createServer(handler)),
      });
      if (kind.endsWith('graylane')) {
        const { graylaneFastify } = await import('@graylane/node/fastify');
        await app.register(graylaneFastify, grayOptions(kind));
      }
      app.get('/', (req, rep) => rep.type('text/plain').send(BODY));
      await app.ready();
      return server;
    }
    default:
      throw new Error(`unknown server kind ${kind}`);
  }
}

const server = await createServer();
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
let mark;
process.on('message', (msg) => {
  if (msg === 'start') {
    mark = process.cpuUsage();
    process.send({ started: true });
  } else if (msg === 'stop') {
    const d = process.cpuUsage(mark);
    process.send({ cpuUs: d.user + d.system });
  } else if (msg === 'exit') {
    server.closeAllConnections?.();
    server.close(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
