import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWithGray, withGray, type FetchLike } from '../../src/index.js';
import { chainUrl, startTopology, type Topology } from './servers.js';

/*
 * MISC-02 (RELIABILITY §10): `withGray(undici.fetch)` with an `undici.Request` is carried like a
 * global `Request` with the global fetch — same headers, same per-hop behaviour. A Request is
 * recognised by its shape, never by `instanceof` (each fetch implementation has its own class).
 */

let topo: Topology;
let seq = 0;
beforeAll(async () => {
  topo = await startTopology();
});
afterAll(() => topo.close());

type Make = (url: string, init?: RequestInit) => Request;
const PAIRS: [string, FetchLike, Make][] = [
  ['global fetch + global Request', fetch, (u, i) => new Request(u, i)],
  [
    'undici.fetch + undici.Request',
    undici.fetch as unknown as FetchLike,
    (u, i) => new undici.Request(u, i as unknown as undici.RequestInit) as unknown as Request,
  ],
];

interface Row {
  readonly name: string;
  readonly init?: RequestInit;
  /** Per-call init given next to the Request. */
  readonly extra?: RequestInit;
  readonly to: 'a' | 'b';
  readonly grayIds: string[];
  readonly baggage: string;
}

const ROWS: Row[] = [
  { name: 'plain GET to the allowlisted host', to: 'a', grayIds: ['beta'], baggage: 'gray=beta' },
  { name: 'to another host', to: 'b', grayIds: [], baggage: '' },
  {
    name: 'Request headers with other baggage',
    init: { headers: { baggage: 'a=1' } },
    to: 'a',
    grayIds: ['beta'],
    baggage: 'gray=beta,a=1',
  },
  {
    name: 'Request carrying its own X-Gray-Id',
    init: { headers: { 'x-gray-id': 'stable' } },
    to: 'a',
    grayIds: ['stable'],
    baggage: '',
  },
  {
    name: 'POST with a body',
    init: { method: 'POST', body: 'payload' },
    to: 'a',
    grayIds: ['beta'],
    baggage: 'gray=beta',
  },
  {
    name: 'init.headers replacing the Request headers',
    init: { headers: { 'x-gray-id': 'stable' } },
    extra: { headers: { baggage: 'b=2' } },
    to: 'a',
    grayIds: ['beta'],
    baggage: 'gray=beta,b=2',
  },
  {
    name: 'another host, stale gray member in the Request',
    init: { headers: { baggage: 'gray=stable,a=1' } },
    to: 'b',
    grayIds: [],
    baggage: 'a=1',
  },
];

describe.each(PAIRS)('MISC-02 %s', (_name, impl, make) => {
  it.each(ROWS.map((r) => [r.name, r] as const))('MISC-02 %s', async (_n, row) => {
    const id = `m${++seq}`;
    const f = withGray(impl);
    const req = make(`${topo[row.to].origin}/echo/${id}`, row.init);
    const res = await runWithGray('beta', () => f(req, row.extra), {
      allowHosts: [`127.0.0.1:${topo.ports.a}`],
    });
    expect(res.status).toBe(200);
    const hop = topo.hops(id)[0];
    expect(hop?.grayIds).toEqual(row.grayIds);
    expect(hop?.baggage.join(',')).toBe(row.baggage);
    expect(req.headers.has('x-gray-id')).toBe(
      row.init?.headers !== undefined && 'x-gray-id' in row.init.headers,
    );
  });

  it('MISC-02 RDR-01 a redirect to another host drops the marker, as for a global Request', async () => {
    const id = `m${++seq}`;
    const res = await runWithGray(
      'beta',
      () => withGray(impl)(make(chainUrl(id, [topo.a, topo.b], 302))),
      {
        allowHosts: [`127.0.0.1:${topo.ports.a}`],
      },
    );
    expect(res.status).toBe(200);
    expect(topo.hops(id).map((h) => h.grayIds)).toEqual([['beta'], []]);
  });
});

describe('fetch redirect modes and odd inputs', () => {
  const allowHosts = () => [`127.0.0.1:${topo.ports.a}`];

  it.each(['string', 'URL', 'Request'] as const)(
    "RDR-01 redirect: 'manual' returns the 3xx as fetch does, marker on that hop only (%s input)",
    async (shape) => {
      const id = `m${++seq}`;
      const url = chainUrl(id, [topo.a, topo.b], 302);
      const input =
        shape === 'string'
          ? url
          : shape === 'URL'
            ? new URL(url)
            : new Request(url, { redirect: 'manual' });
      const init: RequestInit | undefined =
        shape === 'Request' ? undefined : { redirect: 'manual' };
      const res = await runWithGray('beta', () => withGray(fetch)(input, init), {
        allowHosts: allowHosts(),
      });
      expect(res.status).toBe(302);
      expect(topo.hops(id).map((h) => h.grayIds)).toEqual([['beta']]);
    },
  );

  it("RDR-01 redirect: 'error' rejects exactly like the plain fetch", async () => {
    const id = `m${++seq}`;
    const plain = await fetch(chainUrl(`p${id}`, [topo.a, topo.b], 302), {
      redirect: 'error',
    }).catch((e: Error) => e);
    const gray = await runWithGray(
      'beta',
      () =>
        withGray(fetch)(chainUrl(id, [topo.a, topo.b], 302), { redirect: 'error' }).catch(
          (e: Error) => e,
        ),
      { allowHosts: allowHosts() },
    );
    expect(plain).toBeInstanceOf(TypeError);
    expect(gray).toBeInstanceOf(TypeError);
    expect((gray as Error).message).toBe((plain as Error).message);
  });

  it('RDR-01 a fetch that is not undici-based still gets the marker on the first request (documented limit for its redirects)', async () => {
    const seen: [string, string | null][] = [];
    const fake: FetchLike = async (input, init) => {
      const h = new Headers(init?.headers);
      seen.push([String(input instanceof Request ? input.url : input), h.get('x-gray-id')]);
      return new Response('ok');
    };
    await runWithGray(
      'beta',
      async () => {
        await withGray(fake)(`${topo.a.origin}/x`);
        await withGray(fake)(`${topo.b.origin}/x`);
      },
      { allowHosts: allowHosts() },
    );
    expect(seen).toEqual([
      [`${topo.a.origin}/x`, 'beta'],
      [`${topo.b.origin}/x`, null],
    ]);
  });

  it('I1 Request-like objects that are not valid are passed through untouched, never thrown on', async () => {
    const calls: unknown[] = [];
    const fake = (async (input: unknown, init?: unknown) => {
      calls.push([input, init]);
      return new Response('ok');
    }) as unknown as FetchLike;
    const odd = [
      { url: 'not a url', headers: new Headers() },
      { url: 42, headers: new Headers() },
      {
        url: 'http://127.0.0.1/',
        headers: {
          get: () => {
            throw new Error('boom');
          },
          has: () => {
            throw new Error('boom');
          },
        },
      },
      Object.create(null),
    ];
    await runWithGray(
      'beta',
      async () => {
        for (const input of odd) await withGray(fake)(input as unknown as Request);
      },
      { allowHosts: ['127.0.0.1'] },
    );
    expect(calls).toHaveLength(odd.length);
  });
});
