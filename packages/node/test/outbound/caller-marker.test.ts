import http from 'node:http';
import axios from 'axios';
import nodeFetch from 'node-fetch';
import superagent from 'superagent';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachGray,
  grayInterceptor,
  installGlobal,
  runWithGray,
  withGray,
} from '../../src/index.js';
import { chainUrl, startTopology, type Hop, type Site, type Topology } from './servers.js';

/*
 * RDR-01 / I8 (RELIABILITY §10): a hop outside the allowlist gets neither `X-Gray-Id` nor a `gray`
 * baggage member — whoever put them on the request. Two ways the old code let one through, both
 * because "the caller's header wins" was applied on every hop:
 * - `rebuilt`: superagent and node-fetch build each redirect hop from the previous hop's headers,
 *   so the marker graylane added to hop 1 came back on hop 2 looking like the caller's own;
 * - `caller`: the app set the marker itself and called (or was redirected to) a host outside the
 *   allowlist.
 * The caller's header still wins on allowlisted hops: kept as written, never replaced.
 */

let topo: Topology;
let seq = 0;
beforeAll(async () => {
  topo = await startTopology();
});
afterAll(() => topo.close());

type Send = (url: string, headers: Record<string, string>) => Promise<unknown>;
interface ClientRow {
  readonly name: string;
  readonly send: Send;
}

const maxRedirections = 5;

/** Any fetch called as these rows call it: the global one, undici's, node-fetch (no casts). */
type TextFetch = (
  url: string,
  init: { headers: Record<string, string> },
) => Promise<{ text(): Promise<string> }>;

const fetchText =
  (f: TextFetch): Send =>
  async (url, headers) =>
    (await f(url, { headers })).text();

function wrapperRows(): ClientRow[] {
  const axiosHttp = axios.create({ adapter: 'http' });
  attachGray(axiosHttp);
  const axiosFetch = axios.create({ adapter: 'fetch' });
  attachGray(axiosFetch);
  const inner = new undici.Agent().compose(
    grayInterceptor(),
    undici.interceptors.redirect({ maxRedirections }),
  );
  const outer = new undici.Agent().compose(
    undici.interceptors.redirect({ maxRedirections }),
    grayInterceptor(),
  );
  const viaUndici =
    (dispatcher: undici.Dispatcher): Send =>
    async (url, headers) =>
      (await undici.request(url, { dispatcher, headers })).body.text();
  return [
    { name: 'withGray(fetch)', send: fetchText(withGray(fetch)) },
    {
      name: 'withGray(undici.fetch)',
      send: fetchText(withGray(undici.fetch)),
    },
    { name: 'undici.request, grayInterceptor inside redirect', send: viaUndici(inner) },
    { name: 'undici.request, grayInterceptor outside redirect', send: viaUndici(outer) },
    { name: 'axios http + attachGray', send: (url, headers) => axiosHttp.get(url, { headers }) },
    { name: 'axios fetch + attachGray', send: (url, headers) => axiosFetch.get(url, { headers }) },
  ];
}

/** Clients that rebuild each redirect hop from the headers of the previous one. */
function rebuildingRows(): ClientRow[] {
  return [
    {
      name: 'superagent',
      send: async (url, headers) => superagent.get(url).set(headers).redirects(maxRedirections),
    },
    { name: 'withGray(node-fetch)', send: fetchText(withGray(nodeFetch)) },
    { name: 'node-fetch', send: fetchText(nodeFetch) },
  ];
}

