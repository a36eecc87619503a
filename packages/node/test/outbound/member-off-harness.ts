import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import * as undici from 'undici';
import { attachGray, grayInterceptor, withGray } from '../../src/index.js';
import { closeLocal, selfSignedCert } from './servers.js';

/*
 * Shared by member-off.test.ts (no OpenTelemetry) and otel-member-off.test.ts (the real http and
 * undici instrumentations): loopback servers that record what each hop carried, read as the next
 * hop's readers read it, and every client API the outbound layer covers.
 */

export interface Seen {
  readonly id: string;
  readonly server: Name;
  readonly raw: readonly string[];
}

/** `a`, `as`: allowlisted (http, https); `b`, `bs`: not. */
export type Name = 'a' | 'b' | 'as' | 'bs';

export interface Harness {
  readonly seen: Seen[];
  readonly origin: Record<Name, string>;
  /** The allowlist of every lane here: the two `a` servers. */
  readonly allow: string[];
  close(): Promise<void>;
}

export async function startServers(): Promise<Harness> {
  const seen: Seen[] = [];
  const tls = selfSignedCert();
  const handler =
    (name: Name): http.RequestListener =>
    (req, res) => {
      req.resume();
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const [, kind, id = ''] = url.pathname.split('/');
        seen.push({ id, server: name, raw: req.rawHeaders });
        if (kind === 'r') {
          res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
          res.end();
          return;
        }
        res.end('ok');
      });
    };
  const servers: Record<Name, http.Server> = {
    a: http.createServer(handler('a')),
    b: http.createServer(handler('b')),
    as: https.createServer(tls, handler('as')),
    bs: https.createServer(tls, handler('bs')),
  };
  const origin = {} as Record<Name, string>;
  for (const [name, server] of Object.entries(servers) as [Name, http.Server][]) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    origin[name] = `${name.endsWith('s') ? 'https' : 'http'}://127.0.0.1:${port}`;
  }
  return {
    seen,
    origin,
    allow: [origin.a, origin.as],
    close: async () => void (await Promise.all(Object.values(servers).map(closeLocal))),
  };
}

export function lines(h: Seen, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < h.raw.length; i += 2)
    if (h.raw[i]?.toLowerCase() === name) out.push(h.raw[i + 1] as string);
  return out;
}

/** Every `baggage` member whose key a W3C reader decodes to `gray` (trimmed, `%`-decoded): its value. */
function w3cGray(h: Seen): string[] {
  const out: string[] = [];
  for (const line of lines(h, 'baggage'))
    for (const entry of line.split(',')) {
      const pair = entry.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      try {
        if (decodeURIComponent(pair.slice(0, eq).trim()) === 'gray')
          out.push(decodeURIComponent(pair.slice(eq + 1).trim()));
      } catch {
        // OpenTelemetry skips a member that does not decode.
      }
    }
  return out;
}

/** The other members of the hop's `baggage` (trimmed, properties kept), in order. */
export function others(h: Seen): string[] {
  return lines(h, 'baggage')
    .flatMap((l) => l.split(','))
    .map((m) => m.trim())
    .filter((m) => m.length > 0 && !w3cGray({ ...h, raw: ['baggage', m] }).length);
}

export interface Carried {
  readonly ids: string[];
  readonly w3c: string[];
  readonly jaeger: string[];
  readonly ot: string[];
}

export const NOTHING: Carried = { ids: [], w3c: [], jaeger: [], ot: [] };

export function carried(h: Seen | undefined): Carried {
  if (h === undefined) throw new Error('the hop never arrived');
  return {
    ids: lines(h, 'x-gray-id'),
    w3c: w3cGray(h),
    jaeger: lines(h, 'uberctx-gray'),
    ot: lines(h, 'ot-baggage-gray'),
  };
}

export function hop(harness: Harness, id: string, server: Name): Seen {
  const h = harness.seen.find((s) => s.id === id && s.server === server);
  if (h === undefined) throw new Error(`hop ${id} never reached ${server}`);
  return h;
}

type Send = (url: string, headers: Record<string, string>) => Promise<void>;

