import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpTarget } from '../../src/outbound/http-target.js';
import { noteConnection } from '../../src/outbound/http2-target.js';
import { http2State } from '../../src/outbound/state.js';

/*
 * CTX-13 (helper 140): `http.request`'s agent options and `http2.connect`'s options are both
 * spread over a host and port by Node, and graylane judged each merge with its own copy of the
 * rule (now one helper, `mergedConnection`). Before merging them, what Node really does, on this
 * Node: an own `port` in either wins as it is — `0` and `'0'` connect to port 0, `''`, `null`,
 * `undefined`, `-1`, `65536`, `1.5` and `'abc'` throw in `net` — while `http.request`'s own
 * `port: 0` (not merged, the request's) is its default port. An own `host` of `''` connects to
 * localhost (graylane refuses it). Each row observes where Node connects (the options `net`
 * receives) and checks graylane's judgement: that very origin, or refused (no marker) where Node
 * throws or connects to a host graylane will not take from an empty option.
 */

let server: net.Server;
let P = 0;
const connects: { host: unknown; port: unknown }[] = [];
const original = net.Socket.prototype.connect;

beforeAll(async () => {
  server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  P = (server.address() as AddressInfo).port;
  // Where Node's own code asks `net` to connect (http's Agent, http2.connect, tls.connect).
  net.Socket.prototype.connect = function recording(this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    if (typeof first === 'object' && first !== null) {
      const o = first as { host?: unknown; port?: unknown };
      connects.push({ host: o.host, port: o.port });
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof original;
});
afterAll(async () => {
  net.Socket.prototype.connect = original;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Where Node connected for `start` (host and port as `net` read them), or that it threw. */
async function observe(start: () => { destroy(): void; on(e: string, f: () => void): unknown }) {
  connects.length = 0;
  let handle: ReturnType<typeof start>;
  try {
    handle = start();
    handle.on('error', () => undefined);
  } catch (e) {
    return { threw: (e as { code?: string }).code ?? 'error' };
  }
  // net reads its options synchronously, or on the next tick for an IP literal.
  await new Promise((resolve) => setImmediate(resolve));
  handle.destroy();
  const c = connects[0];
  if (c === undefined) return { threw: 'asynchronously' };
  const port = c.port === undefined ? 0 : Number(c.port) | 0;
  return { origin: `http://${String(c.host || 'localhost')}:${port}` };
}

const VALUES: [string, () => unknown][] = [
  ['0', () => 0],
  ["'0'", () => '0'],
  ["''", () => ''],
  ['null', () => null],
  ['undefined (own key)', () => undefined],
  ["'abc'", () => 'abc'],
  ['-1', () => -1],
  ['65536', () => 65536],
  ['1.5', () => 1.5],
  ['the server’s port', () => P],
  ['the server’s port as a string', () => String(P)],
];

/** A URL origin graylane's judgement must equal, or refuse. */
const sameOrigin = (judged: string | undefined, origin: string): boolean =>
  judged === undefined || judged === new URL(origin).origin;

describe('Node’s real behaviour, and graylane’s judgement of it', () => {
  it.each(VALUES)('CTX-13 port %s', async (_n, value) => {
    const url = `http://127.0.0.1:${P}/`;
    const p = value();

    // http.request's own port: `port || defaultPort || 80`.
    const own = await observe(() => http.request(url, { port: p as number }));
    const ownJudged = httpTarget([url, { port: p }], undefined, 'http:');
    if (p === 0 || p === '' || p === null || p === undefined) {
      expect(own, 'http.request({ port }) connects to 80').toEqual({
        origin: 'http://127.0.0.1:80',
      });
      expect(ownJudged).toBe('http://127.0.0.1');
    }
    if ('origin' in own) expect(sameOrigin(ownJudged as string, own.origin)).toBe(true);
    else expect(ownJudged, 'Node throws: refused').toBeUndefined();

    // An Agent's own options.port, merged over the request's: taken as it is.
    const agent = new http.Agent({ port: p } as http.AgentOptions);
    const merged = await observe(() => http.request(url, { agent }));
    const mergedJudged = httpTarget([url, { agent }], undefined, 'http:') as string | undefined;
    agent.destroy();
    // http2.connect's options.port, spread over the authority's: taken as it is.
    const h2 = await observe(() => http2.connect(url, { port: p } as http2.ClientSessionOptions));
    const session = {};
    noteConnection(session, [url, { port: p }]);
    const h2Judged = http2State().sessions.get(session) ?? undefined;

    expect(merged, 'the Agent and http2.connect merge alike').toEqual(h2);
    if (p === 0 || p === '0') {
      expect(merged, 'port 0 is port 0').toEqual({ origin: 'http://127.0.0.1:0' });
      expect(mergedJudged).toBe('http://127.0.0.1:0');
      expect(h2Judged).toBe('http://127.0.0.1:0');
    }
    if ('origin' in merged) {
      expect(sameOrigin(mergedJudged, merged.origin), `agent: ${mergedJudged}`).toBe(true);
      expect(sameOrigin(h2Judged, merged.origin), `http2: ${h2Judged}`).toBe(true);
    } else {
      expect(mergedJudged, 'Node throws: refused').toBeUndefined();
      expect(h2Judged, 'Node throws: refused').toBeUndefined();
    }
    if (p === P || p === String(P)) {
      expect(mergedJudged).toBe(`http://127.0.0.1:${P}`);
      expect(h2Judged).toBe(`http://127.0.0.1:${P}`);
    }
  });

  it.each([
    ["''", ''],
    ['null', null],
    ['undefined (own key)', undefined],
    ['1', 1],
  ] as const)('CTX-13 host %s: Node connects somewhere graylane refuses to name', async (_n, h) => {
    const url = `http://127.0.0.1:${P}/`;
    const agent = new http.Agent({ host: h } as unknown as http.AgentOptions);
    const merged = await observe(() => http.request(url, { agent }));
    const mergedJudged = httpTarget([url, { agent }], undefined, 'http:');
    agent.destroy();
    const h2 = await observe(() => http2.connect(url, { host: h } as http2.ClientSessionOptions));
    const session = {};
    noteConnection(session, [url, { host: h }]);
    expect(merged, 'the Agent and http2.connect merge alike').toEqual(h2);
    // Not the authority's host: both refused.
    expect(merged).not.toEqual({ origin: `http://127.0.0.1:${P}` });
    expect(mergedJudged).toBeUndefined();
    expect(http2State().sessions.get(session)).toBeNull();
  });
});
