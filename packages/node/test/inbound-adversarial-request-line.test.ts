import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import http2 from 'node:http2';
import express from 'express';
import Koa from 'koa';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import { createGraylane, getGrayDecision, type GraylaneOptions } from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';
import { graylaneKoa } from '../src/adapters/koa.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { graylaneHono } from '../src/adapters/hono.js';
import { closeAll, h2Json, listen, rawBody, rawRequest, type Running } from './helpers.js';

/**
 * The request line as the rules read it must be the one every router serves the request on, in
 * every adapter (no RELIABILITY row names this yet; proposed: REQ-01 absolute-form target,
 * REQ-02 HTTP/2 `:authority`, REQ-03 equivalent spellings of a path). A `path` or `host` rule that reads something no router reads is
 * skipped for requests the router serves on that path or host: a pin (`/checkout` → stable)
 * falls through to a weighted split, a host-scoped lane never matches over h2.
 */
const config = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    { id: 'admin', version: 'canary', match: { path: { prefix: '/admin' } } },
    { id: 'root', version: 'beta', match: { path: { equals: '/' } } },
    { id: 'app-host', version: 'beta', match: { host: { equals: 'app.example' } } },
    { id: 'v6-host', version: 'canary', match: { host: { equals: '[::1]' } } },
  ],
};
const options = { config } satisfies GraylaneOptions;

interface Seen {
  version: string;
  reason: string;
  ruleId?: string | undefined;
  /** The path the framework itself routes on (where it exposes one). */
  path?: string | undefined;
  /** The host the framework itself reads (its `hostname`), where it names one. */
  host?: string | undefined;
}
const seen = (path?: string, host?: string): Seen => {
  const d = getGrayDecision();
  return {
    version: d?.version ?? 'none',
    reason: d?.reason ?? 'none',
    ruleId: d?.ruleId,
    path,
    host,
  };
};

type App = (h2: boolean) => Promise<Running>;
const h1Apps: Record<string, App> = {
  'node:http': async () => {
    const gray = createGraylane(options);
    return listen(
      http.createServer((req, res) =>
        gray.handle(req, res, () =>
          res.end(JSON.stringify(seen(undefined, hostOf(req.headers.host)))),
        ),
      ),
    );
  },
  express: async () => {
    const app = express();
    app.use(graylaneExpress(options));
    app.use((req, res) => {
      res.json(seen(req.path, req.hostname));
    });
    return listen(http.createServer(app));
  },
  koa: async (h2) => {
    const app = new Koa();
    app.use(graylaneKoa(options));
    app.use((ctx) => {
      ctx.body = seen(ctx.path, ctx.hostname);
    });
    return listen(
      h2 ? (http2.createServer(app.callback()) as never) : http.createServer(app.callback()),
    );
  },
  fastify: async (h2) => {
    // One type for both: the h2 instance differs only in its raw request and reply types.
    const app = (h2 ? Fastify({ http2: true }) : Fastify()) as unknown as FastifyInstance;
    await app.register(graylaneFastify, options);
    app.all('/*', async (req) =>
      seen(req.routeOptions.url === '/*' ? undefined : req.routeOptions.url, req.hostname),
    );
    await app.ready();
    return listen(app.server as never);
  },
  hono: async (h2) => {
    const app = new Hono();
    app.use(graylaneHono(options));
    app.all('*', (c) => c.json(seen(c.req.path, new URL(c.req.url).hostname)));
    return listen(
      createAdaptorServer({
        fetch: app.fetch,
        ...(h2 ? { createServer: http2.createServer } : {}),
      }) as http.Server,
    );
  },
};
const h2Apps: Record<string, App> = {
  'node:http': async () => {
    const gray = createGraylane(options);
    return listen(
      http2.createServer((req, res) =>
        gray.handle(req as never, res as never, () => res.end(JSON.stringify(seen()))),
      ) as never,
    );
  },
  // express 5 replaces the request's prototype with one built on http.IncomingMessage: it does
  // not serve node:http2's compat requests, so it has no h2 row.
  koa: h1Apps['koa'] as App,
  fastify: h1Apps['fastify'] as App,
  hono: h1Apps['hono'] as App,
};

