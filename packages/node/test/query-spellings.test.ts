import http from 'node:http';
import { createRequire } from 'node:module';
import querystring from 'node:querystring';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express5 from 'express';
import express4 from 'express4';
import Koa from 'koa';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { getQueryParams } from 'hono/utils/url';
import { createAdaptorServer } from '@hono/node-server';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { removeQueryParam } from '@graylane/core';
import { createGraylane, getGrayVersion, type GraylaneOptions } from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';
import { graylaneKoa } from '../src/adapters/koa.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { graylaneHono } from '../src/adapters/hono.js';
import { closeAll, listen, rawRequest, type Running } from './helpers.js';

/**
 * GW-01/02 (QS-06 class) with the real parsers and frameworks. Where graylane removes the
 * client's query marker (edge mode's untrusted peer, signed mode's bare label, an overridden or
 * rejected one), it removed `gray` and `%67ray` only: `?GRAY=beta`, `?Gray=beta`, `?%47RAY=beta`
 * reached the next hop, which reads it as the marker when it compares keys without case (nginx's
 * `$arg_gray`, ASP.NET, a lower-casing plugin), and `?gray[]=beta` / `?[gray]=beta` reached one
 * whose qs files them under `gray` (express 4's `req.query.gray` is `['beta']` / `'beta'`).
 *
 * The oracle is the parsers themselves: qs as express 4 uses it (and with `allowDots`),
 * node:querystring (koa, express 5), URLSearchParams, fast-querystring (fastify), hono's, and
 * models of PHP's `$_GET` and Rack 2 (review 147 D1: `+gray`, `gray%00x`, `]gray`); a key
 * is a spelling when one of them yields a key equal to `gray` under JS's `toLowerCase`,
 * `toUpperCase` or Java's `equalsIgnoreCase`. Rows named `(control)` held before.
 */
afterAll(closeAll);

const require = createRequire(import.meta.url);
type Parse = (s: string) => string[];
const qs = createRequire(require.resolve('express4'))('qs') as {
  parse(s: string, o?: object): Record<string, unknown>;
};
const fastQs = createRequire(require.resolve('fastify'))('fast-querystring') as {
  parse(s: string): Record<string, unknown>;
};
/** `+` as a space and every escape decoded, as Ruby's and PHP's form decoders read a key. */
const formKeys = (s: string): string[] =>
  s.split('&').flatMap((part) => {
    const raw = part.includes('=') ? part.slice(0, part.indexOf('=')) : part;
    try {
      return [decodeURIComponent(raw.replace(/\+/g, ' '))];
    } catch {
      return [];
    }
  });
/**
 * PHP's `$_GET` / `parse_str` (`php_register_variable_ex`): a NUL ends the key, leading spaces
 * go, an array's name ends at a `[` a `]` follows, ` ` and `.` read as `_`. A model, checked
 * against php-cli over thousands of keys in core's `php-spellings.test.ts`.
 */
const phpKey = (k: string): string[] => {
  const s = k.split('\0')[0]!.replace(/^ +/, '');
  const open = s.indexOf('[');
  if (open === 0) return [];
  const root =
    open !== -1 && s.includes(']', open + 1)
      ? s.slice(0, open).replace(/[ .]/g, '_')
      : s.replace(/[ .[]/g, '_');
  return root === '' ? [] : [root];
};
/** Rack 2's `normalize_params` root (rack 2.2 `lib/rack/query_parser.rb`). */
const rack2Key = (k: string): string[] => {
  const m = /^[[\]]*([^[\]]+)\]*/.exec(k);
  if (m === null) return [];
  return [k.slice(m[0].length) === '[' ? k : (m[1] as string)];
};
const PARSERS: Record<string, Parse> = {
  'qs (express 4)': (s) => Object.keys(qs.parse(s, { allowPrototypes: true })),
  'qs allowDots': (s) => Object.keys(qs.parse(s, { allowDots: true })),
  'node:querystring': (s) => Object.keys(querystring.parse(s)),
  URLSearchParams: (s) => [...new URLSearchParams(s).keys()],
  'fast-querystring (fastify)': (s) => Object.keys(fastQs.parse(s)),
  hono: (s) => Object.keys(getQueryParams(`http://h/?${s}`) ?? {}),
  'PHP $_GET (model)': (s) => formKeys(s).flatMap(phpKey),
  'Rack 2 (model)': (s) => formKeys(s).flatMap(rack2Key),
};
const one = (c: string): string | undefined => (c.length === 1 ? c : undefined);
/** Java's `String.equalsIgnoreCase`: char by char, equal, or equal upper-cased, or lower-cased. */
const javaEquals = (a: string, b: string): boolean =>
  a.length === b.length &&
  [...a].every((c, i) => {
    const d = b[i] as string;
    const up = one(c.toUpperCase());
    // Java's Character.toLowerCase is the simple mapping: İ is i there (JS's full one gives i̇).
    const low = c === '\u0130' ? 'i' : one(c.toLowerCase());
    return (
      c === d ||
      (up !== undefined && up === one(d.toUpperCase())) ||
      (low !== undefined && low === one(d.toLowerCase()))
    );
  });
