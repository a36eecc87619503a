import { createHmac } from 'node:crypto';
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import express5 from 'express';
import express4 from 'express4';
import cookieParser from 'cookie-parser';
import Fastify from 'fastify';
import fastifyCookie from '@fastify/cookie';
import { createGraylane, getGrayDecision, signMarker, type GraylaneOptions } from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { closeAll, listen, type Running } from './helpers.js';

/**
 * GW-02 for what a framework parsed before graylane ran: cookie-parser's `req.cookies` and
 * `req.signedCookies` (mounted before graylane, as most express apps do), `@fastify/cookie`'s
 * `request.cookies` (an `onRequest` hook registered first), express 4's `req.query` (parsed by
 * express itself before any middleware). A marker graylane removed from the header or the URL is
 * gone from those objects too; one it rewrote (a signed token to the label) reads as the label;
 * every other cookie and parameter is as the parser made it.
 */
afterAll(closeAll);

const KEY = 'a-signing-key-of-32-bytes-long!!';
const SECRET = 'cookie-parser-secret';
const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
const MODES: Record<string, Partial<GraylaneOptions>> = {
  open: {},
  signed: { trust: 'signed', keys: { k1: KEY }, markers: { query: 'gray' } },
  edge: { trust: 'edge' },
};
type Mode = keyof typeof MODES;

interface Parsed {
  version: string | undefined;
  cookies: Record<string, unknown> | null;
  signedCookies: Record<string, unknown> | null;
  query: Record<string, unknown> | null;
}
const own = (o: unknown) =>
  typeof o === 'object' && o !== null ? { ...(o as Record<string, unknown>) } : null;

/** Options every adapter takes alike: nothing that is called with the framework's request. */
type Options = Omit<GraylaneOptions, 'attributes' | 'subject' | 'onDecision'>;
type App = (options: Options) => Promise<Running>;
const expressApp =
  (make: typeof express5 | typeof express4, parser: boolean): App =>
  async (options) => {
    const app = make();
    if (parser) app.use(cookieParser(SECRET));
    app.use(graylaneExpress(options));
    app.use((request, res) => {
      const req = request as unknown as Record<string, unknown>;
      const body: Parsed = {
        version: getGrayDecision()?.version,
        cookies: own(req.cookies),
        signedCookies: own(req.signedCookies),
        query: own(req.query),
      };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    });
    return listen(http.createServer(app));
  };
const APPS: Record<string, App> = {
  'express 5 + cookie-parser': expressApp(express5, true),
  'express 4 + cookie-parser': expressApp(express4, true),
  'express 4 (query only)': expressApp(express4, false),
  'fastify + @fastify/cookie': async (options) => {
    const app = Fastify();
    await app.register(fastifyCookie, { secret: SECRET });
    await app.register(graylaneFastify, options);
    app.get('/*', async (request) => ({
      version: getGrayDecision()?.version,
      cookies: own(request.cookies),
      signedCookies: null,
      query: own(request.query),
    }));
    await app.ready();
    return listen(app.server);
  },
  // node:http with cookie-parser run by hand before graylane (connect-style apps).
  'node:http + cookie-parser': async (options) => {
    const gray = createGraylane(options);
    const parse = cookieParser(SECRET);
    return listen(
      http.createServer((req, res) =>
        parse(req as never, res as never, () =>
          gray.handle(req, res, () => {
            const r = req as unknown as Record<string, unknown>;
            res.end(
              JSON.stringify({
                version: getGrayDecision()?.version,
                cookies: own(r.cookies),
                signedCookies: own(r.signedCookies),
                query: null,
              } satisfies Parsed),
            );
          }),
        ),
      ),
    );
  },
};

const token = (v: string) => signMarker(v, { key: KEY, kid: 'k1', ttlSeconds: 600 });
/** cookie-parser's signed form of `value`: `s:` + value + `.` + base64 HMAC-SHA256, unpadded. */
const parserSigned = (value: string) =>
  `s:${value}.${createHmac('sha256', SECRET).update(value).digest('base64').replace(/=+$/, '')}`;