/** A `Host` header's hostname, as a URL reads it (node:http has no framework to ask). */
function hostOf(host: string | undefined): string | undefined {
  try {
    return new URL(`http://${host ?? ''}`).hostname;
  } catch {
    return undefined;
  }
}

const h1: Record<string, Running> = {};
const h2: Record<string, Running> = {};
beforeAll(async () => {
  await Promise.all([
    ...Object.entries(h1Apps).map(async ([k, f]) => (h1[k] = await f(false))),
    ...Object.entries(h2Apps).map(async ([k, f]) => (h2[k] = await f(true))),
  ]);
});
afterAll(closeAll);

const get = async (port: number, target: string): Promise<Seen> =>
  rawBody(
    await rawRequest(
      port,
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    ),
  ) as Seen;

/**
 * [absolute-form target, its origin form, the rule it must match]. Every router serves the
 * absolute form on the origin form's path (RFC 9112 §3.2.2: `http://h/admin` is `/admin`);
 * the scheme and authority are not part of the path, whatever they say.
 */
const ABSOLUTE: [target: string, origin: string, rule: string][] = [
  ['http://127.0.0.1/admin', '/admin', 'admin'],
  ['http://evil.example/admin', '/admin', 'admin'],
  ['https://127.0.0.1/admin', '/admin', 'admin'],
  ['http://127.0.0.1:8080/admin', '/admin', 'admin'],
  ['http://user@127.0.0.1/admin/users', '/admin/users', 'admin'],
  ['http://127.0.0.1/admin?x=1', '/admin?x=1', 'admin'],
  ['http://127.0.0.1/administrator?gray=x', '/administrator?gray=x', 'admin'],
  ['http://[::1]:80/admin', '/admin', 'admin'],
  ['http://127.0.0.1/', '/', 'root'],
  ['http://127.0.0.1/?x=1', '/?x=1', 'root'],
];

describe('REQ-01 an absolute-form request target is decided on its path, in every adapter', () => {
  for (const name of Object.keys(h1Apps))
    it.each(ABSOLUTE)(
      `REQ-01 ${name}: GET %s decides as GET %s (rule %s)`,
      async (target, origin, rule) => {
        const server = h1[name] as Running;
        const [abs, plain] = await Promise.all([
          get(server.port, target),
          get(server.port, origin),
        ]);
        expect(plain.ruleId).toBe(rule);
        expect({ ...abs, path: undefined, host: undefined }).toEqual({
          ...plain,
          path: undefined,
          host: undefined,
        });
        // The premise: the framework routes the absolute form on the same path.
        expect(abs.path).toBe(plain.path);
      },
    );
});

/**
 * [absolute-form target, `Host`]. The host rules must read the host the framework reads: express,
 * koa and fastify (and plain node:http, by `Host`) read `Host`; `@hono/node-server` builds the URL
 * hono routes on from an `http://`/`https://` target's own authority. A host-scoped rule read from
 * the other would be skipped for requests the app serves as that host. Where the framework serves
 * nothing (400), there is nothing to agree with.
 */
const ABSOLUTE_HOSTS: [target: string, host: string][] = [
  ['http://app.example/p', 'other.example'],
  ['http://other.example/p', 'app.example'],
  ['http://app.example:8080/p', '127.0.0.1'],
  ['https://APP.Example/p', '127.0.0.1'],
  ['http://user:pw@app.example/p?x=1', 'x.example'],
  ['http://app%2eexample/p', 'other.example'],
  ['http://app.example./p', 'other.example'],
  ['http://[::1]/p', 'app.example'],
  ['http://[0:0::1]:80/p', 'app.example'],
  ['http://app.example/p', 'app.example'],
  ['http://other.example/p', '[::1]'],
  ['HTTP://app.example/p', 'other.example'],
  ['http://app.example:80/p', 'other.example'],
];
const HOST_RULES: Record<string, string> = { 'app.example': 'app-host', '[::1]': 'v6-host' };

