import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, installGlobal, runWithGray } from '../../src/index.js';
import {
  carried,
  hop,
  makeClients,
  NOTHING,
  others,
  redirect,
  startServers,
  target,
  type Client,
  type Harness,
} from './member-off-harness.js';
import { closeLocal } from './servers.js';

/*
 * OTB-02, I8, OUT-03 without OpenTelemetry: a lane whose middleware has `markers: { baggage:
 * false }` carries no `gray` member, and a `gray` member the app wrote (in `baggage`, with an
 * escaped key, or in Jaeger's `uberctx-gray` / OT's `ot-baggage-gray`) is removed under that
 * default name on every hop, allowlisted or not: a later hop with default settings must not
 * honour what this lane ignored. On the old code such a lane touched no member on any hop, so
 * the app's `gray=beta` went as written, to hosts outside the allowlist too (I8).
 * `installGlobal({ allowHosts })` runs over every client API the outbound layer covers.
 */

let h: Harness;
let uninstall: () => void;
let clients: Client[] = [];
let seq = 0;

/** The middleware with the member switched off; each request runs the job its path names. */
const jobs = new Map<string, () => Promise<void>>();
let mw = '';
let mwServer: http.Server;

beforeAll(async () => {
  h = await startServers();
  uninstall = installGlobal({ allowHosts: h.allow });
  clients = makeClients();
  const gray = createGraylane({
    config: { versions: ['stable', 'beta'], default: 'stable', rules: [] },
    markers: { baggage: false },
    allowHosts: h.allow,
  });
  mwServer = http.createServer((req, res) =>
    gray.handle(req, res, async () => {
      const job = jobs.get(req.url?.slice(1) ?? '');
      try {
        await job?.();
        res.end('ok');
      } catch (e) {
        res.statusCode = 500;
        res.end(String(e));
      }
    }),
  );
  await new Promise<void>((resolve) => mwServer.listen(0, '127.0.0.1', resolve));
  mw = `http://127.0.0.1:${(mwServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  uninstall();
  await closeLocal(mwServer);
  await h.close();
});

const off = <T>(fn: () => Promise<T>): Promise<T> =>
  runWithGray('beta', fn, { allowHosts: h.allow, baggageKey: false });
const on = <T>(fn: () => Promise<T>): Promise<T> =>
  runWithGray('beta', fn, { allowHosts: h.allow });

/** Runs `fn` in the middleware's lane (`baggage: false`, decided `stable`), via a real request. */
async function inMiddleware(fn: () => Promise<void>): Promise<void> {
  const id = `job${++seq}`;
  jobs.set(id, fn);
  const res = await fetch(`${mw}/${id}`, { headers: { 'x-gray-id': 'stable' } });
  expect(await res.text()).toBe('ok');
}

/** What the app writes: a `gray` member in every form a reader takes for it, beside `a=1`. */
const WRITTEN: [string, Record<string, string>][] = [
  ['baggage gray=beta', { baggage: 'gray=beta,a=1' }],
  ['baggage %67ray=beta', { baggage: '%67ray=beta,a=1' }],
  ['baggage gr%61y = beta ;p=1', { baggage: 'a=1, gr%61y = beta ;p=1' }],
  ['baggage gray=beta;ttl=10', { baggage: 'gray=beta;ttl=10,a=1' }],
  ['uberctx-gray: beta', { 'uberctx-gray': 'beta', baggage: 'a=1' }],
  ['OT-Baggage-Gray: beta', { 'OT-Baggage-Gray': 'beta', baggage: 'a=1' }],
];

// `it.each` needs the rows when the file is collected: the clients are made in beforeAll, so
// rows name clients by index.
const CLIENT_NAMES = [
  'http.get',
  'http.request',
  'https.get',
  'https.request',
  'fetch',
  'undici.request',
  'undici.request, own Agent',
  'undici.request, Agent.compose(grayInterceptor())',
  'undici.fetch',
  'axios (http adapter)',
  'axios (fetch adapter)',
  'withGray(fetch)',
  'attachGray(axios http)',
  'attachGray(axios fetch)',
];
const FOLLOWERS = [
  'fetch',
  'undici.fetch',
  'axios (http adapter)',
  'axios (fetch adapter)',
  'withGray(fetch)',
  'attachGray(axios http)',
  'attachGray(axios fetch)',
];
const client = (name: string): Client => {
  const c = clients.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no client ${name}`);
  return c;
};

