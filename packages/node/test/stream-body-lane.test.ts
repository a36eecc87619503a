// CTX-05 (review 58 D1): a response body produced on demand runs each chunk in the request's
// context. Koa pipes `ctx.body` in its `respond()`, after the middleware promise settled, and
// @hono/node-server reads the Web stream of the `Response` after `app.fetch` resolved: both
// outside the `run()` graylane's middleware wraps `next()` in. Before, every chunk koa streamed
// (every chunk after the first on hono) saw no lane: `tryGetGrayVersion()` was undefined,
// `getGrayVersion()` threw NO_CONTEXT (koa answered 200 and cut the socket), and `withGray(fetch)`
// calls made while streaming went out without `X-Gray-Id`. Express `pipe(res)`, fastify
// `reply.send(stream)` and hono's push-style `stream()` helpers kept the lane: they are the
// controls, as are the shapes whose per-chunk code runs from a timer or `start()` the handler
// scheduled, a blob, and a string body.
//
// Table: framework × body shape × what the per-chunk code reads (getGrayVersion,
// tryGetGrayVersion, withGray(fetch) to a 127.0.0.1 recorder) × two concurrent requests in two
// lanes (no bleed). Real servers on 127.0.0.1; every request bounded.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { stream as honoStream, streamSSE, streamText } from 'hono/streaming';
import { createAdaptorServer } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getGrayVersion, tryGetGrayVersion, withGray } from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';
import { graylaneKoa } from '../src/adapters/koa.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { graylaneHono } from '../src/adapters/hono.js';
import { CONFIG, listen, type Running } from './helpers.js';

/**
 * `koa2`: koa 3 answering as koa 2 does (`ctx.body.pipe(res)` after the chain settled).
 * `hono+headers`: graylane writes its debug header and sticky cookie, so it puts them on a copy
 * of the handler's response after the handler (same body).
 */
type Fw = 'koa' | 'koa2' | 'hono' | 'hono+headers' | 'express' | 'fastify';
type Probe = 'get' | 'try' | 'fetch';
type Shape =
  | 'readable-from-async-gen'
  | 'readable-custom-read'
  | 'transform-piped-from-source'
  | 'fs-read-stream'
  | 'passthrough-fed-by-timer'
  | 'web-pull'
  | 'web-start-async-enqueue'
  | 'response-web-pull'
  | 'hono-stream'
  | 'hono-stream-text'
  | 'hono-stream-sse'
  | 'string';

const NODE_SHAPES: readonly Shape[] = [
  'readable-from-async-gen',
  'readable-custom-read',
  'transform-piped-from-source',
  'fs-read-stream',
  'passthrough-fed-by-timer',
];
const WEB_SHAPES: readonly Shape[] = ['web-pull', 'web-start-async-enqueue', 'response-web-pull'];
const SHAPES: Record<Fw, readonly Shape[]> = {
  koa: [...NODE_SHAPES, ...WEB_SHAPES],
  koa2: NODE_SHAPES,
  hono: [...WEB_SHAPES, 'hono-stream', 'hono-stream-text', 'hono-stream-sse', 'string'],
  'hono+headers': [...WEB_SHAPES, 'hono-stream', 'string'],
  express: [...NODE_SHAPES, 'web-pull'],
  fastify: [...NODE_SHAPES, 'web-pull', 'response-web-pull'],
};
const PROBES: readonly Probe[] = ['get', 'try', 'fetch'];
/**
 * Shapes whose per-chunk code the framework does not drive (a timer or `start()` the handler
 * scheduled, hono's push-style helpers, one string): they kept the lane before. On express and
 * fastify every shape did.
 */
const CONTROLS = new Set<Shape>([
  'passthrough-fed-by-timer',
  'web-start-async-enqueue',
  'hono-stream',
  'hono-stream-text',
  'hono-stream-sse',
  'string',
]);
const CHUNKS = 3;
/** Each chunk's size: past the 16 KiB high-water marks, so streams wait on the socket. */
const PAD = 'x'.repeat(40_000);
const LANES = ['beta', 'canary'] as const;

/** rid → what the per-chunk code saw, in order. */
const seen = new Map<string, string[]>();
/** rid → the per-chunk calls still running (a `'data'` listener's fetch outlives the response). */
const pending = new Map<string, Promise<unknown>[]>();
let recorder: Running;
let grayFetch: typeof fetch;
let file: string;

