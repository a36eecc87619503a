import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachGray, runWithGray } from '../../src/index.js';
import {
  WAYS,
  expectedShape,
  post,
  shapeOf,
  startSites,
  type Expected,
  type Sites,
  inBothModes,
} from './axios-sites.js';

/*
 * CTX-13, RDR-01 (review 81 D2): `attachGray(axios)` with the http adapter judged the URL and the
 * proxies only, never the connection: an `httpAgent`/`httpsAgent` whose own `options.host`/`port`
 * win over the request's (Node merges them), one whose `createConnection`, `createSocket` or
 * `addRequest` is its own, or whose options are a `socketPath`, sent the marker wherever it
 * connected. Now the first request and every redirect hop are judged on the connection Node
 * makes, as `installGlobal()` judges it (docs/node.md "The real connection"): the agent's
 * host/port win, a connection other code makes gets no marker (even towards an allowlisted
 * host: nothing proves where it goes). axios' HTTP/2 transport (`httpVersion: 2`) uses no agent:
 * `http2Options` decide there (`http2.connect` spreads them over the authority, and calls their
 * `createConnection`). Every row with the config delivered three ways (CTX-14), with
 * `attachGray` alone and beside `installGlobal()`. Allowlisted: a, ta, h2a.
 */

type Target = 'a' | 'b' | 'ta' | 'tb' | 'h2a' | 'h2b';
type Config = (s: Sites) => Record<string, unknown>;

interface Row {
  readonly name: string;
  /** The URL's site; `redirect`: it answers each 30x towards that site's /echo. */
  readonly url: Target;
  readonly redirect?: Target;
  readonly config: Config;
  readonly expected: Expected;
}

const ca = (s: Sites) => ({ httpsAgent: new https.Agent({ ca: s.ca }) });
const at = (port: number) => ({ host: '127.0.0.1', port });
function own<T extends object>(agent: T, name: string, fn: unknown): T {
  (agent as Record<string, unknown>)[name] = fn;
  return agent;
}
/** An http Agent whose own createConnection connects to `port`. */
const connecting = (port: number) =>
  own(new http.Agent(), 'createConnection', () => net.connect(port, '127.0.0.1'));
