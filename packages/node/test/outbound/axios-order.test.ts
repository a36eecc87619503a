import axios, { type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachGray, runWithGray } from '../../src/index.js';
import { startTopology, type Topology } from './servers.js';

/*
 * CTX-14 (RELIABILITY §10): axios runs request interceptors in reverse registration order, so an
 * interceptor registered before `attachGray` runs after graylane's and can change the target or
 * the headers. The marker must be decided on the final request: after every interceptor, in any
 * registration order, sync or async, on the default instance and on instances, with the http
 * and the fetch adapter. Assertions are on what the real server received.
 */

let topo: Topology;
let seq = 0;
beforeAll(async () => {
  topo = await startTopology();
});
afterAll(() => topo.close());

type Config = InternalAxiosRequestConfig;
interface Row {
  readonly name: string;
  /** The other interceptor: what it does to the config. */
  readonly mutate: (config: Config, t: Topology) => Config | Promise<Config>;
  /** Options for `use` (synchronous / runWhen). */
  readonly use?: { synchronous?: boolean; runWhen?: (c: Config) => boolean };
  /** Where the request is first addressed. */
  readonly start: 'a' | 'b';
  /** Which server receives it, and the X-Gray-Id it must carry. */
  readonly lands: 'a' | 'b';
  readonly grayIds: string[];
}

const at = (t: Topology, site: 'a' | 'b', id: string) => `${t[site].origin}/echo/${id}`;
const retarget = (config: Config, t: Topology, site: 'a' | 'b'): Config => {
  const id = String(config.url).split('/').pop() as string;
  config.url = at(t, site, id);
  return config;
};

const ROWS: Row[] = [
  {
    name: 'retargets an allowlisted URL to another host',
    start: 'a',
    lands: 'b',
    grayIds: [],
    mutate: (c, t) => retarget(c, t, 'b'),
  },
  {
    name: 'retargets another host to the allowlisted one',
    start: 'b',
    lands: 'a',
    grayIds: ['beta'],
    mutate: (c, t) => retarget(c, t, 'a'),
  },
  {
    name: 'retargets asynchronously, after a delay',
    start: 'a',
    lands: 'b',
    grayIds: [],
    mutate: (c, t) => new Promise((r) => setTimeout(() => r(retarget(c, t, 'b')), 5)),
  },
  {
    name: 'retargets synchronously ({ synchronous: true })',
    start: 'a',
    lands: 'b',
    grayIds: [],
    mutate: (c, t) => retarget(c, t, 'b'),
    use: { synchronous: true },
  },
  {
    name: 'retargets under runWhen',
    start: 'a',
    lands: 'b',
    grayIds: [],
    mutate: (c, t) => retarget(c, t, 'b'),
    use: { runWhen: () => true },
  },
  {
    name: 'moves a relative URL to another baseURL',
    start: 'a',
    lands: 'b',
    grayIds: [],
    mutate: (c, t) => {
      c.baseURL = t.b.origin;
      c.url = `/echo/${String(c.url).split('/').pop()}`;
      return c;
    },
  },
  {
    name: 'sets its own X-Gray-Id',
    start: 'a',
    lands: 'a',
    grayIds: ['stable'],
    mutate: (c) => {
      c.headers.set('X-Gray-Id', 'stable');
      return c;
    },
  },
  {
    name: 'replaces the headers with a plain object',
    start: 'a',
    lands: 'a',
    grayIds: ['beta'],
    mutate: (c) => {
      c.headers = axios.AxiosHeaders.from({ accept: 'application/json' });
      return c;
    },
  },
  {
    name: 'removes a marker graylane would have added, then retargets',
    start: 'a',
    lands: 'b',
    grayIds: [],
    mutate: (c, t) => {
      c.headers.delete('x-gray-id');
      return retarget(c, t, 'b');
    },
  },
];

const ORDERS = [
  'registered before attachGray (runs after it)',
  'registered after attachGray (runs before it)',
] as const;
const ADAPTERS = ['http', 'fetch'] as const;

async function send(
  api: AxiosInstance,
  row: Row,
  order: (typeof ORDERS)[number],
  adapter: (typeof ADAPTERS)[number],
): Promise<void> {
  const id = `x${++seq}`;
  const use = () => api.interceptors.request.use((c) => row.mutate(c, topo), null, row.use);
  const ids: number[] = [];
  let eject = () => {};
  if (order === ORDERS[0]) {
    ids.push(use());
    eject = attachGray(api, { allowHosts: [`127.0.0.1:${topo.ports.a}`] });
  } else {
    eject = attachGray(api, { allowHosts: [`127.0.0.1:${topo.ports.a}`] });
    ids.push(use());
  }
  try {
    await runWithGray('beta', () => api.get(at(topo, row.start, id), { adapter }));
  } finally {
    eject();
    for (const i of ids) api.interceptors.request.eject(i);
  }
  const where = `${row.name}, ${order}, ${adapter} adapter`;
  const hops = topo.hops(id);
  expect(
    hops.map((h) => h.server),
    where,
  ).toEqual([topo[row.lands] === topo.a ? 'a' : 'b']);
  expect(hops[0]?.grayIds, where).toEqual(row.grayIds);
  const grays = (hops[0]?.baggage ?? [])
    .flatMap((b) => b.split(','))
    .filter((m) => m.trim().startsWith('gray='));
  expect(grays, `${where}: baggage`).toEqual(row.grayIds[0] === 'beta' ? ['gray=beta'] : []);
}

describe.each([
  ['axios.create()', () => axios.create()],
  ['the default axios instance', () => axios],
] as const)('CTX-14 on %s', (_label, instance) => {
  it.each(ROWS.map((r) => [r.name, r] as const))(
    'CTX-14 another interceptor %s: decided on the final request, both orders, both adapters',
    async (_name, row) => {
      for (const order of ORDERS)
        for (const adapter of ADAPTERS) await send(instance(), row, order, adapter);
    },
  );
});