/** The per-chunk read: what the lane looks like from inside the body, recorded for `rid`. */
function probeFor(rid: string, probe: Probe): () => Promise<string> {
  return () => {
    const p = (async () => {
      let v: string;
      try {
        if (probe === 'get') v = getGrayVersion();
        else if (probe === 'try') v = tryGetGrayVersion() ?? 'none';
        else {
          // Sent per chunk, not awaited (an audit or metrics call): what the recorder got counts.
          const sent = grayFetch(`${recorder.url}/?rid=${rid}`).then(async (r) => {
            seen.get(rid)?.push(await r.text());
          });
          pending.get(rid)?.push(sent.catch(() => undefined));
          return 'sent';
        }
      } catch (e) {
        (seen.get(rid) ?? []).push(`throw:${(e as { code?: string }).code ?? String(e)}`);
        throw e;
      }
      seen.get(rid)?.push(v);
      return v;
    })();
    pending.get(rid)?.push(p.catch(() => undefined));
    return p;
  };
}

const line = (v: string) => `${v}:${PAD}\n`;
const bytes = (v: string) => new TextEncoder().encode(line(v));

/** The body of `shape`, its per-chunk code calling `probe`. */
function makeBody(shape: Shape, probe: () => Promise<string>): unknown {
  switch (shape) {
    case 'readable-from-async-gen':
      return Readable.from(
        (async function* () {
          for (let i = 0; i < CHUNKS; i++) {
            await sleep(1);
            yield line(await probe());
          }
        })(),
      );
    case 'readable-custom-read': {
      let i = 0;
      return new Readable({
        read() {
          if (i++ === CHUNKS) this.push(null);
          else
            probe().then(
              (v) => this.push(line(v)),
              (e: Error) => this.destroy(e),
            );
        },
      });
    }
    case 'transform-piped-from-source': {
      // Piped in the handler: past the high-water marks the source waits for the transform to
      // drain, which the consumer's read releases (`_read` calls the transform's callback).
      const t = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          probe().then(
            (v) => cb(null, `${v}:${chunk.toString()}\n`),
            (e: Error) => cb(e),
          );
        },
      });
      Readable.from(Array.from({ length: CHUNKS }, () => PAD)).pipe(t);
      return t;
    }
    case 'fs-read-stream': {
      const s = fs.createReadStream(file, { highWaterMark: 64 * 1024 });
      // A per-chunk listener (progress, a checksum); paused until the body is piped.
      s.on('data', () => void probe().catch(() => undefined));
      s.pause();
      return s;
    }
    case 'passthrough-fed-by-timer': {
      const pt = new PassThrough();
      const feed = (i: number): void => {
        if (i === CHUNKS) {
          pt.end();
          return;
        }
        probe().then(
          (v) => {
            pt.write(line(v));
            setTimeout(() => feed(i + 1), 2);
          },
          (e: Error) => pt.destroy(e),
        );
      };
      setTimeout(() => feed(0), 2);
      return pt;
    }
    case 'web-pull':
    case 'response-web-pull': {
      let i = 0;
      const s = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (i++ === CHUNKS) controller.close();
          else controller.enqueue(bytes(await probe()));
        },
      });
      return shape === 'web-pull'
        ? s
        : new Response(s, { headers: { 'content-type': 'text/plain' } });
    }
    case 'web-start-async-enqueue':
      return new ReadableStream<Uint8Array>({
        start(controller) {
          void (async () => {
            try {
              for (let i = 0; i < CHUNKS; i++) {
                await sleep(2);
                controller.enqueue(bytes(await probe()));
              }
              controller.close();
            } catch (e) {
              controller.error(e);
            }
          })();
        },
      });
    case 'hono-stream':
    case 'hono-stream-text':
    case 'hono-stream-sse':
    case 'string':
      throw new Error(`not a generic shape: ${shape}`);
  }
}

/**
 * The handler goes on after making the body (an audit write, a cache fill): what the body made
 * meanwhile waits in its buffers, so the consumer's reads drive the next chunks.
 */
const settle = () => sleep(5);

/** What a request asks for (headers): the row's shape and probe, and its id. */
function rowOf(headers: http.IncomingHttpHeaders): { rid: string; shape: Shape; probe: Probe } {
  return JSON.parse(String(headers['x-row'])) as { rid: string; shape: Shape; probe: Probe };
}

function options() {
  return { config: CONFIG, trust: 'open' as const, allowHosts: [`127.0.0.1:${recorder.port}`] };
}

const apps: Record<Fw, () => Promise<Running>> = {
  koa: async () => koaApp(false),
  koa2: async () => koaApp(true),
  hono: async () => honoApp(false),
  'hono+headers': async () => honoApp(true),
  express: async () => {
    const app = express();
    app.use(graylaneExpress(options()));
    app.get(/.*/, async (req, res) => {
      const { rid, shape, probe } = rowOf(req.headers);
      const body = makeBody(shape, probeFor(rid, probe));
      await settle();
      (body instanceof ReadableStream ? Readable.fromWeb(body as never) : (body as Readable))
        .on('error', () => res.destroy())
        .pipe(res);
    });
    return listen(http.createServer(app));
  },
  fastify: async () => {
    const app = Fastify();
    await app.register(graylaneFastify, options());
    app.get('/*', async (request, reply) => {
      const { rid, shape, probe } = rowOf(request.headers);
      const body = makeBody(shape, probeFor(rid, probe));
      await settle();
      return reply.send(body);
    });
    await app.ready();
    return listen(app.server);
  },
};