const readsAs = (key: string, name: string): boolean =>
  key.toLowerCase() === name.toLowerCase() ||
  key.toUpperCase() === name.toUpperCase() ||
  javaEquals(key, name);
const decodable = (key: string): boolean => {
  try {
    decodeURIComponent(key);
    return true;
  } catch {
    return false;
  }
};
/** The parsers that find `name` (in any case) in the query string `search`. */
const readers = (search: string, name = 'gray'): string[] =>
  Object.entries(PARSERS)
    .filter(([, parse]) => parse(search).some((k) => readsAs(k, name)))
    .map(([n]) => n);

describe('GW-02 removeQueryParam removes exactly the keys some parser reads as the name', () => {
  const PIECES = ['g', 'G', 'r', 'R', 'a', 'Y', '%67', '%47', '%52', 'gray', 'GRAY'];
  const SHAPES = [
    '[',
    ']',
    '.',
    '%5B',
    '%5D',
    '+',
    '%00',
    '%ZZ',
    'x',
    '%C5%BF',
    '%E2%84%AA',
    '%20',
  ];
  const keys = new Set<string>();
  const grow = (prefix: string, depth: number): void => {
    if (prefix !== '') keys.add(prefix);
    if (depth === 0) return;
    for (const p of [...PIECES, ...SHAPES]) grow(prefix + p, depth - 1);
  };
  grow('', 3);
  for (const a of ['gray', 'GRAY', 'Gr%41y', '%67ray'])
    for (const b of SHAPES) for (const c of [...SHAPES, 'x', '0']) keys.add(a + b + c);

  it.each([
    ['gray', [...keys]],
    ['kiss', ['KISS', 'ki%C3%9F', '%E2%84%AAiss', 'ki%C5%BFs', 'k%C4%B1ss', 'k%C4%B0ss', 'kis']],
  ] as const)(
    `GW-02 name %s: every key a parser reads is removed; nothing else but junk a parser cannot decode`,
    (name, corpus) => {
      const under: string[] = [];
      const over: string[] = [];
      for (const key of corpus) {
        const url = `/p?a=1&${key}=v&b=2`;
        const removed = removeQueryParam(url, name) !== url;
        const read = readers(`${key}=v`, name).length > 0;
        if (read && !removed) under.push(key);
        if (removed) expect(removeQueryParam(url, name), key).toBe('/p?a=1&b=2');
        // qs decodes a key whole or not at all: `%67ray[]%ZZ` stays `%67ray[]%ZZ` there. Such a
        // key is removed (its root spells the name escape by escape): never an app's parameter.
        if (!read && removed && decodable(key)) over.push(key);
      }
      expect(under).toEqual([]);
      expect(over).toEqual([]);
      expect(corpus.length).toBeGreaterThan(name === 'gray' ? 3000 : 5);
    },
  );
});

const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
const KEY = 'a-signing-key-of-32-bytes-long!!';
type Options = Omit<GraylaneOptions, 'attributes' | 'subject' | 'onDecision'>;
const MODES: Record<string, Options> = {
  edge: { config, trust: 'edge' },
  'signed (query on)': { config, trust: 'signed', keys: { k1: KEY }, markers: { query: 'gray' } },
  open: { config },
};

/** The next hop: echoes the request target it received. */
let hop: Running;
/** What an app answers: the version, the target the next hop saw, the query keys it parsed. */
interface Seen {
  version: string | undefined;
  hop: string;
  parsed: string[];
}
const forward = (url: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: hop.port, path: url }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('latin1')));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
const answer = async (url: string, parsed: unknown): Promise<string> =>
  JSON.stringify({
    version: getGrayVersion(),
    hop: await forward(url),
    parsed: Object.keys((parsed ?? {}) as object),
  } satisfies Seen);

