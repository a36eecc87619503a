// Lane policies (issue 19): a service declares the versions it implements once (defineLanes) and
// what happens to the others — fallback, strict (GrayLaneUnavailableError → 503) or a function.
// Every framework adapter with a real server on loopback; the outcome is visible in the
// response, tryGetGrayLane(), the fallbacks counter and the debug header.
import http from 'node:http';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createGraylane,
  grayBranch,
  grayHandlers,
  outboundStats,
  runWithGray,
  tryGetGrayLane,
} from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';
import { graylaneKoa } from '../src/adapters/koa.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { graylaneHono } from '../src/adapters/hono.js';
import { defineLanes, type LanePolicy, type LaneTable } from '../src/context/lanes.js';
import { GrayLaneUnavailableError } from '../src/context/unavailable.js';
import { CONFIG, closeAll, listen, type Running } from './helpers.js';

afterAll(closeAll);

const options = { config: CONFIG, debugHeader: true };
const body = (served: string) => ({ served, lane: tryGetGrayLane() ?? null });

/** Each app serves GET / through grayHandlers({ stable, beta }, { lanes }). */
const apps: Record<string, (lanes: LaneTable) => Promise<Running>> = {
  'node:http': async (lanes) => {
    const gray = createGraylane(options);
    const h = (served: string) => (_req: http.IncomingMessage, res: http.ServerResponse) =>
      res.end(JSON.stringify(body(served)));
    const route = grayHandlers({ stable: h('stable'), beta: h('beta') }, { lanes });
    return listen(http.createServer((req, res) => gray.handle(req, res, () => route(req, res))));
  },
  express: async (lanes) => {
    const app = express();
    app.use(graylaneExpress(options));
    const h = (served: string) => (_req: express.Request, res: express.Response) =>
      res.json(body(served));
    app.get('/', grayHandlers({ stable: h('stable'), beta: h('beta') }, { lanes }));
    return listen(http.createServer(app));
  },
  koa: async (lanes) => {
    const app = new Koa();
    app.use(graylaneKoa(options));
    const h = (served: string) => (ctx: Koa.Context) => {
      ctx.body = body(served);
    };
    app.use(grayHandlers({ stable: h('stable'), beta: h('beta') }, { lanes }));
    return listen(http.createServer(app.callback()));
  },
  fastify: async (lanes) => {
    const app = Fastify();
    await app.register(graylaneFastify, options);
    const h = (served: string) => async () => body(served);
    app.get('/', grayHandlers({ stable: h('stable'), beta: h('beta') }, { lanes }));
    await app.ready();
    return listen(app.server);
  },
  hono: async (lanes) => {
    const app = new Hono();
    app.use(graylaneHono(options));
    const h = (served: string) => (c: { json: (v: unknown) => Response }) => c.json(body(served));
    app.get('/', grayHandlers({ stable: h('stable'), beta: h('beta') }, { lanes }));
    return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
  },
};

type Expect = { status: 200; served: string } | { status: 503 };
const policies: { name: string; policy: LanePolicy; canary: Expect }[] = [
  { name: 'fallback', policy: 'fallback', canary: { status: 200, served: 'stable' } },
  { name: 'strict', policy: 'strict', canary: { status: 503 } },
  {
    name: 'fn→beta',
    policy: (v) => (v === 'canary' ? 'beta' : undefined),
    canary: { status: 200, served: 'beta' },
  },
  { name: 'fn→undefined', policy: () => undefined, canary: { status: 503 } },
  {
    name: 'fn throws',
    policy: () => {
      throw new Error('x');
    },
    canary: { status: 200, served: 'stable' },
  },
  { name: 'fn→not implemented', policy: () => 'canary', canary: { status: 200, served: 'stable' } },
];

const fallbacks = (wanted: string, served: string) =>
  outboundStats().fallbacks.find((f) => f.wanted === wanted && f.served === served)?.count ?? 0;