function honoApp(headers: boolean): Promise<Running> {
  const app = new Hono();
  app.use(graylaneHono(headers ? { ...options(), sticky: true, debugHeader: true } : options()));
  app.get('/*', async (c) => {
    const incoming = (c.env as { incoming: http.IncomingMessage }).incoming;
    const { rid, shape, probe: p } = rowOf(incoming.headers);
    const probe = probeFor(rid, p);
    switch (shape) {
      case 'web-pull':
      case 'web-start-async-enqueue': {
        const body = makeBody(shape, probe) as ReadableStream;
        await settle();
        return c.body(body);
      }
      case 'response-web-pull': {
        const body = makeBody(shape, probe) as Response;
        await settle();
        return body;
      }
      case 'hono-stream':
        return honoStream(c, async (s) => {
          for (let i = 0; i < CHUNKS; i++) await s.write(line(await probe()));
        });
      case 'hono-stream-text':
        return streamText(c, async (s) => {
          for (let i = 0; i < CHUNKS; i++) await s.write(line(await probe()));
        });
      case 'hono-stream-sse':
        return streamSSE(c, async (s) => {
          for (let i = 0; i < CHUNKS; i++) await s.writeSSE({ data: line(await probe()) });
        });
      case 'string':
        return c.text(line(await probe()));
      case 'readable-from-async-gen':
      case 'readable-custom-read':
      case 'transform-piped-from-source':
      case 'fs-read-stream':
      case 'passthrough-fed-by-timer':
        throw new Error(`not a hono shape: ${shape}`);
    }
  });
  return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
}

function koaApp(asKoa2: boolean): Promise<Running> {
  const app = new Koa();
  app.silent = true; // the old source's NO_CONTEXT rows: koa would log each stream error
  if (asKoa2)
    app.use(async (ctx, next) => {
      await next();
      // koa 2's respond(): `if (body instanceof Stream) return body.pipe(res)`, out of the chain.
      ctx.respond = false;
      (ctx.body as Readable).pipe(ctx.res);
    });
  app.use(graylaneKoa(options()));
  app.use(async (ctx) => {
    const { rid, shape, probe } = rowOf(ctx.req.headers);
    ctx.body = makeBody(shape, probeFor(rid, probe));
    await settle();
  });
  return listen(http.createServer(app.callback()));
}

const servers = new Map<Fw, Running>();
beforeAll(async () => {
  file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'graylane-body-')), 'body.txt');
  fs.writeFileSync(file, PAD.repeat(5)); // 200 KB: read in four 64 KiB chunks
  recorder = await listen(
    http.createServer((req, res) => {
      const v = req.headers['x-gray-id'];
      res.end(typeof v === 'string' ? v : 'none');
    }),
  );
  grayFetch = withGray(fetch);
  for (const fw of Object.keys(apps) as Fw[]) servers.set(fw, await apps[fw]());
});
afterAll(async () => {
  await Promise.all([...servers.values(), recorder].map((s) => s.close()));
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
});

let n = 0;
/** One request in `lane`; what the body's per-chunk code saw, and whether the body arrived. */
async function request(fw: Fw, shape: Shape, probe: Probe, lane: string) {
  const rid = `${fw}-${shape}-${probe}-${lane}-${++n}`;
  seen.set(rid, []);
  pending.set(rid, []);
  let body: string;
  let decision: string | null = null;
  try {
    const r = await fetch(`${(servers.get(fw) as Running).url}/s`, {
      headers: { 'x-gray-id': lane, 'x-row': JSON.stringify({ rid, shape, probe }) },
      signal: AbortSignal.timeout(5000),
    });
    decision = r.headers.get('x-gray-decision');
    body = await r.text();
  } catch (e) {
    body = `error: ${(e as Error).message}`;
  }
  // A 'data' listener's call may finish after the response: wait for every one.
  for (let i = 0; i < 50 && (pending.get(rid)?.length ?? 0) < CHUNKS; i++) await sleep(10);
  await Promise.all(pending.get(rid) ?? []);
  return {
    seen: seen.get(rid) ?? [],
    complete: !body.startsWith('error') && body.includes(PAD),
    decision,
  };
}

