import { createServer, type IncomingMessage } from 'node:http';
import { listenLoopback } from './listen.js';

/** Every form a `gray` marker travels in, as one hop received it. */
export interface MarkerHop {
  readonly server: string;
  readonly host: string;
  /** Every line of each header as sent, any case of its name, in order. */
  readonly lines: Readonly<Record<MarkerHeader, string[]>>;
}

/** The headers a marker travels in: graylane's own and the Jaeger / OT member headers. */
export type MarkerHeader = 'x-gray-id' | 'baggage' | 'uberctx-gray' | 'ot-baggage-gray';
export const MARKER_HEADERS: readonly MarkerHeader[] = [
  'x-gray-id',
  'baggage',
  'uberctx-gray',
  'ot-baggage-gray',
];

/** A loopback server that records the marker headers of each call (by its first path segment). */
export interface MarkerSite {
  readonly origin: string;
  close(): Promise<void>;
}

export type MarkerHops = Map<string, MarkerHop[]>;

function lines(req: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    if (req.rawHeaders[i]?.toLowerCase() === name) out.push(req.rawHeaders[i + 1] ?? '');
  return out;
}

/** `/<id>?status=S&to=URL` redirects; anything else answers 200. Every request is recorded. */
export async function startMarkerSite(server: string, hops: MarkerHops): Promise<MarkerSite> {
  const s = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const id = url.pathname.split('/')[1] ?? '';
    req.resume();
    req.on('end', () => {
      const seen = {} as Record<MarkerHeader, string[]>;
      for (const name of MARKER_HEADERS) seen[name] = lines(req, name);
      hops.set(id, [
        ...(hops.get(id) ?? []),
        { server, host: req.headers.host ?? '', lines: seen },
      ]);
      const to = url.searchParams.get('to');
      if (to !== null) {
        res.statusCode = Number(url.searchParams.get('status'));
        res.setHeader('location', to);
      }
      res.end('ok');
    });
  });
  return listenLoopback(s);
}

/** A URL on `origin` for call `id`, redirecting with `status` to `to` when given. */
export const siteUrl = (origin: string, id: string, status?: number, to?: string): string =>
  `${origin}/${id}${to === undefined ? '' : `?status=${status}&to=${encodeURIComponent(to)}`}`;

/** The members of `baggage` line(s) as `[decoded key, value]`, properties dropped. */
export function baggageMembers(values: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (const entry of values.join(',').split(',')) {
    const pair = entry.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    let key = pair.slice(0, eq).trim();
    try {
      key = decodeURIComponent(key);
    } catch {
      // An undecodable key is compared as written.
    }
    out.push([key, pair.slice(eq + 1).trim()]);
  }
  return out;
}

/** The values of the `key` member in `baggage` line(s). */
export const memberValues = (values: readonly string[], key = 'gray'): string[] =>
  baggageMembers(values)
    .filter(([k]) => k === key)
    .map(([, v]) => v);