/** `http.get` follows no redirect: the caller's marker sent straight to a host. */
const httpGet: ClientRow = {
  name: 'http.get',
  send: (url, headers) =>
    new Promise((resolve, reject) => {
      http
        .get(url, { headers }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    }),
};

const STATUSES = [301, 302, 303, 307, 308] as const;
const OUTSIDE = ['b', 'name', 'v6'] as const;

function members(hop: Hop): string[] {
  return hop.baggage.flatMap((v) => v.split(',')).map((m) => m.trim());
}

const allowlisted = (hop: Hop): boolean => hop.server === 'a' && hop.host.startsWith('127.0.0.1:');

/**
 * Outside the allowlist: no marker, no `gray` member, the other member kept. On an allowlisted
 * hop: exactly `id` once — before the chain left the allowlist. A hop that comes back after the
 * caller's marker was removed may carry it again (a client that resends the caller's headers),
 * graylane's own, or none (the call was planned with the caller's header): never two.
 */
function expectHops(hops: Hop[], id: string, where: string, back = [id]): void {
  expect(hops.length, where).toBeGreaterThan(0);
  let left = false;
  for (const [i, hop] of hops.entries()) {
    const at = `${where}, hop ${i + 1} (${hop.server} ${hop.host})`;
    if (allowlisted(hop) && !left) expect(hop.grayIds, `${at}: X-Gray-Id`).toEqual([id]);
    else if (allowlisted(hop))
      expect([[], ...back.map((v) => [v])], `${at}: X-Gray-Id`).toContainEqual(hop.grayIds);
    else {
      left = true;
      expect(hop.grayIds, `${at}: X-Gray-Id`).toEqual([]);
      expect(
        members(hop).filter((m) => m.startsWith('gray')),
        `${at}: gray member`,
      ).toEqual([]);
    }
    expect(members(hop), `${at}: other member kept`).toContain('a=1');
  }
}

/** Every chain that starts on the allowlisted host and leaves it, or leaves and comes back. */
function chains(t: Topology): [string, Site[], number][] {
  const out: [string, Site[], number][] = [];
  for (const status of STATUSES) {
    for (const o of OUTSIDE) out.push([`a→${o} ${status}`, [t.a, t[o]], status]);
    out.push([`a→b→a ${status}`, [t.a, t.b, t.a], status]);
  }
  return out;
}

async function run(c: ClientRow, sites: Site[], status: number, headers: Record<string, string>) {
  const id = `m${++seq}`;
  await runWithGray('beta', () => c.send(chainUrl(id, sites, status), { ...headers }), {
    allowHosts: [topo.a.origin],
  });
  return { id, hops: topo.hops(id) };
}

const CALLER = { 'X-Gray-Id': 'stable', baggage: 'gray=stable,a=1' };

const names = (rows: ClientRow[]) => rows.map((c) => [c.name, c] as const);

function callerSuite(rows: ClientRow[]): void {
  it.each(names(rows))(
    'RDR-01 %s: a marker the caller set never reaches a host outside the allowlist (direct, every redirect status)',
    async (_name, c) => {
      for (const o of OUTSIDE) {
        const { hops } = await run(c, [topo[o]], 200, CALLER);
        expectHops(hops, 'stable', `${c.name} direct to ${o}`);
      }
      for (const [name, sites, status] of chains(topo)) {
        const { hops } = await run(c, sites, status, CALLER);
        expectHops(hops, 'stable', `${c.name} ${name}`, ['stable', 'beta']);
        // The caller's header wins where it may go: kept as written, never replaced.
        expect(members(hops[0] as Hop), `${c.name} ${name}: caller's member`).toContain(
          'gray=stable',
        );
      }
    },
  );
}

describe('wrappers, no installGlobal', () => {
  callerSuite(wrapperRows());
});

describe('with installGlobal', () => {
  let uninstall: () => void;
  beforeAll(() => {
    uninstall = installGlobal({ allowHosts: [topo.a.origin] });
  });
  afterAll(() => uninstall());

  it.each(names(rebuildingRows()))(
    'RDR-01 %s rebuilds the next hop from the previous hop’s headers: the marker graylane added stays on the allowlist',
    async (_name, c) => {
      for (const [name, sites, status] of chains(topo)) {
        const { hops } = await run(c, sites, status, { baggage: 'a=1' });
        expectHops(hops, 'beta', `${c.name} ${name}`);
      }
    },
  );

  callerSuite([...wrapperRows(), ...rebuildingRows(), httpGet]);
});
