import { Writable } from 'node:stream';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grayInterceptor, runWithGray } from '../../src/index.js';
import { startTopology, type Hop, type Topology } from './servers.js';

/*
 * `grayInterceptor()` composed onto an undici Client or Pool: callers name only the path, the
 * dispatcher supplies its own origin. The old code judged the dispatch options, found no origin,
 * refused the hop (counted `skipped_host`) and the marker never went out. The host is now judged
 * where undici creates the request, on its origin: allowlisted → the marker; not → none, and a
 * `gray` member the caller forwarded is removed (I8). Under a connection-limited pool with calls
 * in several lanes (and none) at once, each request carries its own caller's version (I7), also
 * when the pool creates it later from its queue, behind a retry interceptor.
 */

let topo: Topology;
let seq = 0;
beforeAll(async () => {
  topo = await startTopology();
});
afterAll(() => topo.close());

type Make = (origin: string) => undici.Dispatcher;
const KINDS: [string, Make][] = [
  ['Client', (o) => new undici.Client(o).compose(grayInterceptor())],
  ['Pool', (o) => new undici.Pool(o).compose(grayInterceptor())],
  [
    'Pool, connections: 1',
    (o) => new undici.Pool(o, { connections: 1 }).compose(grayInterceptor()),
  ],
  [
    'Pool, connections: 1, retry outside',
    (o) =>
      new undici.Pool(o, { connections: 1 }).compose(
        grayInterceptor(),
        undici.interceptors.retry({ maxRetries: 1, minTimeout: 1 }),
      ),
  ],
  [
    'Pool, allowHosts on the interceptor',
    (o) => new undici.Pool(o).compose(grayInterceptor({ allowHosts: [topo.a.origin] })),
  ],
];

type Send = (d: undici.Dispatcher, path: string, headers: Record<string, string>) => Promise<void>;
const METHODS: [string, Send][] = [
  [
    'request',
    async (d, path, headers) => {
      await (await d.request({ path, method: 'GET', headers })).body.text();
    },
  ],
  [
    'stream',
    async (d, path, headers) => {
      await d.stream(
        { path, method: 'GET', headers },
        () => new Writable({ write: (_c, _e, cb) => cb() }),
      );
    },
  ],
  [
    'pipeline',
    (d, path, headers) =>
      new Promise((resolve, reject) => {
        const s = d.pipeline({ path, method: 'GET', headers }, ({ body }) => body);
        s.on('data', () => undefined)
          .on('end', resolve)
          .on('error', reject);
        s.end();
      }),
  ],
];

function members(hop: Hop): string[] {
  return hop.baggage.flatMap((v) => v.split(',')).map((m) => m.trim());
}

function expectHop(hop: Hop | undefined, version: string | undefined, where: string): void {
  expect(hop, where).toBeDefined();
  const h = hop as Hop;
  expect(h.grayIds, `${where}: X-Gray-Id`).toEqual(version === undefined ? [] : [version]);
  expect(
    members(h).filter((m) => m.startsWith('gray')),
    `${where}: gray member`,
  ).toEqual(version === undefined ? [] : [`gray=${version}`]);
  expect(members(h), `${where}: other member`).toContain('a=1');
}

describe.each(KINDS)('%s', (kind, make) => {
  it.each(METHODS)(
    'I8 %s without origin: judged on the dispatcher’s own origin',
    async (method, send) => {
      for (const [site, version] of [
        ['a', 'beta'],
        ['b', undefined],
        ['name', undefined],
      ] as const) {
        const d = make(topo[site].origin);
        const id = `o${++seq}`;
        await runWithGray('beta', () => send(d, `/echo/${id}`, { baggage: 'a=1,gray=stable' }), {
          allowHosts: [topo.a.origin],
        });
        expectHop(topo.hops(id)[0], version, `${kind} ${method} → ${site}`);
        await d.close();
      }
    },
  );

  it('I7 concurrent calls in several lanes and none: each request carries its own', async () => {
    const d = make(topo.a.origin);
    const lanes = ['alpha', 'beta', undefined] as const;
    const calls = Array.from({ length: 18 }, (_, i) => {
      const lane = lanes[i % 3];
      const id = `q${++seq}`;
      const go = (): Promise<void> =>
        (METHODS[i % METHODS.length] as [string, Send])[1](d, `/echo/${id}`, { baggage: 'a=1' });
      const run =
        lane === undefined ? go() : runWithGray(lane, go, { allowHosts: [topo.a.origin] });
      return run.then(() => ({ id, lane }));
    });
    for (const { id, lane } of await Promise.all(calls)) {
      const hop = topo.hops(id)[0];
      const where = `${kind} ${id} lane ${lane ?? 'none'}`;
      expectHop(hop, lane, where);
    }
    await d.close();
  });
});
