import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installGlobal, runWithGray } from '../../src/index.js';
import { selfSignedCert } from './servers.js';

/*
 * CTX-13 (review 145 D1): a verified certificate names hosts, never ports. A connection of the
 * caller's (an undici `connect` function, an HTTP/2 `createConnection`) that reached another
 * port of the allowlisted host — another service with the same certificate, or any server under
 * the same wildcard — was taken as proof of the origin, and that service got the marker. Two
 * TLS services on 127.0.0.1 share one trusted certificate; only `a` is allowlisted. Every row
 * asks for `a`'s origin; the connection goes where the row says.
 */

const { key, cert } = selfSignedCert();
const seen = new Map<string, string | undefined>();
let a: http2.Http2SecureServer;
let b: http2.Http2SecureServer;
let portA = 0;
let portB = 0;
let uninstall: () => void;
let seq = 0;

async function service(name: string): Promise<[http2.Http2SecureServer, number]> {
  const server = http2.createSecureServer({ key, cert, allowHTTP1: true });
  server.on('request', (req, res) => {
    const id = new URL(req.url, 'http://x').pathname.slice(1);
    seen.set(`${name}:${id}`, req.headers['x-gray-id'] as string | undefined);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return [server, (server.address() as AddressInfo).port];
}

beforeAll(async () => {
  [a, portA] = await service('a');
  [b, portB] = await service('b');
  uninstall = installGlobal({ allowHosts: [`127.0.0.1:${portA}`, `localhost:${portA}`] });
});
afterAll(async () => {
  uninstall?.();
  await Promise.all([a, b].map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A TLS connection the caller opens itself, trusting the shared certificate. */
function tlsTo(port: number, alpn: string[], servername = 'localhost'): tls.TLSSocket {
  return tls.connect({ host: '127.0.0.1', port, ca: cert, ALPNProtocols: alpn, servername });
}

type Where = 'a' | 'b';
const WHERE: [string, Where][] = [
  ['another port of the allowlisted host (same certificate)', 'b'],
  ['the allowlisted port (control)', 'a'],
];
/** The origin asked for: by name (only the certificate proves the host) or by address. */
const HOSTS = ['localhost', '127.0.0.1'] as const;
const rows = HOSTS.flatMap((host) => WHERE.map(([where, to]) => [host, where, to] as const));

describe('CTX-13 a certificate proves the host, the peer port proves the port', () => {
  it.each(
    rows.flatMap(([host, where, to]) =>
      (['http/1.1', 'h2'] as const).map((proto) => [host, where, proto, to] as const),
    ),
  )('undici Client for https://%s, a connect function to %s, %s', async (host, _w, proto, to) => {
    const port = to === 'a' ? portA : portB;
    const client = new undici.Client(`https://${host}:${portA}`, {
      allowH2: proto === 'h2',
      connect: (_opts, cb) => {
        const s = tlsTo(port, proto === 'h2' ? ['h2', 'http/1.1'] : ['http/1.1']);
        s.once('secureConnect', () => cb(null, s));
        s.once('error', (e) => cb(e, null));
      },
    });
    const ids = [`u${++seq}`, `u${++seq}`, `u${++seq}`];
    await runWithGray('beta', async () => {
      for (const id of ids) {
        const res = await client.request({ path: `/${id}`, method: 'GET' });
        await res.body.text();
      }
    });
    await client.close();
    const got = ids.map((id) => seen.get(`${to}:${id}`));
    if (to === 'b') expect(got).toEqual([undefined, undefined, undefined]);
    // The allowlisted port: proven once connected (the first request may go before that).
    else expect(got.slice(1)).toEqual(['beta', 'beta']);
  });

  it.each(rows)(
    'http2.connect to https://%s with a createConnection to %s',
    async (host, _w, to) => {
      const port = to === 'a' ? portA : portB;
      const session = http2.connect(`https://${host}:${portA}`, {
        createConnection: () => tlsTo(port, ['h2']),
      });
      await new Promise<void>((resolve, reject) => {
        session.once('connect', () => resolve());
        session.once('error', reject);
      });
      const ids = [`h${++seq}`, `h${++seq}`];
      await runWithGray('beta', async () => {
        for (const id of ids) {
          const stream = session.request({ ':path': `/${id}` });
          stream.resume();
          await new Promise((resolve) => stream.on('close', resolve));
        }
      });
      session.close();
      expect(ids.map((id) => seen.get(`${to}:${id}`))).toEqual(
        to === 'b' ? [undefined, undefined] : ['beta', 'beta'],
      );
    },
  );
});
