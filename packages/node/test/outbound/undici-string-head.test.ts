import { createRequire } from 'node:module';
import type * as Undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grayInterceptor, outboundStats, runWithGray, withGray } from '../../src/index.js';
import { startTopology, type Topology } from './servers.js';

/*
 * undici < 6.7 (npm 5.x and 6.0–6.6; the undici bundled with the Node 20 releases before it)
 * keeps a request's head as one "name: value\r\n" string where later versions keep a flat list.
 * graylane's `undici:request:create` listener judged only the list: a `grayInterceptor` call on
 * a Client or Pool without `origin` (judged at creation) was counted `injected` and sent without
 * the marker, and a hop outside the allowlist kept a marker fetch copied from the previous hop
 * (`withGray(fetch)` with a `Request` input: I8). The string is now judged as a list and written
 * back. undici 6.6.2 stands for the string form (`interceptors` option: no `compose` before 6.9).
 */

const UNDICI_STRING_HEAD = 'undici-6-6';
const undici = createRequire(import.meta.url)(UNDICI_STRING_HEAD) as typeof Undici;

let topo: Topology;
let seq = 0;
beforeAll(async () => {
  topo = await startTopology();
});
afterAll(() => topo.close());

type Make = (origin: string, allowHosts: string[]) => Undici.Dispatcher;
const KINDS: [string, Make][] = [
  [
    'Client',
    (o, h) =>
      new undici.Client(o, {
        interceptors: { Client: [grayInterceptor({ allowHosts: h })] },
      } as object),
  ],
  [
    'Pool, connections: 1',
    (o, h) =>
      new undici.Pool(o, {
        connections: 1,
        interceptors: { Pool: [grayInterceptor({ allowHosts: h })] },
      } as object),
  ],
];

const counts = (): Record<string, number> => ({ ...outboundStats().outbound });
const delta = (before: Record<string, number>, key: string): number =>
  (counts()[key] ?? 0) - (before[key] ?? 0);

describe.each(KINDS)('%s, grayInterceptor, no origin', (_kind, make) => {
  it('the marker counted injected is the marker sent; none and skipped_host off the allowlist', async () => {
    for (const [site, carried] of [
      ['a', true],
      ['b', false],
    ] as const) {
      const d = make(topo[site].origin, [topo.a.origin]);
      const id = `s${++seq}`;
      const before = counts();
      const call = (lane: string): Promise<string> =>
        runWithGray(lane, async () => {
          const res = await d.request({
            path: `/echo/${id}`,
            method: 'POST',
            body: lane,
            headers: { baggage: 'a=1' },
          });
          return res.body.text();
        });
      await Promise.all([call('alpha'), call('beta')]);
      await d.close();
      const hops = topo.hops(id).sort((x, y) => x.body.localeCompare(y.body));
      expect(
        hops.map((h) => [h.body, h.grayIds, h.baggage]),
        site,
      ).toEqual(
        carried
          ? [
              ['alpha', ['alpha'], ['gray=alpha,a=1']],
              ['beta', ['beta'], ['gray=beta,a=1']],
            ]
          : [
              ['alpha', [], ['a=1']],
              ['beta', [], ['a=1']],
            ],
      );
      expect([delta(before, 'injected'), delta(before, 'skipped_host')], site).toEqual(
        carried ? [2, 0] : [0, 2],
      );
    }
  });
});

it('I8 withGray(fetch) with a Request input: a redirect hop off the allowlist loses the marker', async () => {
  const grayFetch = withGray(undici.fetch, {
    allowHosts: [topo.a.origin],
  });
  for (const status of [301, 302, 303, 307, 308]) {
    const id = `r${++seq}`;
    const url = `${topo.a.origin}/r/${id}/${status}?to=${encodeURIComponent(`${topo.b.origin}/echo/${id}`)}`;
    await runWithGray('beta', async () => {
      await (await grayFetch(new undici.Request(url, { headers: { baggage: 'a=1' } }))).text();
    });
    expect(
      topo.hops(id).map((h) => [h.server, h.grayIds, h.baggage]),
      String(status),
    ).toEqual([
      ['a', ['beta'], ['gray=beta,a=1']],
      ['b', [], ['a=1']],
    ]);
  }
});