/** An http Agent whose own `method` (addRequest / createSocket) rewrites the connection to `port`. */
function rewriting(method: 'addRequest' | 'createSocket', port: number): http.Agent {
  const agent = new http.Agent();
  const original = (agent as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
  return own(agent, method, function (this: unknown, req: unknown, o: object, ...rest: unknown[]) {
    return original.call(this, req, { ...o, ...at(port) }, ...rest);
  });
}

/**
 * An axios `transport` of the caller's: its `request` is code graylane cannot read, here one that
 * sends every request to `port`. (axios' config merge copies a transport that is a plain object,
 * Node's modules included: they are told by their `request`.)
 */
const elsewhere = (port: number) => ({
  request: (o: http.RequestOptions, cb: (res: http.IncomingMessage) => void) =>
    http.request({ ...o, ...at(port) }, cb),
});

/**
 * axios' HTTP/2 transport. A `sessionTimeout` of its own per call: axios shares a session between
 * calls with equal options, and keeps the `request` method the session had when it was made, so
 * a session made in the first suite would serve the second without `installGlobal()`'s wrapper.
 */
let sessions = 0;
const h2 = (options: object = {}) => ({
  httpVersion: 2,
  http2Options: { sessionTimeout: 1000 + sessions++, ...options },
});

const ROWS: Row[] = [
  { name: 'no agent', url: 'a', config: ca, expected: [['a', true]] },
  { name: 'no agent', url: 'b', config: ca, expected: [['b', false]] },
  {
    name: 'httpAgent: a plain Agent',
    url: 'a',
    config: (s) => ({ ...ca(s), httpAgent: new http.Agent() }),
    expected: [['a', true]],
  },
  {
    name: 'httpAgent: false',
    url: 'a',
    config: (s) => ({ ...ca(s), httpAgent: false }),
    expected: [['a', true]],
  },
  {
    name: 'httpAgent whose options name another port',
    url: 'a',
    config: (s) => ({ ...ca(s), httpAgent: new http.Agent(at(s.port.b)) }),
    expected: [['b', false]],
  },
  {
    name: 'httpAgent whose options name the listed port',
    url: 'b',
    config: (s) => ({ ...ca(s), httpAgent: new http.Agent(at(s.port.a)) }),
    expected: [['a', true]],
  },
  {
    name: 'httpAgent whose options name another host (same server)',
    url: 'a',
    config: (s) => ({ ...ca(s), httpAgent: new http.Agent({ host: 'localhost' }) }),
    expected: [['a', false]],
  },
  {
    name: 'httpAgent whose options are a socketPath',
    url: 'a',
    config: (s) => ({ ...ca(s), httpAgent: new http.Agent({ socketPath: s.socket } as object) }),
    expected: [['unix', false]],
  },
  {
    name: 'httpAgent with its own createConnection',
    url: 'a',
    config: (s) => ({ ...ca(s), httpAgent: connecting(s.port.b) }),
    expected: [['b', false]],
  },
  {
    name: 'httpAgent with its own createConnection to the listed host',
    url: 'a',
    config: (s) => ({ ...ca(s), httpAgent: connecting(s.port.a) }),
    expected: [['a', false]],
  },
  {
    name: 'httpAgent with its own addRequest',
    url: 'a',
    config: (s) => ({ ...ca(s), httpAgent: rewriting('addRequest', s.port.b) }),
    expected: [['b', false]],
  },
  {
    name: 'httpAgent with its own createSocket',
    url: 'a',
    config: (s) => ({ ...ca(s), httpAgent: rewriting('createSocket', s.port.b) }),
    expected: [['b', false]],
  },
  {
    name: 'httpAgent whose options name another port, maxRedirects 0 (Node’s own transport)',
    url: 'a',
    config: (s) => ({ ...ca(s), httpAgent: new http.Agent(at(s.port.b)), maxRedirects: 0 }),
    expected: [['b', false]],
  },
  {
    name: 'transport: node:http itself',
    url: 'a',
    config: (s) => ({ ...ca(s), transport: http }),
    expected: [['a', true]],
  },
  {
    name: 'transport: one of yours that connects elsewhere',
    url: 'a',
    config: (s) => ({ ...ca(s), transport: elsewhere(s.port.b) }),
    expected: [['b', false]],
  },
  {
    name: 'transport: node:https itself',
    url: 'ta',
    config: (s) => ({ ...ca(s), transport: https }),
    expected: [['ta', true]],
  },
  {
    name: 'httpsAgent whose options name another port',
    url: 'ta',
    config: (s) => ({ httpsAgent: new https.Agent({ ca: s.ca, ...at(s.port.tb) }) }),
    expected: [['tb', false]],
  },
  {
    name: 'httpsAgent whose options name the listed port',
    url: 'tb',
    config: (s) => ({ httpsAgent: new https.Agent({ ca: s.ca, ...at(s.port.ta) }) }),
    expected: [['ta', true]],
  },
  {
    name: 'httpsAgent with its own createConnection',
    url: 'ta',
    config: (s) => ({
      httpsAgent: own(new https.Agent({ ca: s.ca }), 'createConnection', () =>
        tls.connect({ ...at(s.port.tb), ca: s.ca }),
      ),
    }),
    expected: [['tb', false]],
  },
  {
    // The https agent is not used for an http: request.
    name: 'httpsAgent whose options name another port, on an http: URL',
    url: 'a',
    config: (s) => ({ httpsAgent: new https.Agent({ ca: s.ca, ...at(s.port.tb) }) }),
    expected: [['a', true]],
  },
  {
    name: 'httpsAgent whose options name another port, after a 30x to https:',
    url: 'a',
    redirect: 'ta',
    config: (s) => ({ httpsAgent: new https.Agent({ ca: s.ca, ...at(s.port.tb) }) }),
    expected: [
      ['a', true],
      ['tb', false],
    ],
  },
  {
    name: 'httpsAgent whose options name the listed port, after a 30x to https:',
    url: 'a',
    redirect: 'tb',
    config: (s) => ({ httpsAgent: new https.Agent({ ca: s.ca, ...at(s.port.ta) }) }),
    expected: [
      ['a', true],
      ['ta', true],
    ],
  },
  {
    name: 'httpAgent with its own addRequest, after a 30x',
    url: 'a',
    redirect: 'a',
    config: (s) => ({ ...ca(s), httpAgent: rewriting('addRequest', s.port.b) }),
    expected: [
      ['b', false],
      ['b', false],
    ],
  },
  { name: 'HTTP/2', url: 'h2a', config: () => h2(), expected: [['h2a', true]] },
  { name: 'HTTP/2', url: 'h2b', config: () => h2(), expected: [['h2b', false]] },
  {
    name: 'HTTP/2, http2Options name another port',
    url: 'h2a',
    config: (s) => h2({ port: s.port.h2b }),
    expected: [['h2b', false]],
  },
  // axios reads `httpVersion` once with unary `+` (review 84 D1): a value that is not a number or
  // a string may read 2 there and anything here; graylane refuses it (no marker from it).
  ...(
    [
      ['[2]', () => [2]],
      ['new Number(2)', () => new Number(2)],
      ['{ valueOf: () => 2 }', () => ({ valueOf: () => 2 })],
    ] as const
  ).map(([label, version]): Row => ({
    name: `HTTP/2 as httpVersion ${label}, http2Options name another port`,
    url: 'h2a',
    config: (s) => ({ ...h2({ port: s.port.h2b }), httpVersion: version() }),
    expected: [['h2b', false]],
  })),
  {
    // The `:authority` sent names h2b: both must be allowlisted (http2-target.ts).
    name: 'HTTP/2, http2Options name the listed port',
    url: 'h2b',
    config: (s) => h2({ port: s.port.h2a }),
    expected: [['h2a', false]],
  },
  {
    name: 'HTTP/2, http2Options with a createConnection',
    url: 'h2a',
    config: (s) => h2({ createConnection: () => net.connect(s.port.h2b, '127.0.0.1') }),
    expected: [['h2b', false]],
  },
  {
    // HTTP/2 connects without the agent.
    name: 'HTTP/2, httpAgent with its own createConnection',
    url: 'h2a',
    config: (s) => ({ ...h2(), httpAgent: connecting(s.port.h2b) }),
    expected: [['h2a', true]],
  },
];

const STATUSES = [301, 302, 303, 307, 308];
let sites: Sites;
let seq = 0;
let eject: () => void;

beforeAll(async () => {
  sites = await startSites();
  eject = attachGray(axios, { allowHosts: sites.allowHosts });
});
afterAll(async () => {
  eject();
  await sites.close();
});

function suite(): void {
  describe.each(WAYS)('CTX-14 the config reaches the request through %s', (way) => {
    it.each(ROWS.map((r) => [`${r.name}, to ${r.url}${r.redirect ? ` → ${r.redirect}` : ''}`, r]))(
      'CTX-13 RDR-01 %s',
      async (_name, row) => {
        const { url, redirect, config, expected } = row as Row;
        for (const status of redirect === undefined ? [0] : STATUSES) {
          const id = `g${++seq}`;
          const echo = (t: Target) => `${sites.origin[t]}/echo/${id}`;
          const to =
            redirect === undefined
              ? echo(url)
              : `${sites.origin[url]}/r/${id}/${status}?to=${encodeURIComponent(echo(redirect))}`;
          await runWithGray('beta', () => post(way, to, config(sites), sites.allowHosts));
          expect(shapeOf(sites.arrivals(id)), `${status}`).toEqual(expectedShape(expected));
        }
      },
    );
  });
}

inBothModes(suite, () => sites.allowHosts);