/** Two requests at once in two lanes: each one's chunks see its own lane, every chunk. */
async function row(fw: Fw, shape: Shape, probe: Probe) {
  const results = await Promise.all(LANES.map((lane) => request(fw, shape, probe, lane)));
  const chunks = shape === 'string' ? 1 : CHUNKS;
  LANES.forEach((lane, i) => {
    const r = results[i] as Awaited<ReturnType<typeof request>>;
    expect(r.seen.length, `${lane}: per-chunk reads (${r.seen.join(',')})`).toBeGreaterThanOrEqual(
      chunks,
    );
    expect(new Set(r.seen), `${lane}: every chunk's lane`).toEqual(new Set([lane]));
    expect(r.complete, `${lane}: the body arrived whole`).toBe(true);
    if (fw === 'hono+headers') expect(r.decision, `${lane}: graylane's header`).toContain(lane);
  });
}

const FRAMEWORKS: readonly Fw[] = ['koa', 'koa2', 'hono', 'hono+headers', 'express', 'fastify'];
const DEFECT_FWS = new Set<Fw>(['koa', 'koa2', 'hono', 'hono+headers']);
const PROBE_NAMES: Record<Probe, string> = {
  get: 'getGrayVersion()',
  try: 'tryGetGrayVersion()',
  fetch: 'withGray(fetch) carries X-Gray-Id',
};

describe('CTX-05 a streamed response body runs every chunk in its request lane, two lanes at once', () => {
  describe.each(FRAMEWORKS)('%s', (fw) => {
    const rows = SHAPES[fw].flatMap((shape) =>
      PROBES.map((probe) => {
        const control = !DEFECT_FWS.has(fw) || CONTROLS.has(shape);
        return [`${shape}${control ? ' (control)' : ''}`, PROBE_NAMES[probe], shape, probe];
      }),
    );
    it.each(rows)('%s: %s on every chunk', async (_name, _probe, shape, probe) => {
      await row(fw, shape as Shape, probe as Probe);
    });
  });
});

describe('CTX-05 bodies that are not streams are left as they are', () => {
  let koaServer: Running;
  let honoServer: Running;
  const kept: Record<string, unknown> = {};
  beforeAll(async () => {
    const k = new Koa();
    k.use(graylaneKoa(options()));
    k.use((ctx) => {
      const what = ctx.path.slice(1);
      if (what === 'json') {
        const body = { lane: tryGetGrayVersion() };
        kept.json = body;
        ctx.body = body;
      } else if (what === 'blob') {
        const blob = new Blob([`blob ${tryGetGrayVersion()}`], { type: 'text/plain' });
        kept.blob = blob;
        ctx.body = blob;
      } else if (what === 'buffer') {
        const buf = Buffer.from(`buffer ${tryGetGrayVersion()}`);
        kept.buffer = buf;
        ctx.body = buf;
      } else ctx.body = `string ${tryGetGrayVersion()}`;
    });
    koaServer = await listen(http.createServer(k.callback()));
    const h = new Hono();
    // Outside graylane: sees the response @hono/node-server is handed.
    h.use(async (c, next) => {
      await next();
      const res = c.res as unknown as Record<symbol, unknown>;
      kept.light = Object.getOwnPropertySymbols(res).some((s) => Array.isArray(res[s]));
    });
    h.use(graylaneHono(options()));
    h.get('/*', (c) => c.text(`string ${tryGetGrayVersion()}`));
    honoServer = await listen(createAdaptorServer({ fetch: h.fetch }) as http.Server);
  });
  afterAll(async () => {
    await Promise.all([koaServer.close(), honoServer.close()]);
  });
  const get = async (s: Running, p: string) => {
    const r = await fetch(`${s.url}${p}`, {
      headers: { 'x-gray-id': 'beta' },
      signal: AbortSignal.timeout(5000),
    });
    return { text: await r.text(), length: r.headers.get('content-length') };
  };

  it.each(['json', 'blob', 'buffer', 'string'])(
    'CTX-05 koa: a %s body is sent as koa sends it, with its length, and gets no property (control)',
    async (what) => {
      const r = await get(koaServer, `/${what}`);
      const expected = what === 'json' ? JSON.stringify({ lane: 'beta' }) : `${what} beta`;
      expect(r.text).toBe(expected);
      expect(r.length).toBe(String(Buffer.byteLength(expected)));
      const body = kept[what];
      if (body !== undefined) {
        const marks = Object.getOwnPropertySymbols(body).filter((k) =>
          String(k.description).startsWith('@graylane'),
        );
        expect(marks).toEqual([]);
        for (const m of ['read', 'pipe', 'getReader', 'stream'])
          expect(Object.prototype.hasOwnProperty.call(body, m), m).toBe(false);
      }
    },
  );

  it('CTX-05 hono: a string body keeps @hono/node-server lightweight response (control)', async () => {
    const r = await get(honoServer, '/');
    expect(r.text).toBe('string beta');
    expect(kept.light).toBe(true);
  });
});