describe('REQ-01 the host of an absolute-form request is read where the framework reads it', () => {
  for (const name of Object.keys(h1Apps))
    it.each(ABSOLUTE_HOSTS)(`REQ-01 ${name}: GET %s with Host %s`, async (target, host) => {
      const raw = await rawRequest(
        (h1[name] as Running).port,
        `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      );
      if (!raw.startsWith('HTTP/1.1 200')) {
        // Only hono refuses some of these (its node-server: "Invalid host header"/URL); the
        // others serve every row.
        expect([name, raw.slice(0, 12)]).toEqual(['hono', 'HTTP/1.1 400']);
        return;
      }
      const got = rawBody(raw) as Seen;
      expect(got.host).toBeTypeOf('string');
      // The premise: the framework reads the host named here (hono: the target's authority).
      const fromTarget = name === 'hono';
      const expected = fromTarget ? new URL(target).hostname : hostOf(host);
      expect(got.host).toBe(expected);
      const rule = HOST_RULES[got.host as string];
      expect(got.ruleId).toBe(rule);
    });
});

/**
 * Spellings of `/admin` some router serves on `/admin` (REQ-03): hono decodes unreserved
 * escapes, and the WHATWG URL it routes on removes dot segments and reads `\` as `/`. The rules
 * match each as `/admin` in every adapter, whatever that adapter's own router makes of it; the
 * premise is checked where the router names its path (hono; `null`: `@hono/node-server` answers
 * 400 and serves nothing).
 */
const SPELLINGS: [target: string, honoPath: string | null][] = [
  ['/%61dmin', '/admin'],
  ['/%61%64%6D%69%6E/users', '/admin/users'],
  ['/./admin', '/admin'],
  ['/x/../admin', '/admin'],
  ['/%2e%2e/admin', '/admin'],
  ['/x/%2E./admin?x=1', '/admin'],
  ['/x\\..\\admin', null],
  ['http://127.0.0.1/x/../%61dmin', '/admin'],
];

describe('REQ-03 every spelling of a path a router serves as that path matches its rules', () => {
  for (const name of Object.keys(h1Apps))
    it.each(SPELLINGS)(`REQ-03 ${name}: GET %s decides as GET /admin`, async (target, honoPath) => {
      const port = (h1[name] as Running).port;
      if (name === 'hono' && honoPath === null) {
        const raw = await rawRequest(
          port,
          `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
        );
        expect(raw.slice(0, 12)).toBe('HTTP/1.1 400');
        return;
      }
      const got = await get(port, target);
      expect(got).toMatchObject({ version: 'canary', reason: 'rule', ruleId: 'admin' });
      if (name === 'hono') expect(got.path).toBe(honoPath);
    });
});

/** [`:authority`, the rule it must match]; `Host` absent, as h2 clients send it. */
const AUTHORITY: [authority: string, rule: string, version: string][] = [
  ['app.example', 'app-host', 'beta'],
  ['app.example:8443', 'app-host', 'beta'],
  ['app.example:443', 'app-host', 'beta'],
  ['[::1]', 'v6-host', 'canary'],
  ['[::1]:8443', 'v6-host', 'canary'],
];

const h2Get = (port: number, headers: http2.OutgoingHttpHeaders) => h2Json<Seen>(port, headers);

describe('REQ-02 HTTP/2: a host rule reads :authority, in every adapter that serves h2', () => {
  for (const name of Object.keys(h2Apps))
    it.each(AUTHORITY)(
      `REQ-02 ${name}: :authority %s matches rule %s`,
      async (authority, rule, version) => {
        const got = await h2Get((h2[name] as Running).port, { ':authority': authority });
        expect(got).toMatchObject({ version, reason: 'rule', ruleId: rule });
      },
    );
});
