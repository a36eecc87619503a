import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createGraylane, getGrayDecision, getGrayVersion } from '@graylane/node';

/** The browser SDK as a plain page loads it: the self-contained IIFE (global `Graylane`). */
const SDK = readFileSync(
  fileURLToPath(new URL('../../packages/browser/dist/graylane.iife.js', import.meta.url)),
  'utf8',
);

/** One request as the Node service saw it, inside the graylane middleware. */
export interface Seen {
  /** The instance that received it: which upstream nginx chose. */
  readonly instance: string;
  /** The `?id=` tag the test put on the request. */
  readonly id: string | null;
  readonly method: string;
  readonly path: string;
  /** `Sec-Fetch-Dest` / `Sec-Fetch-Mode`: what kind of request the browser says it sent. */
  readonly dest: string | undefined;
  readonly mode: string | undefined;
  /** Every `X-Gray-Id` value on the wire, in order (before the middleware ran). */
  readonly markers: readonly string[];
  /** The `Cookie` header on the wire (before the middleware ran). */
  readonly cookie: string | undefined;
  /** The `Cookie` header the app sees after the middleware normalised it. */
  readonly appCookie: string | undefined;
  /** `getGrayVersion()` and the decision's source, read by the handler. */
  readonly version: string;
  readonly source: string | undefined;
}

/** A Node service instance with the graylane middleware. */
export interface Service {
  readonly instance: string;
  readonly port: number;
  readonly seen: Seen[];
  close(): Promise<void>;
}

/**
 * The page every document request gets: the SDK with a 50/50 split on the anonymous id, its
 * `withGray` fetch, and a link for the next navigation. No server hand-off meta, so the page's
 * version is the browser's own assignment (cookie, else the split).
 */
function page(instance: string, versions: readonly string[], fallback: string): string {
  const options = JSON.stringify({ versions, default: fallback });
  return `<!doctype html>
<html data-instance="${instance}"><head><meta charset="utf-8"><title>graylane https e2e</title>
<script src="/graylane.iife.js"></script>
<script>
  window.gray = Graylane.initGray({ ...${options}, rules: Graylane.split({ beta: 50 }) });
  window.api = Graylane.withGray();
</script></head>
<body><a id="next" href="/next">next page</a></body></html>`;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function rawValues(req: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    if (req.rawHeaders[i]?.toLowerCase() === name) out.push(req.rawHeaders[i + 1] ?? '');
  return out;
}

function respond(req: IncomingMessage, res: ServerResponse, url: URL, html: string): void {
  if (url.pathname === '/graylane.iife.js') {
    res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' });
    res.end(SDK);
  } else if (url.pathname === '/' || url.pathname === '/next') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  } else if (req.method === 'POST') {
    req.resume(); // the beacon's body
    req.on('end', () => void res.writeHead(204).end());
  } else {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ version: getGrayVersion() }));
  }
}

/**
 * Starts one instance on a free loopback port. `config` is the JSON text the CLI rendered nginx
 * from; the middleware runs with its defaults (open trust, `__Host-gray` then `gray`).
 */
export async function startService(instance: string, config: string): Promise<Service> {
  const parsed = JSON.parse(config) as { versions: string[]; default: string };
  const gray = createGraylane({ config });
  const html = page(instance, parsed.versions, parsed.default);
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    // What arrived on the wire, read before graylane normalises the carriers the app sees (GW-01).
    const markers = rawValues(req, 'x-gray-id');
    const cookie = rawValues(req, 'cookie').join('; ') || undefined;
    gray.handle(req, res, () => {
      const url = new URL(req.url ?? '/', 'http://service');
      seen.push({
        instance,
        id: url.searchParams.get('id'),
        method: req.method ?? '',
        path: url.pathname,
        dest: header(req, 'sec-fetch-dest'),
        mode: header(req, 'sec-fetch-mode'),
        markers,
        cookie,
        appCookie: header(req, 'cookie'),
        version: getGrayVersion(),
        source: getGrayDecision()?.source,
      });
      respond(req, res, url, html);
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    instance,
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
