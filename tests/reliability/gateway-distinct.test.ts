import http, { type IncomingMessage } from 'node:http';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { createGraylane, type GraylaneOptions } from '@graylane/node';
import { graylaneExpress } from '@graylane/node/express';
import { graylaneKoa } from '@graylane/node/koa';
import { graylaneFastify } from '@graylane/node/fastify';
import { closeAll, listen, rawGet, type Listening } from './helpers.js';

/**
 * GW-02 (RELIABILITY §10) in `req.headersDistinct`: Node's getter (20, 22, 24) walks `rawHeaders`
 * up to the count it parsed, so after graylane removed a marker line it threw, and a value read
 * before graylane (a logger) kept the client's marker. After graylane, it must hold exactly what
 * the edited request holds, whoever read it first, on every framework.
 */
const KEY = 'a-gateway-signing-key-of-32-bytes!';
const CONFIG = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
type Options = Omit<GraylaneOptions, 'config' | 'attributes' | 'subject' | 'onDecision'>;
afterAll(closeAll);

/** What the app reads: `headersDistinct` (or the error it threw) and `rawHeaders`. */
const view = (req: IncomingMessage) => {
  let distinct: unknown;
  try {
    distinct = { ...req.headersDistinct };
  } catch (e) {
    distinct = String(e);
  }
  return { distinct, raw: req.rawHeaders };
};
const early = (req: IncomingMessage, read: boolean) => {
  if (read) void req.headersDistinct;
};

const apps: Record<string, (o: Options, read: boolean) => Promise<Listening>> = {
  'node:http': (o, read) => {
    const gray = createGraylane({ config: CONFIG, ...o });
    return listen(
      http.createServer((req, res) => {
        early(req, read);
        gray.handle(req, res, () => res.end(JSON.stringify(view(req))));
      }),
    );
  },
  express: (o, read) => {
    const app = express();
    app.use((req, _res, next) => (early(req, read), next()));
    app.use(graylaneExpress({ config: CONFIG, ...o }));
    app.use((req, res) => res.json(view(req)));
    return listen(http.createServer(app));
  },
  koa: (o, read) => {
    const app = new Koa();
    app.use((ctx, next) => (early(ctx.req, read), next()));
    app.use(graylaneKoa({ config: CONFIG, ...o }));
    app.use((ctx) => void (ctx.body = view(ctx.req)));
    return listen(http.createServer(app.callback()));
  },
  fastify: async (o, read) => {
    const app = Fastify();
    app.addHook('onRequest', async (request) => early(request.raw, read));
    await app.register(graylaneFastify, { config: CONFIG, ...o });
    app.get('/*', async (request) => view(request.raw));
    await app.ready();
    return listen(app.server);
  },
};

const REQUESTS: [string, string[]][] = [
  ['every carrier', ['X-Gray-Id: beta', 'baggage: k=v,gray=beta', 'Cookie: a=1; gray=beta']],
  ['two Cookie lines', ['Cookie: gray=beta', 'Cookie: a=1', 'X-Gray-Id: beta']],
  ['marker lines first and last', ['X-Gray-Id: beta', 'Accept: */*', 'baggage: gray=beta']],
  ['two X-Gray-Id lines', ['X-Gray-Id: beta', 'X-Gray-Id: canary', 'Cookie: a=1']],
];

const SETTINGS: [string, Options][] = [
  ['edge', { trust: 'edge' }],
  ['signed', { trust: 'signed', keys: { k1: KEY } }],
];
const ROWS = Object.keys(apps).flatMap((a) =>
  SETTINGS.flatMap(([s, o]) => [true, false].map((read) => [a, s, o, read] as const)),
);

describe('GW-02 headersDistinct after graylane edited the request', () => {
  it.each(ROWS)('GW-02 %s, %s, read before graylane: %s', async (app, _s, o, read) => {
    const s = await (apps[app] as (o: Options, r: boolean) => Promise<Listening>)(o, read);
    for (const [name, lines] of REQUESTS) {
      const seen = JSON.parse(await rawGet(s.port, lines)) as {
        distinct: Record<string, string[]> | string;
        raw: string[];
      };
      expect(typeof seen.distinct, `${name}: ${String(seen.distinct)}`).toBe('object');
      const d = seen.distinct as Record<string, string[]>;
      expect(d['x-gray-id'], name).toBeUndefined();
      expect(d['baggage'] ?? [], name).not.toContainEqual(expect.stringMatching(/gray=/));
      for (const c of d['cookie'] ?? []) expect(c, name).not.toMatch(/gray=/);
      // The same as rawHeaders, line for line.
      const fromRaw: Record<string, string[]> = {};
      for (let i = 0; i < seen.raw.length; i += 2)
        (fromRaw[(seen.raw[i] as string).toLowerCase()] ??= []).push(seen.raw[i + 1] as string);
      expect(d, name).toEqual(fromRaw);
      if (lines.some((l) => l.includes('a=1'))) expect(d['cookie'], name).toEqual(['a=1']);
    }
  });
});
