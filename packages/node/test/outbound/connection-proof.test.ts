import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installGlobal, runWithGray } from '../../src/index.js';
import { socketReaches } from '../../src/outbound/connection-proof.js';
import { send } from './h2-servers.js';

/*
 * CTX-13 (helper 140): the connection proof compares a socket's peer with the origin's IP
 * literal. It compared strings with only `::ffff:` before a dotted IPv4 folded, so an origin the
 * URL parser wrote as `[::ffff:7f00:1]` (how WHATWG URL spells `[::ffff:127.0.0.1]`) never matched
 * its own peer `::ffff:127.0.0.1`: a verified connection to an allowlisted host lost its marker,
 * and any other spelling of an address (`0:0:0:0:0:0:0:1`, leading zeros) did not compare. Now
 * both sides are read as 16 bytes by core's address parser. Rows: real sockets to ::1, to
 * 127.0.0.1 and to ::ffff:127.0.0.1, every spelling of the same address (true), of another
 * address or port (false); then undici and HTTP/2 to `[::ffff:127.0.0.1]` end to end.
 */

let v4: net.Server;
let v6: net.Server;
let p4 = 0;
let p6 = 0;
const sockets: net.Socket[] = [];

async function listen(server: net.Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}
async function connected(port: number, host: string): Promise<net.Socket> {
  const socket = net.connect(port, host);
  sockets.push(socket);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

const SAME_V6 = [
  '::1',
  '[::1]',
  '0:0:0:0:0:0:0:1',
  '0000:0000:0000:0000:0000:0000:0000:0001',
  '::0:1',
  '0::1',
  '::0001',
  '0:0::0:1',
  '[0:0:0:0:0:0:0:1]',
];
const OTHER_V6 = [
  '::2',
  '::1:0',
  '1::',
  '::',
  '::ffff:0:1',
  '::ffff:127.0.0.1',
  '127.0.0.1',
  'fe80::1',
];
const SAME_V4 = [
  '127.0.0.1',
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::FFFF:7F00:0001',
  '0:0:0:0:0:ffff:127.0.0.1',
  '0:0:0:0:0:FFFF:7f00:0001',
  '[::ffff:7f00:1]',
];
const OTHER_V4 = ['127.0.0.2', '::127.0.0.1', '::ffff:7f00:2', '::1', '127.1', '0127.0.0.1'];

beforeAll(async () => {
  v4 = net.createServer((s) => s.on('error', () => undefined));
  v6 = net.createServer((s) => s.on('error', () => undefined));
  p4 = await listen(v4, '127.0.0.1');
  p6 = await listen(v6, '::1');
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all([v4, v6].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

describe('socketReaches: the peer, whatever the spelling', () => {
  const peers = [
    ['a socket to ::1', () => connected(p6, '::1'), SAME_V6, OTHER_V6, () => p6],
    ['a socket to 127.0.0.1', () => connected(p4, '127.0.0.1'), SAME_V4, OTHER_V4, () => p4],
    [
      'a socket to ::ffff:127.0.0.1 (an IPv6 socket, peer read as mapped)',
      () => connected(p4, '::ffff:127.0.0.1'),
      SAME_V4,
      OTHER_V4,
      () => p4,
    ],
  ] as const;
  it.each(peers)('CTX-13 %s', async (_n, open, same, other, port) => {
    const socket = await open();
    for (const host of same) {
      expect(socketReaches(socket, host, port()), `${host}:${port()}`).toBe(true);
      expect(socketReaches(socket, host, port() + 1), `${host}, another port`).toBe(false);
    }
    for (const host of other) expect(socketReaches(socket, host, port()), host).toBe(false);
  });

  it('proves nothing for what is not a connected socket (never throws)', async () => {
    const connecting = net.connect(p4, '127.0.0.1');
    sockets.push(connecting);
    expect(socketReaches(connecting, '127.0.0.1', p4)).toBe(false);
    for (const odd of [undefined, null, 1, 'x', {}, { connecting: false, remotePort: p4 }])
      expect(socketReaches(odd, '127.0.0.1', p4)).toBe(false);
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
      },
    );
    expect(socketReaches(hostile, '127.0.0.1', p4)).toBe(false);
  });
});

describe('end to end: an origin the URL parser writes as [::ffff:7f00:1]', () => {
  const MAPPED = () => `http://[::ffff:127.0.0.1]:${pa}`;
  let app: http.Server;
  let h2: http2.Http2Server;
  let pa = 0;
  let ph = 0;
  let uninstall: () => void;
  const seen = new Map<string, string[]>();
  const record = (url: string | undefined, id: string | string[] | undefined): void => {
    seen.set(url ?? '', id === undefined ? [] : [id].flat());
  };

  beforeAll(async () => {
    app = http.createServer((req, res) => {
      record(req.url, req.headers['x-gray-id']);
      res.end('ok');
    });
    h2 = http2.createServer();
    h2.on('stream', (stream, headers) => {
      record(String(headers[':path']), headers['x-gray-id']);
      stream.respond({ ':status': 200 });
      stream.end();
    });
    pa = await listen(app, '127.0.0.1');
    ph = await listen(h2, '127.0.0.1');
    // The allowlist takes the URL parser's spelling (core reads `[::ffff:127.0.0.1]` apart).
    uninstall = installGlobal({
      allowHosts: [`[::ffff:7f00:1]:${pa}`, `[::ffff:7f00:1]:${ph}`],
    });
  });
  afterAll(async () => {
    uninstall();
    await Promise.all(
      [app, h2].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
  });

  const viaConnect = (): undici.Agent =>
    new undici.Agent({
      connect: (_o, cb) => {
        const socket = net.connect(pa, '::ffff:127.0.0.1');
        socket.once('connect', () => cb(null, socket));
        socket.once('error', (e) => cb(e, null));
      },
    });
  it.each([
    ['undici’s own connector', () => new undici.Agent()],
    ['a connect function of the caller’s to that address', viaConnect],
  ] as const)('CTX-13 undici.request, %s: the marker arrives', async (_n, make) => {
    const d = make();
    for (const n of [1, 2]) {
      const path = `/u/${_n.length}/${n}`;
      await runWithGray('beta', async () => {
        await (await undici.request(`${MAPPED()}${path}`, { dispatcher: d })).body.text();
      });
      expect(seen.get(path), path).toEqual(['beta']);
    }
    await d.close();
  });

  it('CTX-13 http2, createConnection to that address: the marker arrives', async () => {
    const session = http2.connect(`http://[::ffff:127.0.0.1]:${ph}`, {
      createConnection: () => net.connect(ph, '::ffff:127.0.0.1'),
    });
    session.on('error', () => undefined);
    await new Promise((resolve) => session.once('connect', resolve));
    await runWithGray('beta', () => send(session, { ':path': '/h2' }));
    session.close();
    expect(seen.get('/h2')).toEqual(['beta']);
  });
});
