import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import axios, { type AxiosRequestConfig } from 'axios';
import { HttpProxyAgent } from 'http-proxy-agent';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { attachGray, installGlobal, runWithGray } from '../../src/index.js';
import {
  chainUrl,
  closeLocal,
  listenLocal,
  markersOf,
  startTopology,
  type Topology,
} from './servers.js';

/*
 * I8, CTX-14: `attachGray(axios)` with the http adapter and a forward proxy — `config.proxy`, or
 * HTTP_PROXY/http_proxy in the environment, which axios honours unless `proxy: false`. The head
 * reaches the proxy (absolute-form request line), so the proxy must be allowlisted as well as
 * the target. The old code judged the target URL only and sent the marker to any proxy. Every
 * redirect hop through the proxy is judged the same way (axios re-applies the proxy before
 * graylane's `beforeRedirect`). Rows run with `attachGray` alone and beside `installGlobal()`.
 */

interface Seen extends ReturnType<typeof markersOf> {
  readonly url: string;
}

let topo: Topology;
let proxy: http.Server;
let proxyOrigin: string;
const viaProxy: Seen[] = [];
const ENV = [
  'HTTP_PROXY',
  'http_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
  'npm_config_proxy',
  'npm_config_http_proxy',
  'NPM_CONFIG_PROXY',
  'NPM_CONFIG_HTTP_PROXY',
];
const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));

function record(req: IncomingMessage): Seen {
  return { url: req.url ?? '', ...markersOf(req) };
}

beforeAll(async () => {
  topo = await startTopology();
  // A forward proxy: records what reaches it and relays the absolute-form URL's answer as is.
  proxy = http.createServer((req, res) => {
    viaProxy.push(record(req));
    req.resume();
    http
      .get(new URL(req.url ?? '/'), (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      })
      .on('error', () => res.writeHead(502).end());
  });
  proxyOrigin = await listenLocal(proxy);
});
afterEach(() => {
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});
afterAll(async () => {
  await closeLocal(proxy);
  await topo.close();
});

interface How {
  readonly name: string;
  /** Per-request config (and environment) that routes the call through the proxy. */
  readonly setup: () => AxiosRequestConfig;
}
const p = () => new URL(proxyOrigin);
const HOWS: How[] = [
  {
    name: 'config.proxy',
    setup: () => ({ proxy: { protocol: 'http', host: p().hostname, port: Number(p().port) } }),
  },
  {
    name: 'config.proxy, protocol with a colon',
    setup: () => ({ proxy: { protocol: 'http:', host: p().hostname, port: Number(p().port) } }),
  },
  {
    name: 'HTTP_PROXY',
    setup: () => {
      process.env['HTTP_PROXY'] = proxyOrigin;
      return {};
    },
  },
  {
    name: 'http_proxy without a scheme',
    setup: () => {
      process.env['http_proxy'] = p().host;
      return {};
    },
  },
  {
    // http-proxy-agent: axios hands it every http: hop, redirects included (follow-redirects).
    name: 'httpAgent (HttpProxyAgent)',
    setup: () => ({ httpAgent: new HttpProxyAgent(proxyOrigin) }),
  },
  {
    name: 'ALL_PROXY, NO_PROXY for another host',
    setup: () => {
      process.env['ALL_PROXY'] = proxyOrigin;
      process.env['NO_PROXY'] = 'orders.internal,.svc';
      return {};
    },
  },
];

type Allow = 'target' | 'both';
const allowOf = (which: Allow): string[] =>
  which === 'target' ? [topo.a.origin] : [topo.a.origin, proxyOrigin];

let seq = 0;
async function call(
  adapter: AxiosRequestConfig['adapter'],
  url: string,
  config: AxiosRequestConfig,
  allow: string[],
): Promise<Seen[]> {
  const api = axios.create(adapter === undefined ? {} : { adapter });
  attachGray(api);
  viaProxy.length = 0;
  await runWithGray('beta', () => api.get(url, config), { allowHosts: allow });
  return [...viaProxy];
}

function expectMarker(s: Seen | undefined, marker: boolean, where: string): void {
  expect(s, where).toBeDefined();
  expect(s?.grayIds, `${where}: X-Gray-Id`).toEqual(marker ? ['beta'] : []);
  expect(s?.grays, `${where}: gray member`).toEqual(marker ? ['gray=beta'] : []);
}

