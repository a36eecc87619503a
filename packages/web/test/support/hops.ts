import { createServer, type IncomingMessage } from 'node:http';
import { expect } from 'vitest';
import { listenLoopback } from './listen.js';

/** One request a hop server saw. */
export interface Hop {
  readonly server: 'a' | 'b';
  readonly host: string;
  readonly path: string;
  /** Every `X-Gray-Id` line as sent, any case. */
  readonly markers: string[];
  /** Every `baggage` line as sent, any case. */
  readonly baggage: string[];
  readonly method: string;
  /** The body as received (latin1: multipart bytes kept as they are). */
  readonly body: string;
  readonly contentType: string | undefined;
  /** Every header line as sent, the name in lower case. */
  readonly headers: [string, string][];
}

/** A hop server on 127.0.0.1. */
export interface Site {
  readonly origin: string;
  /** `127.0.0.1:<port>`, as an allowlist entry names it. */
  readonly host: string;
  close(): Promise<void>;
}

/** The requests of each call, by the call's id (the first path segment). */
export type Hops = Map<string, Hop[]>;

function lines(req: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    if (req.rawHeaders[i]?.toLowerCase() === name) out.push(req.rawHeaders[i + 1] ?? '');
  return out;
}

function pairsOf(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1] ?? '']);
  return out;
}

/** `/<id>?status=S&to=URL` redirects, anything else answers 200; every request is recorded. */
export async function startSite(server: 'a' | 'b', hops: Hops): Promise<Site> {
  const s = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const id = url.pathname.split('/')[1] ?? '';
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('latin1')));
    req.on('end', () => {
      const hop: Hop = {
        server,
        host: req.headers.host ?? '',
        path: url.pathname,
        markers: lines(req, 'x-gray-id'),
        baggage: lines(req, 'baggage'),
        method: req.method ?? '',
        body,
        contentType: req.headers['content-type'],
        headers: pairsOf(req.rawHeaders),
      };
      hops.set(id, [...(hops.get(id) ?? []), hop]);
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
export const hopUrl = (origin: string, id: string, status?: number, to?: string): string =>
  `${origin}/${id}${to === undefined ? '' : `?status=${status}&to=${encodeURIComponent(to)}`}`;

/** What the caller set, and the `baggage` lines that may go on outside the allowlist. */
export const CALLER: [label: string, pairs: [string, string][], outside: string[]][] = [
  [
    'marker + baggage',
    [
      ['X-Gray-Id', 'stable'],
      ['baggage', 'gray=stable,a=1'],
    ],
    ['a=1'],
  ],
  [
    'two marker lines in two cases, two baggage lines',
    [
      ['X-GRAY-ID', 'stable'],
      ['x-gray-id', 'qa'],
      ['baggage', 'a=1'],
      ['Baggage', 'b=2;p=v , gray=stable;q'],
    ],
    ['a=1,b=2;p=v'],
  ],
  [
    'a baggage that is only the gray member',
    [
      ['x-Gray-id', 'stable'],
      ['baggage', 'gray=stable'],
    ],
    [],
  ],
  [
    'members with properties, escapes and lookalike keys',
    [
      ['X-Gray-Id', 'canary'],
      ['baggage', 'k=v%2C1;prop=x,gray = stable ;m, z=%20,GRAY=x,xgray=1'],
    ],
    ['k=v%2C1;prop=x,z=%20,GRAY=x,xgray=1'],
  ],
  ['the marker header alone', [['x-gray-id', 'stable']], []],
];

/**
 * I8 / OUT-03 on every hop of one call: an allowlisted hop (server `a` by its 127.0.0.1 name)
 * carries the caller's marker and baggage as the caller set them (the values in order); any
 * other hop carries no marker line and only the `outside` baggage lines. Returns
 * the number of allowlisted hops.
 */
export function expectCallerHops(
  seen: readonly Hop[],
  pairs: [string, string][],
  outside: string[],
): number {
  const asSent = new Headers(pairs);
  const baggage = asSent.get('baggage');
  let inside = 0;
  for (const [n, h] of seen.entries()) {
    const at = `hop ${n + 1} (${h.host})`;
    if (h.server === 'a' && h.host.startsWith('127.0.0.1:')) {
      inside++;
      // One line per value or one joined line: runtimes differ (workerd sends one per value).
      expect(h.markers.join(', '), `${at}: the caller's marker`).toBe(asSent.get('x-gray-id'));
      expect(h.baggage.join(', '), `${at}: the caller's baggage`).toBe(baggage ?? '');
    } else {
      expect(h.markers, `${at}: no marker`).toEqual([]);
      expect(h.baggage, `${at}: the other members only`).toEqual(outside);
    }
  }
  return inside;
}