/** [case, mode, cookie header, query, expected cookies subset, expected query subset] */
type Row = [
  string,
  Mode,
  () => Promise<string>,
  string,
  Record<string, unknown>,
  Record<string, unknown>,
];
const ROWS: Row[] = [
  ['edge: the cookie marker', 'edge', async () => 'gray=beta; sid=1', '', { sid: '1' }, {}],
  [
    'edge: both cookie names, an escaped neighbour',
    'edge',
    async () => '__Host-gray=beta; sid=a%20b; gray=canary',
    '',
    { sid: 'a b' },
    {},
  ],
  [
    'edge: a repeated marker',
    'edge',
    async () => 'gray=beta; x=1; gray=canary',
    '',
    { x: '1' },
    {},
  ],
  ['edge: the marker alone', 'edge', async () => 'gray=beta', '', {}, {}],
  [
    'edge: the query marker',
    'edge',
    async () => 'sid=1',
    '?gray=beta&x=1',
    { sid: '1' },
    { x: '1' },
  ],
  [
    'edge: query and cookie markers',
    'edge',
    async () => 'gray=beta; sid=1',
    '?x=1&gray=canary',
    { sid: '1' },
    { x: '1' },
  ],
  [
    'signed: a bare label is removed',
    'signed',
    async () => 'gray=beta; sid=1',
    '?gray=canary&x=2',
    { sid: '1' },
    { x: '2' },
  ],
  [
    'signed: a token cookie reads as its label',
    'signed',
    async () => `gray=${await token('beta')}; sid=1`,
    '',
    { sid: '1', gray: 'beta' },
    {},
  ],
  [
    'signed: a token in the query reads as its label',
    'signed',
    async () => 'sid=1',
    `?x=3&gray=${encodeURIComponent(await token('canary'))}`,
    { sid: '1' },
    { x: '3', gray: 'canary' },
  ],
  [
    'open: an unknown version is removed',
    'open',
    async () => 'gray=gone; sid=1',
    '?gray=gone&x=1',
    { sid: '1' },
    { x: '1' },
  ],
  // Controls: what graylane keeps is as the parser made it.
  [
    'open: a valid marker stays',
    'open',
    async () => 'gray=beta; sid=1',
    '?x=1',
    { sid: '1', gray: 'beta' },
    { x: '1' },
  ],
  [
    'edge: no marker at all',
    'edge',
    async () => 'sid=1; t=%22q%22',
    '?x=1',
    { sid: '1', t: '"q"' },
    { x: '1' },
  ],
];

const decided: Record<string, string> = {
  'edge: no marker at all': 'stable',
  'open: a valid marker stays': 'beta',
  'signed: a token cookie reads as its label': 'beta',
  'signed: a token in the query reads as its label': 'canary',
};

const running = new Map<string, Promise<Running>>();
const app = (name: string, mode: Mode) => {
  const key = `${name}/${mode}`;
  let r = running.get(key);
  if (r === undefined) running.set(key, (r = (APPS[name] as App)({ config, ...MODES[mode] })));
  return r;
};

describe('GW-02 cookies and queries a framework parsed before graylane ran', () => {
  const rows = Object.keys(APPS).flatMap((name) => ROWS.map((row) => [name, ...row] as const));
  it.each(rows)(
    'GW-02 %s, %s',
    async (name, label, mode, cookie, query, cookies, expectedQuery) => {
      const { url } = await app(name, mode);
      const res = await fetch(`${url}/p${query}`, { headers: { cookie: await cookie() } });
      const got = (await res.json()) as Parsed;
      expect(got.version).toBe(decided[label] ?? 'stable');
      if (got.cookies !== null) expect(got.cookies).toEqual(cookies);
      if (got.query !== null) expect(got.query).toEqual(expectedQuery);
      if (got.signedCookies !== null) expect(got.signedCookies).toEqual({});
    },
  );

  // cookie-parser's signed cookies: a marker the client signed with the app's cookie secret is
  // still the client's marker.
  it.each(['express 5 + cookie-parser', 'express 4 + cookie-parser', 'node:http + cookie-parser'])(
    'GW-02 %s, edge: a cookie-parser-signed marker is gone from req.signedCookies',
    async (name) => {
      const { url } = await app(name, 'edge');
      const signed = encodeURIComponent(parserSigned('beta'));
      const res = await fetch(`${url}/p`, {
        headers: { cookie: `gray=${signed}; keep=${signed}` },
      });
      const got = (await res.json()) as Parsed;
      expect(got.version).toBe('stable');
      expect(got.signedCookies).toEqual({ keep: 'beta' });
      expect(got.cookies).toEqual({});
    },
  );
});
