import { createServer, type Server } from 'node:http';
import { createGraylane, tryGetGrayVersion } from '@graylane/node';
import { listenLoopback } from './listen.js';

/** What the downstream saw on one request. */
export interface Seen {
  readonly marker: string | undefined;
  readonly baggage: string | undefined;
  readonly lane: string | undefined;
  /** The proxy's internal decision header: must never reach another service. */
  readonly decision: string | undefined;
  /** Next's internal hand-over of cookies set in the proxy: must never reach another service. */
  readonly middlewareSetCookie: string | undefined;
  readonly cookie: string | undefined;
  /** A `Set-Cookie` the app's response held, copied into the request (must never arrive). */
  readonly setCookie: string | undefined;
  /** The debug response header, copied into the request the same way. */
  readonly debug: string | undefined;
  /** Every request header received, by name. */
  readonly headers: Record<string, string>;
  readonly path: string;
}

/**
 * A Node service on 127.0.0.1 behind graylane's Node middleware; `/echo` answers what it saw,
 * `/redirect?status=S&to=URL` redirects (with a small body of its own, as servers send).
 */
export async function startDownstream(): Promise<{
  origin: string;
  seen: Seen[];
  close(): Promise<void>;
}> {
  const gray = createGraylane({
    config: { versions: ['stable', 'beta', 'canary'], default: 'stable' },
  });
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) =>
    gray.handle(req, res, () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/redirect') {
        res.statusCode = Number(url.searchParams.get('status'));
        res.setHeader('location', url.searchParams.get('to') ?? '/echo');
        return void res.end('moved');
      }
      const entry: Seen = {
        marker: one(req.headers['x-gray-id']),
        baggage: one(req.headers.baggage),
        lane: tryGetGrayVersion(),
        decision: one(req.headers['x-graylane-decision']),
        middlewareSetCookie: one(req.headers['x-middleware-set-cookie']),
        cookie: one(req.headers.cookie),
        setCookie: one(req.headers['set-cookie']),
        debug: one(req.headers['x-gray-decision']),
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([name, value]) => [name, one(value) ?? '']),
        ),
        path: url.pathname,
      };
      seen.push(entry);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(entry));
    }),
  );
  return { ...(await listenLoopback(server)), seen };
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
