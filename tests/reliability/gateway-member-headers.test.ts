import http, { type IncomingMessage } from 'node:http';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer, getRequestListener } from '@hono/node-server';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion, type GraylaneOptions } from '@graylane/node';
import { graylaneExpress } from '@graylane/node/express';
import { graylaneKoa } from '@graylane/node/koa';
import { graylaneFastify } from '@graylane/node/fastify';
import { graylaneHono } from '@graylane/node/hono';
import { createGraylane as createWebGraylane } from '@graylane/web';
import { closeAll, listen, rawGet, type Listening } from './helpers.js';

/**
 * GW-02 (RELIABILITY §10) for the `gray` member other OpenTelemetry propagators carry in headers
 * of their own: Jaeger's `uberctx-gray` and OT's `ot-baggage-gray`. graylane never decides from
 * them, but a service behind the app whose propagator reads them would, so what the app and any
 * proxy see must not carry a version the decision did not make: kept only where a client's bare
 * label is honoured (open, or edge from a trusted peer) and exactly the decided version; removed
 * otherwise — edge mode's untrusted peer, signed mode, another value, several lines, an encoded
 * or decorated value, the baggage carrier switched off. Never added. Every adapter, the Web
 * entry, and a gateway that forwards with http-proxy-middleware or `forwardRequest`.
 */
const KEY = 'a-gateway-signing-key-of-32-bytes!';
const CONFIG = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
type Options = Omit<GraylaneOptions, 'config' | 'attributes' | 'subject' | 'onDecision'>;

/** The member headers of both keys these rows use, as the app reads them. */
const NAMES = ['uberctx-gray', 'ot-baggage-gray', 'uberctx-lane', 'ot-baggage-lane'] as const;
interface Seen {
  version: string | undefined;
  headers: Record<string, string | null>;
  /** Lower-cased `rawHeaders` names (Node apps). */
  raw?: string[];
  /** `headersDistinct` (Node apps). */
  distinct?: Record<string, string[]>;
}
const fromNode = (req: IncomingMessage): Seen => ({
  version: getGrayVersion(),
  headers: Object.fromEntries(NAMES.map((n) => [n, (req.headers[n] as string) ?? null])),
  raw: req.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase()),
  distinct: { ...req.headersDistinct } as Record<string, string[]>,
});

const apps: Record<string, (o: Options) => Promise<Listening>> = {
  'node:http': (o) => {
    const gray = createGraylane({ config: CONFIG, ...o });
    return listen(
      http.createServer((req, res) =>
        gray.handle(req, res, () => res.end(JSON.stringify(fromNode(req)))),
      ),
    );
  },
  express: (o) => {
    const app = express();
    app.use(graylaneExpress({ config: CONFIG, ...o }));
    app.use((req, res) => res.json(fromNode(req)));
    return listen(http.createServer(app));
  },
  koa: (o) => {
    const app = new Koa();
    app.use(graylaneKoa({ config: CONFIG, ...o }));
    app.use((ctx) => void (ctx.body = fromNode(ctx.req)));
    return listen(http.createServer(app.callback()));
  },
  fastify: async (o) => {
    const app = Fastify();
    await app.register(graylaneFastify, { config: CONFIG, ...o });
    app.get('/*', async (request) => fromNode(request.raw));
    await app.ready();
    return listen(app.server);
  },
  'hono (@hono/node-server)': (o) => {
    const app = new Hono();
    app.use(graylaneHono({ config: CONFIG, ...o }));
    app.get('/*', (c) =>
      c.json({
        version: getGrayVersion(),
        headers: Object.fromEntries(NAMES.map((n) => [n, c.req.header(n) ?? null])),
      } satisfies Seen),
    );
    return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
  },
  '@graylane/web handle': (o) => {
    const gray = createWebGraylane({
      config: CONFIG,
      ...(o as object),
      // The Web API has no socket: this gateway's peer is loopback.
      remoteAddress: () => '127.0.0.1',
    });
    const listener = getRequestListener((request: Request) =>
      gray.handle(request, (seen, outcome) =>
        Response.json({
          version: outcome.decision.version,
          headers: Object.fromEntries(NAMES.map((n) => [n, seen.headers.get(n)])),
        } satisfies Seen),
      ),
    );
    return listen(http.createServer(listener));
  },
};