describe.each(Object.keys(apps))('lane policies on %s', (name) => {
  const start = apps[name] as (lanes: LaneTable) => Promise<Running>;
  it.each(policies)(
    'LANE $name: own lanes served as is, canary as the policy says',
    async ({ policy, canary }) => {
      const lanes = defineLanes({ implements: ['stable', 'beta'], policy });
      const s = await start(lanes);
      for (const v of ['stable', 'beta']) {
        const res = await fetch(s.url, { headers: { 'x-gray-id': v } });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ served: v, lane: v });
        expect(res.headers.get('x-gray-decision')).not.toContain('lane=');
      }
      const before = canary.status === 200 ? fallbacks('canary', canary.served) : 0;
      const res = await fetch(s.url, { headers: { 'x-gray-id': 'canary' } });
      expect(res.status).toBe(canary.status);
      if (canary.status === 200) {
        expect(await res.json()).toEqual({ served: canary.served, lane: canary.served });
        expect(fallbacks('canary', canary.served)).toBe(before + 1);
        // hono answers with its own Response headers: see the lane in tryGetGrayLane and metrics.
        if (name !== 'hono')
          expect(res.headers.get('x-gray-decision')).toMatch(
            new RegExp(`; lane=${canary.served}$`),
          );
      } else {
        await res.arrayBuffer();
      }
    },
  );
});

describe('lane tables', () => {
  it('LANE defineLanes refuses bad tables at construction', () => {
    expect(() => defineLanes({ implements: [] })).toThrow(/implements/);
    expect(() => defineLanes({ implements: ['Stable!'] })).toThrow(/implements/);
    expect(() => defineLanes({ implements: ['stable'], fallback: 'beta' })).toThrow(/fallback/);
    expect(() => defineLanes({ implements: ['stable'], policy: 'loose' as 'strict' })).toThrow(
      /policy/,
    );
    expect(defineLanes({ implements: ['stable', 'beta'] })).toMatchObject({
      fallback: 'stable',
      policy: 'fallback',
    });
  });

  it('LANE grayBranch follows the table: strict throws the typed error', () => {
    const strict = defineLanes({ implements: ['stable', 'beta'], policy: 'strict' });
    const branches = { stable: () => 'S', beta: () => 'B' };
    expect(runWithGray('beta', () => grayBranch(branches, { lanes: strict }))).toBe('B');
    let caught: unknown;
    try {
      runWithGray('canary', () => grayBranch(branches, { lanes: strict }));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(GrayLaneUnavailableError);
    expect(caught).toMatchObject({ version: 'canary', status: 503, code: 'LANE_UNAVAILABLE' });
    const loose = defineLanes({ implements: ['stable', 'beta'] });
    expect(
      runWithGray('canary', () => [grayBranch(branches, { lanes: loose }), tryGetGrayLane()]),
    ).toEqual(['S', 'stable']);
    // Outside any request, the fallback serves (nothing to refuse).
    expect(grayBranch(branches, { lanes: strict })).toBe('S');
  });
});

describe('lane outcome on the span (real OTel SDK)', () => {
  it('LANE a fallback sets graylane.lane and graylane.lane.fallback on the active span', async () => {
    const { context, trace } = await import('@opentelemetry/api');
    const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
    const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } =
      await import('@opentelemetry/sdk-trace-base');
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    try {
      const tracer = trace.getTracer('lane-test');
      const lanes = defineLanes({ implements: ['stable', 'beta'] });
      const branches = { stable: () => 'S', beta: () => 'B' };
      for (const v of ['beta', 'canary']) {
        tracer.startActiveSpan(`req-${v}`, (span) => {
          runWithGray(v, () => grayBranch(branches, { lanes }));
          span.end();
        });
      }
      const spans = exporter.getFinishedSpans();
      expect(spans.find((s) => s.name === 'req-beta')?.attributes).not.toHaveProperty(
        'graylane.lane.fallback',
      );
      expect(spans.find((s) => s.name === 'req-canary')?.attributes).toMatchObject({
        'graylane.lane': 'stable',
        'graylane.lane.fallback': true,
      });
    } finally {
      trace.disable();
      context.disable();
      await provider.shutdown();
    }
  });
});