describe('OTB-02 I8 markers.baggage: false, no OpenTelemetry: the app’s gray member', () => {
  const each = WRITTEN.flatMap(([what, headers]) =>
    CLIENT_NAMES.map((name) => [`${what}, ${name}`, headers, name] as const),
  );

  it.each(each)(
    'OTB-02 an allowlisted host gets the marker and no gray member in any form: %s',
    async (_n, headers, name) => {
      const c = client(name);
      const id = `a${++seq}`;
      await off(() => c.send(`${h.origin[target(c, 'a')]}/echo/${id}`, headers));
      const got = hop(h, id, target(c, 'a'));
      expect(carried(got)).toEqual({ ...NOTHING, ids: ['beta'] });
      expect(others(got)).toEqual(['a=1']);
    },
  );

  it.each(each)(
    'I8 OTB-02 a host that is not allowlisted gets neither the marker nor a gray member: %s',
    async (_n, headers, name) => {
      const c = client(name);
      const id = `b${++seq}`;
      await off(() => c.send(`${h.origin[target(c, 'b')]}/echo/${id}`, headers));
      const got = hop(h, id, target(c, 'b'));
      expect(carried(got)).toEqual(NOTHING);
      expect(others(got)).toEqual(['a=1']);
    },
  );

  it.each(CLIENT_NAMES.map((n) => [n] as const))(
    'OUT-03 OTB-02 the caller’s marker stays on an allowlisted host, the gray member beside it goes: %s',
    async (name) => {
      const c = client(name);
      const id = `c${++seq}`;
      const headers = { 'X-Gray-Id': 'stable', baggage: 'gray=beta,a=1', 'uberctx-gray': 'beta' };
      await off(() => c.send(`${h.origin[target(c, 'a')]}/echo/${id}`, headers));
      const got = hop(h, id, target(c, 'a'));
      expect(carried(got)).toEqual({ ...NOTHING, ids: ['stable'] });
      expect(others(got)).toEqual(['a=1']);
      // Outside the allowlist: neither (I8).
      const out = `c${++seq}`;
      await off(() => c.send(`${h.origin[target(c, 'b')]}/echo/${out}`, headers));
      expect(carried(hop(h, out, target(c, 'b')))).toEqual(NOTHING);
    },
  );

  it.each(FOLLOWERS.map((n) => [n] as const))(
    'RDR-01 OTB-02 a redirect from the allowlisted host to one that is not: no gray member on either hop: %s',
    async (name) => {
      const c = client(name);
      const id = `r${++seq}`;
      await off(() => c.send(redirect(h, id, h.origin.b), { baggage: 'gray=beta,a=1' }));
      expect(carried(hop(h, id, 'a'))).toEqual({ ...NOTHING, ids: ['beta'] });
      expect(carried(hop(h, id, 'b'))).toEqual(NOTHING);
      expect(others(hop(h, id, 'b'))).toEqual(['a=1']);
    },
  );

  it.each(CLIENT_NAMES.map((n) => [n] as const))(
    'OTB-02 in the handler of a middleware with markers.baggage: false: %s',
    async (name) => {
      const c = client(name);
      const id = `m${++seq}`;
      const out = `m${++seq}`;
      await inMiddleware(async () => {
        await c.send(`${h.origin[target(c, 'a')]}/echo/${id}`, { baggage: 'gray=beta,a=1' });
        await c.send(`${h.origin[target(c, 'b')]}/echo/${out}`, { baggage: 'gray=beta,a=1' });
      });
      expect(carried(hop(h, id, target(c, 'a')))).toEqual({ ...NOTHING, ids: ['stable'] });
      expect(others(hop(h, id, target(c, 'a')))).toEqual(['a=1']);
      expect(carried(hop(h, out, target(c, 'b')))).toEqual(NOTHING);
    },
  );
});

describe('controls: a lane that carries the member', () => {
  it.each(CLIENT_NAMES.map((n) => [n] as const))(
    'OUT-01 an allowlisted host gets the decided member once, the app’s other member kept (attachGray under installGlobal included): %s',
    async (name) => {
      const c = client(name);
      const id = `k${++seq}`;
      await on(() =>
        c.send(`${h.origin[target(c, 'a')]}/echo/${id}`, { baggage: 'gray=stable,a=1' }),
      );
      const got = hop(h, id, target(c, 'a'));
      expect(carried(got)).toEqual({ ...NOTHING, ids: ['beta'], w3c: ['beta'] });
      expect(others(got)).toEqual(['a=1']);
    },
  );
});