interface Setting {
  readonly options: Options;
  /** A client's bare label decides (open, or edge from a peer in `trustedProxies`). */
  readonly honour: boolean;
  /** The baggage key graylane reads, `false` when off. */
  readonly key: string | false;
}
const SETTINGS: Record<string, Setting> = {
  open: { options: { trust: 'open' }, honour: true, key: 'gray' },
  'edge, untrusted peer': { options: { trust: 'edge' }, honour: false, key: 'gray' },
  'edge, trusted peer': {
    options: { trust: 'edge', trustedProxies: ['127.0.0.1', '::1'] },
    honour: true,
    key: 'gray',
  },
  signed: { options: { trust: 'signed', keys: { k1: KEY } }, honour: false, key: 'gray' },
  'baggage key lane': {
    options: { trust: 'open', markers: { baggage: 'lane' } },
    honour: true,
    key: 'lane',
  },
  'baggage off': {
    options: { trust: 'open', markers: { baggage: false } },
    honour: true,
    key: false,
  },
};

/** [name, request lines] */
const CASES: [string, string[]][] = [
  ['uberctx says the header marker', ['X-Gray-Id: beta', 'uberctx-gray: beta']],
  ['uberctx says another version', ['X-Gray-Id: beta', 'uberctx-gray: canary']],
  ['ot-baggage says the header marker', ['X-Gray-Id: beta', 'ot-baggage-gray: beta']],
  ['ot-baggage alone', ['ot-baggage-gray: canary']],
  ['uberctx alone says the default', ['uberctx-gray: stable']],
  ['uberctx alone, not a version', ['uberctx-gray: evil']],
  [
    'names in mixed case, baggage decides',
    ['Uberctx-Gray: beta', 'OT-Baggage-Gray: canary', 'baggage: gray=beta'],
  ],
  ['two uberctx lines', ['X-Gray-Id: beta', 'uberctx-gray: beta', 'uberctx-gray: beta']],
  ['percent-encoded value', ['X-Gray-Id: beta', 'uberctx-gray: b%65ta']],
  ['empty value', ['X-Gray-Id: beta', 'uberctx-gray:']],
  ['value with a property', ['X-Gray-Id: beta', 'ot-baggage-gray: beta;ttl=1']],
  [
    'both, one says the version',
    ['X-Gray-Id: beta', 'uberctx-gray: beta', 'ot-baggage-gray: canary'],
  ],
  ['the other key', ['X-Gray-Id: canary', 'uberctx-lane: beta', 'ot-baggage-lane: canary']],
  ['control: no member header', ['X-Gray-Id: beta', 'X-Other: 1']],
];

/** The value of `name` over the request lines, as Node joins repeated unknown headers. */
function sent(lines: readonly string[], name: string): string[] {
  return lines
    .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])
    .filter(([n]) => n === name)
    .map(([, v]) => v as string);
}

/** The oracle: the decided version, and each member header as the app must see it. */
function expected(setting: Setting, lines: readonly string[]) {
  const header = sent(lines, 'x-gray-id')[0];
  const bag = sent(lines, 'baggage')[0];
  const version =
    setting.honour && header !== undefined
      ? header
      : setting.honour && setting.key === 'gray' && bag === 'gray=beta'
        ? 'beta'
        : 'stable';
  const judged = new Set([
    `uberctx-${setting.key || 'gray'}`,
    `ot-baggage-${setting.key || 'gray'}`,
  ]);
  const headers: Record<string, string | null> = {};
  for (const name of NAMES) {
    const values = sent(lines, name);
    const joined = values.length === 0 ? null : values.join(', ');
    const keep =
      !judged.has(name) ||
      (setting.honour &&
        setting.options.trust !== 'signed' &&
        setting.key !== false &&
        values.length === 1 &&
        values[0] === version);
    headers[name] = keep ? joined : null;
  }
  return { version, headers };
}

afterAll(closeAll);
const servers = new Map<string, Promise<Listening>>();
const server = (app: string, setting: string) => {
  const id = `${app}|${setting}`;
  if (!servers.has(id))
    servers.set(id, (apps[app] as (o: Options) => Promise<Listening>)(SETTINGS[setting]!.options));
  return servers.get(id) as Promise<Listening>;
};

const ROWS = Object.keys(apps).flatMap((app) =>
  Object.keys(SETTINGS).flatMap((setting) =>
    CASES.map(([name, lines]) => [app, setting, name, lines] as const),
  ),
);

