import * as gray from '@graylane/node';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  globalClients,
  wrapperClients,
  type Call,
  type ClientCase,
} from '../../packages/node/test/outbound/clients.js';
import {
  chainUrl,
  selfSignedCert,
  startTopology,
  type Hop,
  type Site,
  type Topology,
} from '../../packages/node/test/outbound/servers.js';

/*
 * RDR-01/02 (RELIABILITY §10): a redirect from an allowlisted host must not carry the marker to a
 * host that is not allowlisted, for every outbound API graylane offers, and every hop of a chain
 * is judged on its own target. Real servers on loopback: another port, another name
 * (`localhost` for 127.0.0.1), another IP (`[::1]`) and another scheme (https on a port the
 * allowlist names for http only). Each chain also runs once outside any graylane context: the
 * hops (server, method, path, body) and the answer must be the same — graylane never changes
 * what the client does with the redirect (method and body rules, limits), it only judges the marker.
 */

const TLS = selfSignedCert();
let topo: Topology;
let previous: undici.Dispatcher;
let seq = 0;

beforeAll(async () => {
  topo = await startTopology(TLS);
  previous = undici.getGlobalDispatcher();
  // Global fetch, undici.fetch and the axios fetch adapter trust the test certificate.
  undici.setGlobalDispatcher(new undici.Agent({ connect: { ca: topo.ca } }));
}, 30_000);
afterAll(async () => {
  undici.setGlobalDispatcher(previous);
  await topo.close();
});

const STATUSES = [301, 302, 303, 307, 308] as const;
const CALLS: Call[] = [
  { method: 'GET', headers: { baggage: 'a=1' } },
  { method: 'POST', body: 'payload', headers: { baggage: 'a=1', 'content-type': 'text/plain' } },
];

/** Three spellings of the same allowlist: host:port, exact origin, anchored RegExp. */
function allowVariants(t: Topology): gray.OutboundOptions['allowHosts'][] {
  const { a, tls } = t.ports;
  // `tls` is named with its http scheme only, so https://127.0.0.1:PT is "another scheme".
  return [
    [`127.0.0.1:${a}`, `http://127.0.0.1:${tls}`],
    [`http://127.0.0.1:${a}`, `http://127.0.0.1:${tls}`],
    [new RegExp(`^http://127\\.0\\.0\\.1:(${a}|${tls})$`)],
  ];
}

const graySites = (t: Topology): Site[] => [t.a];

function members(hop: Hop): string[] {
  return hop.baggage.flatMap((v) => v.split(',')).map((m) => m.trim());
}

/** The marker is on `hop` exactly once, or not at all; the caller's other member always is. */
function expectMarker(hop: Hop, marker: string | undefined, where: string): void {
  const grays = members(hop).filter((m) => m.startsWith('gray='));
  if (marker === undefined) {
    expect(hop.grayIds, `${where}: X-Gray-Id`).toEqual([]);
    expect(grays, `${where}: gray member`).toEqual([]);
  } else {
    expect(hop.grayIds, `${where}: X-Gray-Id`).toEqual([marker]);
    expect(grays, `${where}: gray member`).toEqual([`gray=${marker}`]);
  }
  expect(members(hop), `${where}: other baggage kept`).toContain('a=1');
}

const shape = (hops: Hop[], id: string) =>
  hops.map((h) => [h.server, h.host.split(':')[0], h.method, h.path.replace(id, '<id>'), h.body]);

/**
 * Sends `call` along `sites` inside a graylane context (version `beta`) and once outside it;
 * returns the hops of the graylane run after checking both runs did the same thing.
 */
async function runChain(
  c: ClientCase,
  sites: Site[],
  status: number,
  call: Call,
  allowHosts: gray.OutboundOptions['allowHosts'],
): Promise<Hop[]> {
  const id = `c${++seq}`;
  const base = `b${seq}`;
  const answer = await gray.runWithGray('beta', () => c.client(chainUrl(id, sites, status), call), {
    ...(allowHosts === undefined ? {} : { allowHosts }),
  });
  const plain = await c.client(chainUrl(base, sites, status), call);
  const where = `${c.name} ${call.method} ${status} via ${sites.map((s) => s.name).join('→')}`;
  expect(answer, `${where}: same answer as without graylane`).toEqual(plain);
  expect(answer.status, where).toBe(200);
  expect(shape(topo.hops(id), id), `${where}: same hops as without graylane`).toEqual(
    shape(topo.hops(base), base),
  );
  return topo.hops(id);
}

/** The marker graylane puts on an allowlisted hop for `c`: none where it cannot trace the call. */
const onAllowed = (c: ClientCase, version: string): string | undefined =>
  c.mode === 'untraced' ? undefined : version;

