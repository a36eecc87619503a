import axios, { type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachGray, runWithGray } from '../../src/index.js';
import { chainUrl, startTopology, type Site, type Topology } from './servers.js';

/*
 * RDR-01 / I8 with the caller's own `beforeRedirect` (review 56 D1): axios's http adapter runs
 * the config's `beforeRedirect` on every hop follow-redirects takes. A caller that re-applies its
 * headers there (its own `X-Gray-Id`, a `baggage` with a `gray` member) ran after graylane had
 * judged the hop, so a host off the allowlist got the marker. Now the hop is judged as it will be
 * sent: after the caller's hook, wherever the hook comes from (the request config, the
 * instance's defaults, an interceptor that sets it before or after `attachGray`), whatever it
 * writes, for every redirect status. The hook's other headers still go (it ran); an allowlisted
 * hop keeps the marker.
 */

let topo: Topology;
let seq = 0;
beforeAll(async () => {
  topo = await startTopology();
});
afterAll(() => topo.close());

type Options = { headers?: Record<string, unknown> };
type Hook = (options: Options) => void;

const WRITES: [string, Hook][] = [
  ['X-Gray-Id', (o) => void ((o.headers ??= {})['X-Gray-Id'] = 'beta')],
  ['x-gray-id in lower case', (o) => void ((o.headers ??= {})['x-gray-id'] = 'beta')],
  ['X-GRAY-ID as an array', (o) => void ((o.headers ??= {})['X-GRAY-ID'] = ['beta'])],
  ['a baggage gray member', (o) => void ((o.headers ??= {})['baggage'] = 'a=1,gray=beta')],
  [
    'both, baggage in title case',
    (o) => {
      const h = (o.headers ??= {});
      h['X-Gray-Id'] = 'beta';
      h['Baggage'] = 'gray=beta';
    },
  ],
  [
    'a new headers object',
    (o) => void (o.headers = { ...o.headers, 'X-Gray-Id': 'beta', baggage: 'gray=beta' }),
  ],
];
/** Hook calls, counted: the caller's hook runs on every redirect hop. */
let calls = 0;
const counted =
  (write: Hook): Hook =>
  (o) => {
    calls++;
    write(o);
  };

type Where =
  'the request config' | 'the instance defaults' | 'a later interceptor' | 'an earlier interceptor';
const WHERE: Where[] = [
  'the request config',
  'the instance defaults',
  'a later interceptor',
  'an earlier interceptor',
];

/** Where the chain goes after the allowlisted `a`; each hop's expected `X-Gray-Id` lines. */
const TARGETS: [string, (t: Topology) => Site[], (t: Topology) => string[][]][] = [
  ['another port', (t) => [t.a, t.b], () => [['beta'], []]],
  ['the same port under another name', (t) => [t.a, t.name], () => [['beta'], []]],
  ['another port and back', (t) => [t.a, t.b, t.a], () => [['beta'], [], ['beta']]],
];
const STATUSES = [301, 302, 303, 307, 308];

function client(where: Where, hook: Hook): { api: AxiosInstance; config: object } {
  const allowHosts = [`127.0.0.1:${topo.ports.a}`];
  const setHook = (c: InternalAxiosRequestConfig) => {
    (c as unknown as { beforeRedirect?: Hook }).beforeRedirect = hook;
    return c;
  };
  if (where === 'the instance defaults') {
    const api = axios.create({ adapter: 'http', beforeRedirect: hook } as object);
    attachGray(api, { allowHosts });
    return { api, config: {} };
  }
  const api = axios.create({ adapter: 'http' });
  if (where === 'an earlier interceptor') api.interceptors.request.use(setHook);
  attachGray(api, { allowHosts });
  if (where === 'a later interceptor') api.interceptors.request.use(setHook);
  return { api, config: where === 'the request config' ? { beforeRedirect: hook } : {} };
}

const rows = WHERE.flatMap((where) =>
  WRITES.flatMap(([writes, write]) =>
    TARGETS.map(([target, sites, expected]) => ({ where, writes, write, target, sites, expected })),
  ),
);

describe('RDR-01 the caller’s beforeRedirect cannot send the marker off the allowlist', () => {
  it.each(rows)(
    'RDR-01 a hook in $where writes $writes; 30x to $target',
    async ({ where, write, sites, expected }) => {
      const { api, config } = client(where, counted(write));
      for (const status of STATUSES) {
        const id = `br${++seq}`;
        calls = 0;
        const res = await runWithGray('beta', () =>
          api.post(chainUrl(id, sites(topo), status), 'x=1', config),
        );
        expect(res.status).toBe(200);
        const hops = topo.hops(id);
        const label = `${status}`;
        expect(
          hops.map((h) => h.server),
          label,
        ).toEqual(sites(topo).map((s) => (s.name === 'name' ? 'a' : s.name)));
        expect(
          hops.map((h) => h.grayIds),
          label,
        ).toEqual(expected(topo));
        hops.forEach((h, i) => {
          const grays = h.baggage
            .flatMap((b) => b.split(','))
            .filter((m) => m.trim().toLowerCase().startsWith('gray'));
          expect(grays.length > 0, `${label} hop ${i}: a gray member`).toBe(
            expected(topo)[i]!.length > 0,
          );
        });
        // The caller's hook ran on every redirect hop.
        expect(calls, label).toBe(hops.length - 1);
      }
    },
  );
});
