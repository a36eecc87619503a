import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as undici from 'undici';
import * as gray from '../../src/index.js';
import { globalClients, wrapperClients, type ClientCase } from './clients.js';
import { chainUrl, selfSignedCert, startTopology, type Topology } from './servers.js';

/*
 * `graylane.outbound` counts per hop (docs/node.md §8): a chain allowlisted → other host →
 * allowlisted is two `injected` and one `skipped_host`, whichever wrapper and mechanism judged
 * the hops (dispatch time, the undici listener, follow-redirects' beforeRedirect).
 */

const TLS = selfSignedCert();
let topo: Topology;
let seq = 0;
beforeAll(async () => {
  topo = await startTopology(TLS);
});
afterAll(() => topo.close());

async function expectPerHopCounts(c: ClientCase): Promise<void> {
  if (c.mode === 'untraced') return expectUntracedCounts(c);
  const before = gray.outboundStats().outbound;
  const id = `n${++seq}`;
  await gray.runWithGray(
    'beta',
    () => c.client(chainUrl(id, [topo.a, topo.b, topo.a], 302), { method: 'GET', headers: {} }),
    { allowHosts: [`127.0.0.1:${topo.ports.a}`] },
  );
  const after = gray.outboundStats().outbound;
  expect(topo.hops(id).map((h) => h.grayIds)).toEqual([['beta'], [], ['beta']]);
  expect({
    injected: after.injected - before.injected,
    skipped_host: after.skipped_host - before.skipped_host,
  }).toEqual({ injected: 2, skipped_host: 1 });
}

/**
 * A call installGlobal cannot trace (I7): the allowlisted first hop is counted `skipped_context`
 * and goes out without a marker; the hops undici makes from its callbacks carry no lane.
 */
async function expectUntracedCounts(c: ClientCase): Promise<void> {
  const before = gray.outboundStats().outbound;
  const id = `u${++seq}`;
  await gray.runWithGray(
    'beta',
    () => c.client(chainUrl(id, [topo.a, topo.b, topo.a], 302), { method: 'GET', headers: {} }),
    { allowHosts: [`127.0.0.1:${topo.ports.a}`] },
  );
  const after = gray.outboundStats().outbound;
  expect(topo.hops(id).map((h) => h.grayIds)).toEqual([[], [], []]);
  expect({
    injected: after.injected - before.injected,
    skipped_host: after.skipped_host - before.skipped_host,
    skipped_context: after.skipped_context - before.skipped_context,
  }).toEqual({ injected: 0, skipped_host: 0, skipped_context: 1 });
}

const title = 'RDR-02 %s: one count per hop, whichever mechanism judged it';

describe('wrapper-level clients', () => {
  it.each(wrapperClients(gray, TLS.cert).map((c) => [c.name, c] as const))(title, (_n, c) =>
    expectPerHopCounts(c),
  );
});

describe('installGlobal', () => {
  let uninstall: () => void = () => {};
  let previous: undici.Dispatcher;
  beforeAll(() => {
    previous = undici.getGlobalDispatcher();
    undici.setGlobalDispatcher(new undici.Agent({ connect: { ca: TLS.cert } }));
    uninstall = gray.installGlobal();
  });
  afterAll(() => {
    uninstall();
    undici.setGlobalDispatcher(previous);
  });
  it.each(globalClients(TLS.cert).map((c) => [c.name, c] as const))(title, (_n, c) =>
    expectPerHopCounts(c),
  );
});
