import { createServer, type Server } from 'node:http';
import { createGraylane, tryGetGrayVersion } from '@graylane/node';
import { headerOf, listenLoopback } from './listen.js';

/** One request a loopback server saw. */
export interface SeenRequest {
  readonly path: string;
  readonly method: string;
  readonly body: string;
  readonly contentType: string | undefined;
  readonly marker: string | undefined;
  readonly baggage: string | undefined;
  readonly cookie: string | undefined;
  readonly authorization: string | undefined;
  readonly lane: string | undefined;
}

/** Versions every fixture config declares. */
export const VERSIONS = ['stable', 'beta', 'canary'] as const;

/**
 * A Node service on 127.0.0.1 running graylane's Node middleware, as a real downstream would:
 * - `/echo` answers what it saw (marker header, baggage, the lane its own middleware bound);
 * - `/bounce?to=URL&status=302` redirects;
 * - `/rules.json` (or `/graylane.json`) serves `rules.body` with a strong ETag (304 on `If-None-Match`);
 * - any other path with `GET` answers the KV protocol: the last path segment is the key.
 */
export interface Downstream {
  readonly origin: string;
  readonly seen: SeenRequest[];
  readonly kv: Map<string, string>;
  readonly rules: { body: string; etag: string; status: number; hits: number; notModified: number };
  close(): Promise<void>;
}

export async function startDownstream(): Promise<Downstream> {
  const gray = createGraylane({ config: { versions: [...VERSIONS], default: 'stable' } });
  const seen: SeenRequest[] = [];
  const kv = new Map<string, string>();
  const rules = { body: '', etag: '"0"', status: 200, hits: 0, notModified: 0 };
  const server: Server = createServer((req, res) =>
    gray.handle(req, res, async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      let body = '';
      for await (const chunk of req) body += String(chunk);
      seen.push({
        path: url.pathname,
        method: req.method ?? '',
        body,
        contentType: headerOf(req, 'content-type'),
        marker: headerOf(req, 'x-gray-id'),
        baggage: headerOf(req, 'baggage'),
        cookie: headerOf(req, 'cookie'),
        authorization: headerOf(req, 'authorization'),
        lane: tryGetGrayVersion(),
      });
      if (url.pathname === '/health') return res.end('ok');
      if (url.pathname === '/echo') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify(seen[seen.length - 1]));
      }
      if (url.pathname === '/bounce') {
        res.statusCode = Number(url.searchParams.get('status') ?? 302);
        res.setHeader('location', url.searchParams.get('to') ?? '/echo');
        return res.end();
      }
      if (url.pathname === '/rules.json' || url.pathname === '/graylane.json') {
        rules.hits++;
        if (rules.status !== 200) {
          res.statusCode = rules.status;
          return res.end();
        }
        if (req.headers['if-none-match'] === rules.etag) {
          rules.notModified++;
          res.statusCode = 304;
          return res.end();
        }
        res.setHeader('etag', rules.etag);
        res.setHeader('content-type', 'application/json');
        return res.end(rules.body);
      }
      const key = decodeURIComponent(url.pathname.split('/').pop() ?? '');
      const value = kv.get(key);
      if (req.method !== 'GET' || value === undefined) {
        res.statusCode = 404;
        return res.end();
      }
      return res.end(value);
    }),
  );
  const { origin, close } = await listenLoopback(server);
  return { origin, seen, kv, rules, close };
}
