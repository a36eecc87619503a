import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a recorder saw. */
export interface Hit {
  readonly method: string;
  readonly path: string;
  readonly marker: string | undefined;
  readonly baggage: string | undefined;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
}

/**
 * A loopback server that records every request: `/r?status=S&to=URL` redirects, `/loop`
 * redirects to itself, anything else
 * answers 200 with what it saw.
 */
export interface Recorder {
  readonly origin: string;
  readonly host: string;
  readonly hits: Hit[];
  close(): Promise<void>;
}

export async function startRecorder(
  name: '127.0.0.1' | 'localhost' = '127.0.0.1',
): Promise<Recorder> {
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const hit: Hit = {
        method: req.method ?? '',
        path: url.pathname,
        marker: one(req, 'x-gray-id'),
        baggage: one(req, 'baggage'),
        authorization: one(req, 'authorization'),
        contentType: one(req, 'content-type'),
        body,
      };
      hits.push(hit);
      if (url.pathname === '/loop') {
        res.statusCode = 302;
        res.setHeader('location', '/loop');
        return res.end();
      }
      if (url.pathname === '/r') {
        res.statusCode = Number(url.searchParams.get('status') ?? 302);
        res.setHeader('location', url.searchParams.get('to') ?? '/');
        return res.end();
      }
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify(hit));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${name}:${port}`,
    host: `${name}:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function one(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