function redirectSuite(clients: ClientCase[]): void {
  const targets = ['b', 'name', 'v6', 'tls'] as const;

  describe.each(clients.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    it.each(targets)(
      'RDR-01 an allowlisted host redirects to a host that is not (%s): no marker on the next hop, every status and method',
      async (target) => {
        const allows = allowVariants(topo);
        const k = targets.indexOf(target);
        // Every status on every target; the method alternates so each status meets both.
        const runs = STATUSES.map(async (status, i) => {
          const call = CALLS[(i + k) % CALLS.length] as Call;
          const allow = allows[(i + k) % allows.length];
          const hops = await runChain(c, [topo.a, topo[target]], status, call, allow);
          const where = `${c.name} ${call.method} ${status} → ${target}`;
          expect(hops, where).toHaveLength(2);
          expectMarker(hops[0] as Hop, onAllowed(c, 'beta'), `${where} (hop 1, allowlisted)`);
          expectMarker(hops[1] as Hop, undefined, `${where} (hop 2, ${target})`);
        });
        await Promise.all(runs);
      },
    );

    it('RDR-02 a chain that leaves and re-enters the allowlist is judged per hop', async () => {
      const chains: Site[][] = [
        [topo.a, topo.b, topo.a],
        [topo.a, topo.v6, topo.name, topo.a],
        [topo.a, topo.tls, topo.a],
        [topo.a, topo.a, topo.b, topo.a],
      ];
      const allows = allowVariants(topo);
      const runs = chains.flatMap((sites, i) =>
        [0, 2, 4].map(async (offset, j) => {
          const status = STATUSES[(i + offset) % STATUSES.length] as number;
          const n = i * 3 + j;
          const call = CALLS[n % CALLS.length] as Call;
          const hops = await runChain(c, sites, status, call, allows[n % allows.length]);
          expect(hops).toHaveLength(sites.length);
          sites.forEach((site, k) =>
            expectMarker(
              hops[k] as Hop,
              graySites(topo).includes(site) ? onAllowed(c, 'beta') : undefined,
              `${c.name} ${status} hop ${k + 1} at ${site.name} of ${sites.map((s) => s.name).join('→')}`,
            ),
          );
        }),
      );
      await Promise.all(runs);
    });

    it('RDR-02 a chain that enters the allowlist late: marker from that hop on, or (Request without a readable dispatcher) never', async () => {
      const runs = STATUSES.map(async (status) => {
        const hops = await runChain(c, [topo.b, topo.a], status, CALLS[0] as Call, [
          `127.0.0.1:${topo.ports.a}`,
        ]);
        expectMarker(hops[0] as Hop, undefined, `${c.name} ${status} hop 1 at b`);
        // 'guard' mode removes but never adds late: the fail-safe side of I8.
        const late = c.mode === 'dispatch' ? 'beta' : undefined;
        expectMarker(hops[1] as Hop, late, `${c.name} ${status} hop 2 at a`);
      });
      await Promise.all(runs);
    });

    it("RDR-01 OUT-03 I8 a marker the caller set is the caller's on allowlisted hops, never duplicated, and never leaves the allowlist", async () => {
      const call: Call = { method: 'GET', headers: { baggage: 'a=1', 'X-Gray-Id': 'stable' } };
      const runs = STATUSES.map(async (status) => {
        const hops = await runChain(c, [topo.a, topo.b, topo.a], status, call, [
          `127.0.0.1:${topo.ports.a}`,
        ]);
        const [first, outside, back] = hops as [Hop, Hop, Hop];
        expect(first.grayIds, `${c.name} ${status} hop 1`).toEqual(['stable']);
        // An untraced call's next hop is created where graylane sees no lane (its callbacks run
        // without one, I7): there the caller's own header is left as written.
        if (c.mode !== 'untraced') expectMarker(outside, undefined, `${c.name} ${status} hop 2`);
        // Back on the allowlist after the caller's marker was removed: the caller's again (a
        // client that resends the caller's headers), graylane's, or none; never two.
        expect([[], ['stable'], ['beta']], `${c.name} ${status} hop 3`).toContainEqual(
          back.grayIds,
        );
      });
      await Promise.all(runs);
    });

    it("RDR-02 I7 concurrent chains on kept-alive sockets: each hop carries its own request's version", async () => {
      const versions = ['beta', 'stable', 'canary'];
      const runs = Array.from({ length: 12 }, (_, i) => {
        const version = versions[i % versions.length] as string;
        const id = `k${++seq}`;
        const sites = i % 2 ? [topo.a, topo.b, topo.a] : [topo.a, topo.a, topo.a];
        return gray
          .runWithGray(version, () => c.client(chainUrl(id, sites, 307), CALLS[0] as Call), {
            allowHosts: [`127.0.0.1:${topo.ports.a}`],
          })
          .then(() => ({ id, version, sites }));
      });
      for (const { id, version, sites } of await Promise.all(runs)) {
        const hops = topo.hops(id);
        expect(hops).toHaveLength(sites.length);
        sites.forEach((site, i) =>
          expectMarker(
            hops[i] as Hop,
            site === topo.a ? onAllowed(c, version) : undefined,
            `${c.name} ${id} hop ${i + 1}`,
          ),
        );
      }
    });
  });
}

describe('wrapper-level clients: withGray, grayInterceptor, attachGray', () => {
  redirectSuite(wrapperClients(gray, TLS.cert));
});

describe('installGlobal: plain clients, per-hop hooks', () => {
  let uninstall: () => void = () => {};
  beforeAll(() => {
    uninstall = gray.installGlobal();
  });
  afterAll(() => uninstall());
  redirectSuite(globalClients(TLS.cert));
});
