import { createServer, type Server } from 'node:http';
import { headerOf, listenLoopback } from './listen.js';

/** One request a recorder saw. */
export interface Hit {
  readonly method: string;
  readonly path: string;
  readonly marker: string | undefined;
  readonly baggage: string | undefined;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly contentLength: string | undefined;
  readonly transferEncoding: string | undefined;
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
        marker: headerOf(req, 'x-gray-id'),
        baggage: headerOf(req, 'baggage'),
        authorization: headerOf(req, 'authorization'),
        contentType: headerOf(req, 'content-type'),
        contentLength: headerOf(req, 'content-length'),
        transferEncoding: headerOf(req, 'transfer-encoding'),
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
  return { ...(await listenLoopback(server, name)), hits };
}
