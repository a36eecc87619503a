import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { Hono } from 'hono';
import { getRequestListener } from '@hono/node-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tryGetGrayVersion } from '../src/index.js';
import { graylaneHono } from '../src/adapters/hono.js';

/*
 * OTB-02 and CTX-05 on hono (@hono/node-server), in process, with what OpenTelemetry's http
 * instrumentation does on the `request` event: `context.bind(extracted, req)` / `(…, res)` with
 * the real context manager (own-property listener methods on both). A listener the app adds to
 * `c.env.incoming` / `c.env.outgoing` must run in graylane's lane and in the OTel context the
 * handler runs in (the decided `gray` member, none with `markers.baggage: false`), not in the one
 * the client sent. Before, hono bound no emitters: the response's listeners saw no lane and the
 * client's member.
 */

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CBaggagePropagator());
});
afterAll(() => {
  context.disable();
  propagation.disable();
});

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  );
});

const member = (key: string): string | undefined =>
  propagation.getBaggage(context.active())?.getEntry(key)?.value;
const seenHere = (): string =>
  `${tryGetGrayVersion()} gray=${member('gray')} tenant=${member('tenant')}`;

const config = { versions: ['stable', 'beta'], default: 'stable', rules: [] };
const CLIENT = { 'x-gray-id': 'beta', baggage: 'gray=beta,tenant=t1' };
/** Open honours the header; the client's baggage member says otherwise. */
const OPEN_CLIENT = { 'x-gray-id': 'beta', baggage: 'gray=stable,tenant=t1' };
const MODES = [
  ['edge', { trust: 'edge' as const }, CLIENT, 'stable gray=stable tenant=t1'],
  ['open', {}, OPEN_CLIENT, 'beta gray=beta tenant=t1'],
  [
    'markers.baggage: false',
    { markers: { baggage: false } },
    CLIENT,
    'beta gray=undefined tenant=t1',
  ],
] as const;
const KINDS = ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener'] as const;
type Kind = (typeof KINDS)[number];
type Env = { Bindings: { incoming: http.IncomingMessage; outgoing: http.ServerResponse } };
type Target = Record<Kind, (e: string, l: () => void) => void>;

/** hono under @hono/node-server, each request's emitters bound to the client's context first. */
async function serve(app: Hono<Env>): Promise<number> {
  const hono = getRequestListener(app.fetch);
  const server = http.createServer((req, res) => {
    const ctx = propagation.extract(ROOT_CONTEXT, req.headers);
    context.with(ctx, () => {
      context.bind(context.active(), req);
      context.bind(context.active(), res);
      void hono(req, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function post(port: number, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/', headers },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end('body');
  });
}

describe('OTB-02/CTX-05 hono: c.env listeners under a context.bind of the request (in process)', () => {
  describe.each(MODES)('%s', (_name, mode, client, want) => {
    it.each(
      KINDS.flatMap((k) =>
        (['in the handler', 'before graylane'] as const).map((w) => [k, w] as const),
      ),
    )("outgoing 'finish' / 'close' and incoming 'end' with %s, added %s", async (kind, where) => {
      const seen: Record<string, string> = {};
      let done: () => void = () => undefined;
      const all = new Promise<void>((r) => (done = r));
      const add = (c: { env: Env['Bindings'] }) => {
        const note = (k: string) => () => {
          seen[k] = seenHere();
          if (Object.keys(seen).length === 3) done();
        };
        (c.env.outgoing as unknown as Target)[kind]('finish', note('finish'));
        (c.env.outgoing as unknown as Target)[kind]('close', note('close'));
        (c.env.incoming as unknown as Target)[kind]('end', note('end'));
      };
      const app = new Hono<Env>();
      if (where === 'before graylane')
        app.use(async (c, next) => {
          add(c);
          await next();
        });
      app.use(graylaneHono({ config, ...mode }));
      app.post('/', async (c) => {
        if (where === 'in the handler') add(c);
        await c.req.text();
        return c.text(seenHere());
      });
      const port = await serve(app);
      expect(await post(port, client), 'the handler').toBe(want);
      await all;
      // Listeners added before graylane were wrapped by OTel's method first: they see the
      // lane, and OTel's baggage as the client sent it (docs/node.md §6, as on express).
      const expected =
        where === 'in the handler'
          ? want
          : `${want.split(' ')[0]} gray=${client.baggage.split(/[=,]/)[1]} tenant=t1`;
      expect(seen).toEqual({ finish: expected, close: expected, end: expected });
    });
  });
});