describe('GW-02 Jaeger and OT member headers on the request the app sees', () => {
  it.each(ROWS)('GW-02 %s, %s: %s', async (app, setting, _name, lines) => {
    const s = await server(app, setting);
    const body = await rawGet(s.port, lines);
    const seen = JSON.parse(body) as Seen;
    const want = expected(SETTINGS[setting]!, lines);
    expect(seen.version).toBe(want.version);
    expect(seen.headers).toEqual(want.headers);
    for (const name of NAMES) {
      const kept = want.headers[name] !== null;
      if (seen.raw !== undefined) expect(seen.raw.includes(name), `rawHeaders ${name}`).toBe(kept);
      if (seen.distinct !== undefined)
        expect(seen.distinct[name] !== undefined, `headersDistinct ${name}`).toBe(kept);
    }
  });
});

describe('GW-02 a gateway forwards no member header the decision did not make', () => {
  let upstream: Listening;
  beforeAll(async () => {
    upstream = await listen(http.createServer((req, res) => res.end(JSON.stringify(req.headers))));
  });

  const FORWARDED: [string, string[], Record<string, string | undefined>][] = [
    [
      'untrusted client, both headers',
      ['X-Gray-Id: beta', 'uberctx-gray: beta', 'ot-baggage-gray: canary'],
      { 'uberctx-gray': undefined, 'ot-baggage-gray': undefined, 'x-gray-id': undefined },
    ],
    [
      'untrusted client, mixed case',
      ['UBERCTX-GRAY: canary', 'Ot-Baggage-Gray: beta'],
      { 'uberctx-gray': undefined, 'ot-baggage-gray': undefined },
    ],
    ['control: other headers', ['X-Other: 1'], { 'x-other': '1' }],
  ];

  it.each(FORWARDED)('GW-02 edge, http-proxy-middleware: %s', async (_n, lines, want) => {
    const app = express();
    app.use(graylaneExpress({ config: CONFIG, trust: 'edge' }));
    app.use(createProxyMiddleware<IncomingMessage, http.ServerResponse>({ target: upstream.url }));
    const gw = await listen(http.createServer(app));
    const got = JSON.parse(await rawGet(gw.port, lines)) as Record<string, string>;
    for (const [name, value] of Object.entries(want)) expect(got[name], name).toBe(value);
  });

  /**
   * [trusted peer, baggage carrier, request headers]: `forwardRequest` and `stripCarriers` send no
   * member header on, whatever the client sent and whatever was decided (the decided version
   * travels in `baggage` and the marker header); never added.
   */
  const WEB: [boolean, 'gray' | false, [string, string][]][] = [true, false].flatMap((trusted) =>
    (['gray', false] as const).flatMap((key) =>
      (
        [
          [
            ['x-gray-id', 'beta'],
            ['uberctx-gray', 'beta'],
            ['ot-baggage-gray', 'canary'],
          ],
          [['ot-baggage-gray', 'beta']],
          [['Uberctx-Gray', 'evil, beta']],
          [
            ['x-gray-id', 'beta'],
            ['uberctx-gray', 'beta'],
          ],
          [['x-gray-id', 'beta']],
        ] as [string, string][][]
      ).map((headers) => [trusted, key, headers] as [boolean, 'gray' | false, [string, string][]]),
    ),
  );
  it.each(WEB)(
    'GW-02 @graylane/web forwardRequest and stripCarriers, trusted peer %s, baggage %s: %j',
    async (trusted, key, headers) => {
      const gray = createWebGraylane({
        config: CONFIG,
        trust: 'edge',
        remoteAddress: () => '203.0.113.9',
        ...(trusted ? { trustedProxies: ['203.0.113.9'] } : {}),
        ...(key === false ? { markers: { baggage: false } } : {}),
      });
      const request = new Request('https://app.example/p', { headers });
      const outcome = await gray.decide(request);
      const marker = headers.find(([n]) => n === 'x-gray-id')?.[1];
      const version = trusted && marker !== undefined ? marker : 'stable';
      expect(outcome.decision.version).toBe(version);
      const forwarded = gray.forwardRequest(request, outcome, `${upstream.url}/p`);
      const stripped = gray.stripCarriers(request);
      for (const name of ['uberctx-gray', 'ot-baggage-gray']) {
        expect(forwarded.headers.get(name), `forwarded ${name}`).toBeNull();
        expect(stripped.headers.get(name), `stripped ${name}`).toBeNull();
      }
      expect(forwarded.headers.get('x-gray-id')).toBe(version);
    },
  );
});