type App = (o: Options) => Promise<Running>;
const APPS: Record<string, App> = {
  'node:http': async (o) => {
    const gray = createGraylane(o);
    return listen(
      http.createServer((req, res) =>
        gray.handle(req, res, () => void answer(req.url ?? '', {}).then((b) => res.end(b))),
      ),
    );
  },
  'express 5': async (o) => {
    const app = express5();
    app.use(graylaneExpress(o));
    app.use((req, res) => void answer(req.originalUrl, req.query).then((b) => res.end(b)));
    return listen(http.createServer(app));
  },
  'express 4 (qs)': async (o) => {
    const app = express4();
    app.use(graylaneExpress(o));
    app.use((req, res) => void answer(req.originalUrl, req.query).then((b) => res.end(b)));
    return listen(http.createServer(app));
  },
  'express 4 (qs allowDots)': async (o) => {
    const app = express4();
    app.set('query parser', (s: string) => qs.parse(s, { allowDots: true }));
    app.use(graylaneExpress(o));
    app.use((req, res) => void answer(req.url, req.query).then((b) => res.end(b)));
    return listen(http.createServer(app));
  },
  'express 5 + http-proxy-middleware': async (o) => {
    const app = express5();
    app.use(graylaneExpress(o));
    app.use(createProxyMiddleware({ target: hop.url, selfHandleResponse: false }));
    return listen(http.createServer(app));
  },
  koa: async (o) => {
    const app = new Koa();
    app.use(graylaneKoa(o));
    app.use(async (ctx) => {
      ctx.body = await answer(ctx.url, ctx.query);
    });
    return listen(http.createServer(app.callback()));
  },
  fastify: async (o) => {
    const app = Fastify();
    await app.register(graylaneFastify, o);
    app.get('/*', async (request, reply) => {
      void reply.type('text/plain');
      return answer(request.url, request.query);
    });
    await app.ready();
    return listen(app.server);
  },
  'hono (@hono/node-server)': async (o) => {
    const app = new Hono();
    app.use(graylaneHono(o));
    app.get('/*', async (c) => {
      const u = new URL(c.req.url);
      return c.text(await answer(u.pathname + u.search, c.req.queries()));
    });
    return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
  },
};

const started = new Map<string, Running>();
beforeAll(async () => {
  hop = await listen(http.createServer((req, res) => res.end(req.url)));
  await Promise.all(
    Object.entries(MODES).flatMap(([m, o]) =>
      Object.entries(APPS).map(async ([a, make]) => started.set(`${a}|${m}`, await make(o))),
    ),
  );
});

async function ask(app: string, mode: string, target: string, headers: string[] = []) {
  const running = started.get(`${app}|${mode}`) as Running;
  const raw = await rawRequest(
    running.port,
    `GET ${target} HTTP/1.1\r\nHost: a\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`,
  );
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  if (app.includes('proxy')) return { version: undefined, hop: body, parsed: [] } as Seen;
  return JSON.parse(body) as Seen;
}
const searchOf = (target: string) => target.slice(target.indexOf('?') + 1);

const SPELLINGS = ['GRAY', 'Gray', '%47RAY', 'gRaY', 'gray[]', 'GRAY[]', '[gray]', '%5BGray%5D'];
const DOTS = ['gray.0', '.gray'];
const PHP_RACK = ['+gray', '%20gray', 'gray%00x', ']gray', 'gray]'];
const CONTROLS = ['grayx', 'gray+', '%09gray', '%00gray', '%EF%BD%87ray', 'a[gray]'];

describe('GW-02 the next hop and the app never see a spelling of the client marker', () => {
  const rows = Object.keys(APPS).flatMap((app) =>
    ['edge', 'signed (query on)'].flatMap((mode) =>
      [...SPELLINGS, ...DOTS, ...PHP_RACK].map((k) => [app, mode, k] as const),
    ),
  );
  it.each(rows)('GW-02 %s, %s: the key %s next to others', async (app, mode, key) => {
    const target = `/p?a=%41&${key}=beta&b=2`;
    // The premise: some parser reads the key as the marker.
    expect(readers(searchOf(target)).length).toBeGreaterThan(0);
    const seen = await ask(app, mode, target);
    expect(seen.hop).toBe('/p?a=%41&b=2');
    expect(readers(searchOf(seen.hop))).toEqual([]);
    expect(seen.parsed.filter((k) => readsAs(k, 'gray'))).toEqual([]);
    if (seen.version !== undefined) expect(seen.version).toBe('stable');
  });

  it.each(Object.keys(APPS).map((app) => [app] as const))(
    'GW-02 %s, open: a header decides; GRAY=canary and [gray]=beta (overridden) go',
    async (app) => {
      const seen = await ask(app, 'open', '/p?GRAY=canary&x=1&[gray]=beta', ['X-Gray-Id: beta']);
      expect(seen.hop).toBe('/p?x=1');
      if (seen.version !== undefined) expect(seen.version).toBe('beta');
    },
  );

  it.each(Object.keys(APPS).map((app) => [app] as const))(
    'GW-02 %s, edge: `;` spellings go from the path and the query',
    async (app) => {
      const seen = await ask(app, 'edge', '/p;GRAY=beta;a=1?b=2;Gray=beta');
      expect(seen.hop).toBe('/p;;a=1?b=2;');
    },
  );

  const controls = Object.keys(APPS).flatMap((app) => CONTROLS.map((k) => [app, k] as const));
  it.each(controls)(
    '(control) %s, edge: %s is no spelling and reaches the hop as sent',
    async (app, key) => {
      const target = `/p?a=1&${key}=beta`;
      expect(readers(searchOf(target))).toEqual([]);
      expect((await ask(app, 'edge', target)).hop).toBe(target);
    },
  );
});
