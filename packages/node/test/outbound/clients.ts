import type http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import axios, { type AxiosInstance } from 'axios';
import * as undici from 'undici';
import type * as Graylane from '../../src/index.js';

/** One outbound call as a test makes it. */
export interface Call {
  readonly method: 'GET' | 'POST';
  readonly body?: string;
  readonly headers: Record<string, string>;
}
export interface Answer {
  readonly status: number;
  readonly body: string;
}
export type Client = (url: string, call: Call) => Promise<Answer>;

/**
 * How each test reaches one client. `mode` says what per-hop guarantee applies:
 * `dispatch` — every hop is judged where the decision is made, so a chain that enters the
 * allowlist late still gets the marker there; `guard` — a `Request` whose own dispatcher
 * graylane cannot read: the listener removes the marker from hops outside the allowlist but
 * never adds one late (fail-safe); `untraced` — `installGlobal` cannot tell whose call it is
 * (undici 7 keeps the caller's handler private behind a composed interceptor, and a pool may
 * create the request from another request's context, I7): no hop gets a marker from graylane.
 */
export interface ClientCase {
  readonly name: string;
  readonly mode: 'dispatch' | 'guard' | 'untraced';
  readonly client: Client;
}

const maxRedirections = 5;

/** follow-redirects (what axios' http adapter uses), loaded as a CommonJS module; it has no types. */
const followRedirects = createRequire(import.meta.url)('follow-redirects') as {
  http: { request: FollowRequest };
  https: { request: FollowRequest };
};
type FollowRequest = (
  url: string,
  options: http.RequestOptions & { agents?: { https?: https.Agent } },
  callback: (res: http.IncomingMessage) => void,
) => http.ClientRequest;

const text = async (res: Response): Promise<Answer> => ({
  status: res.status,
  body: await res.text(),
});

function undiciRequest(dispatcher: undici.Dispatcher): Client {
  return async (url, call) => {
    const res = await undici.request(url, {
      dispatcher,
      method: call.method,
      headers: call.headers,
      ...(call.body === undefined ? {} : { body: call.body }),
    });
    return { status: res.statusCode, body: await res.body.text() };
  };
}

function viaAxios(api: AxiosInstance): Client {
  return async (url, call) => {
    const res = await api.request<string>({
      url,
      method: call.method,
      headers: call.headers,
      data: call.body,
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      validateStatus: () => true,
    });
    return { status: res.status, body: String(res.data) };
  };
}

function viaFollowRedirects(ca: string): Client {
  const agents = { https: new https.Agent({ ca }) };
  return (url, call) =>
    new Promise((resolve, reject) => {
      const mod = url.startsWith('https:') ? followRedirects.https : followRedirects.http;
      const req = mod.request(
        url,
        { method: call.method, headers: call.headers, agents },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end(call.body);
    });
}

/** An init both the global fetch and undici's accept as typed (no casts between the two). */
interface Init {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}
const init = (call: Call): Init => ({
  method: call.method,
  headers: call.headers,
  ...(call.body === undefined ? {} : { body: call.body }),
});

/** Every wrapper-level client graylane offers, each its own variant of the same call. */
export function wrapperClients(gray: typeof Graylane, ca: string): ClientCase[] {
  const tls = (): undici.Agent => new undici.Agent({ connect: { ca } });
  const gf = gray.withGray(fetch);
  const uf = gray.withGray(undici.fetch);
  const axiosHttp = axios.create({ httpsAgent: new https.Agent({ ca }), adapter: 'http' });
  gray.attachGray(axiosHttp);
  const axiosFetch = axios.create({ adapter: 'fetch' });
  gray.attachGray(axiosFetch);
  const grayInner = tls().compose(
    gray.grayInterceptor(),
    undici.interceptors.redirect({ maxRedirections }),
  );
  const grayOuter = tls().compose(
    undici.interceptors.redirect({ maxRedirections }),
    gray.grayInterceptor(),
  );
  const grayOnly = tls().compose(gray.grayInterceptor());
  return [
    {
      name: 'withGray(fetch) string',
      mode: 'dispatch',
      client: (u, c) => gf(u, init(c)).then(text),
    },
    {
      name: 'withGray(fetch) URL',
      mode: 'dispatch',
      client: (u, c) => gf(new URL(u), init(c)).then(text),
    },
    {
      name: 'withGray(fetch) Request',
      mode: 'guard',
      client: (u, c) => gf(new Request(u, init(c))).then(text),
    },
    {
      name: 'withGray(fetch) Request + init.dispatcher',
      mode: 'dispatch',
      client: (u, c) =>
        gf(new Request(u, init(c)), { dispatcher: tls() } as unknown as RequestInit).then(text),
    },
    {
      name: 'withGray(undici.fetch) string',
      mode: 'dispatch',
      client: (u, c) => uf(u, init(c)).then(text),
    },
    {
      name: 'withGray(undici.fetch) undici.Request',
      mode: 'guard',
      client: (u, c) => uf(new undici.Request(u, init(c))).then(text),
    },
    {
      name: 'undici.request, grayInterceptor inside redirect',
      mode: 'dispatch',
      client: undiciRequest(grayInner),
    },
    {
      name: 'undici.request, grayInterceptor outside redirect',
      mode: 'guard',
      client: undiciRequest(grayOuter),
    },
    {
      name: 'undici.fetch with a grayInterceptor dispatcher',
      mode: 'dispatch',
      client: (u, c) => undici.fetch(u, { ...init(c), dispatcher: grayOnly }).then(text),
    },
    { name: 'axios http adapter + attachGray', mode: 'dispatch', client: viaAxios(axiosHttp) },
    { name: 'axios fetch adapter + attachGray', mode: 'dispatch', client: viaAxios(axiosFetch) },
  ];
}

/** Plain clients, covered only by `installGlobal()` (each hop is a request of its own there). */
export function globalClients(ca: string): ClientCase[] {
  const redirecting = new undici.Agent({ connect: { ca } }).compose(
    undici.interceptors.redirect({ maxRedirections }),
  );
  return [
    { name: 'global fetch', mode: 'dispatch', client: (u, c) => fetch(u, init(c)).then(text) },
    {
      name: 'global fetch Request',
      mode: 'dispatch',
      client: (u, c) => fetch(new Request(u, init(c))).then(text),
    },
    {
      name: 'undici.fetch',
      mode: 'dispatch',
      client: (u, c) => undici.fetch(u, init(c)).then(text),
    },
    {
      name: 'undici.request + redirect interceptor',
      mode: 'untraced',
      client: undiciRequest(redirecting),
    },
    {
      name: 'axios http adapter',
      mode: 'dispatch',
      client: viaAxios(axios.create({ httpsAgent: new https.Agent({ ca }), adapter: 'http' })),
    },
    {
      name: 'axios fetch adapter',
      mode: 'dispatch',
      client: viaAxios(axios.create({ adapter: 'fetch' })),
    },
    { name: 'follow-redirects (http/https)', mode: 'dispatch', client: viaFollowRedirects(ca) },
  ];
}