export interface Client {
  readonly name: string;
  readonly send: Send;
  /** Sends to the https servers (`as`, `bs`). */
  readonly tls: boolean;
  /** Follows a redirect itself. */
  readonly follows: boolean;
}

const node =
  (mod: typeof http | typeof https, method: 'get' | 'request'): Send =>
  (url, headers) =>
    new Promise((resolve, reject) => {
      const req = (mod as typeof http)[method](
        url,
        {
          method: method === 'get' ? 'GET' : 'POST',
          headers,
          ...(mod === https ? { rejectUnauthorized: false } : {}),
        },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      if (method === 'request') req.end('body');
    });

/**
 * Every client API the outbound layer covers. The wrappers (`withGray`, `attachGray`,
 * `grayInterceptor`) are made by `makeClients` after OpenTelemetry's undici listener, when there
 * is one, is subscribed (graylane's must come after it).
 */
export function makeClients(): Client[] {
  const axiosHttp = axios.create({ adapter: 'http' });
  const axiosFetch = axios.create({ adapter: 'fetch' });
  const attachedHttp = axios.create({ adapter: 'http' });
  const attachedFetch = axios.create({ adapter: 'fetch' });
  attachGray(attachedHttp);
  attachGray(attachedFetch);
  const grayFetch = withGray(fetch);
  const agent = new undici.Agent();
  const composed = new undici.Agent().compose(grayInterceptor());
  return [
    { name: 'http.get', send: node(http, 'get'), tls: false, follows: false },
    { name: 'http.request', send: node(http, 'request'), tls: false, follows: false },
    { name: 'https.get', send: node(https, 'get'), tls: true, follows: false },
    { name: 'https.request', send: node(https, 'request'), tls: true, follows: false },
    {
      name: 'fetch',
      send: async (u, h) => void (await (await fetch(u, { headers: h })).text()),
      tls: false,
      follows: true,
    },
    {
      name: 'undici.request',
      send: async (u, h) => void (await (await undici.request(u, { headers: h })).body.text()),
      tls: false,
      follows: false,
    },
    {
      name: 'undici.request, own Agent',
      send: async (u, h) =>
        void (await (await undici.request(u, { headers: h, dispatcher: agent })).body.text()),
      tls: false,
      follows: false,
    },
    {
      name: 'undici.request, Agent.compose(grayInterceptor())',
      send: async (u, h) =>
        void (await (await undici.request(u, { headers: h, dispatcher: composed })).body.text()),
      tls: false,
      follows: false,
    },
    {
      name: 'undici.fetch',
      send: async (u, h) => void (await (await undici.fetch(u, { headers: h })).text()),
      tls: false,
      follows: true,
    },
    {
      name: 'axios (http adapter)',
      send: async (u, h) => void (await axiosHttp.get(u, { headers: h })),
      tls: false,
      follows: true,
    },
    {
      name: 'axios (fetch adapter)',
      send: async (u, h) => void (await axiosFetch.get(u, { headers: h })),
      tls: false,
      follows: true,
    },
    {
      name: 'withGray(fetch)',
      send: async (u, h) => void (await (await grayFetch(u, { headers: h })).text()),
      tls: false,
      follows: true,
    },
    {
      name: 'attachGray(axios http)',
      send: async (u, h) => void (await attachedHttp.get(u, { headers: h })),
      tls: false,
      follows: true,
    },
    {
      name: 'attachGray(axios fetch)',
      send: async (u, h) => void (await attachedFetch.get(u, { headers: h })),
      tls: false,
      follows: true,
    },
  ];
}

/** The server a client sends to for an allowlisted (`a`) or outside (`b`) hop. */
export const target = (client: Client, where: 'a' | 'b'): Name =>
  client.tls ? (`${where}s` as Name) : where;

/** A hop on the allowlisted host that redirects (302) to `to`'s `/echo/<id>`. */
export const redirect = (harness: Harness, id: string, to: string): string =>
  `${harness.origin.a}/r/${id}?to=${encodeURIComponent(`${to}/echo/${id}`)}`;