function suite(): void {
  describe.each([
    ['http adapter', 'http'],
    ['default adapters', undefined],
  ] as const)('%s', (_a, adapter) => {
    it.each(HOWS.map((h) => [h.name, h] as const))(
      'I8 a forward proxy set by %s is judged with the target',
      async (name, how) => {
        for (const which of ['target', 'both'] as const) {
          const url = `${topo.a.origin}/echo/x${++seq}`;
          const seen = await call(adapter, url, how.setup(), allowOf(which));
          expect(
            seen.map((s) => s.url),
            `${name} ${which}`,
          ).toEqual([url]);
          expectMarker(seen[0], which === 'both', `${name}, allowlisted: ${which}`);
        }
      },
    );

    it.each(HOWS.map((h) => [h.name, h] as const))(
      'RDR-01 I8 every redirect hop through a proxy set by %s is judged',
      async (name, how) => {
        for (const status of [302, 307])
          for (const which of ['target', 'both'] as const) {
            const id = `r${++seq}`;
            const seen = await call(
              adapter,
              chainUrl(id, [topo.a, topo.b, topo.a], status),
              how.setup(),
              allowOf(which),
            );
            const where = `${name} ${status} allowlisted: ${which}`;
            expect(seen, where).toHaveLength(3);
            expectMarker(seen[0], which === 'both', `${where}, hop 1 (a)`);
            expectMarker(seen[1], false, `${where}, hop 2 (b)`);
            expectMarker(seen[2], which === 'both', `${where}, hop 3 (a)`);
          }
      },
    );

    it.each([
      ['httpAgent (HttpProxyAgent)', () => ({ httpAgent: new HttpProxyAgent(proxyOrigin) })],
      [
        'HTTP_PROXY',
        () => {
          process.env['HTTP_PROXY'] = proxyOrigin;
          return {};
        },
      ],
    ] as const)(
      'RDR-01 I8 an https hop goes direct, the http hop it redirects to through %s is judged',
      async (name, setup) => {
        for (const which of ['target', 'both'] as const) {
          const id = `t${++seq}`;
          const allow = [topo.tls.origin, ...allowOf(which)];
          const seen = await call(
            adapter,
            chainUrl(id, [topo.tls, topo.a], 302),
            { ...setup(), httpsAgent: new https.Agent({ ca: topo.ca }) },
            allow,
          );
          const where = `${name} allowlisted: ${which}`;
          expect(topo.hops(id)[0]?.server, where).toBe('tls');
          expect(topo.hops(id)[0]?.grayIds, `${where}, hop 1 (tls, direct)`).toEqual(['beta']);
          expect(seen, where).toHaveLength(1);
          expectMarker(seen[0], which === 'both', `${where}, hop 2 (a via the proxy)`);
        }
      },
    );
  });

  it.each([
    ['npm_config_proxy', 'npm_config_proxy'],
    ['npm_config_http_proxy', 'npm_config_http_proxy'],
    ['NPM_CONFIG_PROXY', 'NPM_CONFIG_PROXY'],
  ])(
    'I8 %s (exported by npm, ignored by proxy-from-env 2) does not withhold the marker',
    async (_n, variable) => {
      process.env[variable] = proxyOrigin;
      const id = `n${++seq}`;
      const seen = await call('http', `${topo.a.origin}/echo/${id}`, {}, allowOf('target'));
      expect(seen, variable).toEqual([]);
      expect(topo.hops(id)[0]?.grayIds, variable).toEqual(['beta']);
    },
  );

  it.each([
    ['proxy: false', () => ({ proxy: false as const })],
    [
      'NO_PROXY names the target',
      () => {
        process.env['HTTP_PROXY'] = proxyOrigin;
        process.env['NO_PROXY'] = '127.0.0.1';
        return {};
      },
    ],
    ['the fetch adapter', () => ({ adapter: 'fetch' as const })],
  ])('I8 no proxy (%s): the target alone decides', async (name, setup) => {
    process.env['HTTP_PROXY'] = proxyOrigin;
    const id = `d${++seq}`;
    const seen = await call('http', `${topo.a.origin}/echo/${id}`, setup(), allowOf('target'));
    expect(seen, name).toEqual([]);
    expect(topo.hops(id)[0]?.grayIds, name).toEqual(['beta']);
  });
}

describe('attachGray alone', () => {
  suite();
});

describe('attachGray beside installGlobal', () => {
  let uninstall: () => void;
  beforeAll(() => {
    uninstall = installGlobal();
  });
  afterAll(() => uninstall());
  suite();
});
