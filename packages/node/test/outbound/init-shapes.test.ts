import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWithGray, withGray, type FetchLike } from '../../src/index.js';
import { startTopology, type Topology } from './servers.js';

/*
 * OUT-03 (the caller's call is sent as written): fetch reads its init as a WebIDL dictionary —
 * every member by property access, so getters, inherited fields and a `Request` given as the
 * init all count. `withGray` must send exactly what plain fetch sends (method, body, content
 * type, redirect mode, signal), plus the marker, whatever shape the init has. A spread of the
 * init kept own fields only: a POST went out as a GET without its body.
 */

let topo: Topology;
let seq = 0;
beforeAll(async () => {
  topo = await startTopology();
});
afterAll(() => topo.close());

type Shape = (fields: Record<string, unknown>) => RequestInit;
const SHAPES: [string, Shape][] = [
  ['a plain object', (f) => ({ ...f }) as RequestInit],
  ['inherited fields (Object.create)', (f) => Object.create(f) as RequestInit],
  [
    'a class instance with getters',
    (f) => {
      class Init {
        get method() {
          return f['method'];
        }
        get body() {
          return f['body'];
        }
        get headers() {
          return f['headers'];
        }
        get redirect() {
          return f['redirect'];
        }
      }
      return new Init() as unknown as RequestInit;
    },
  ],
  ['a frozen object', (f) => Object.freeze({ ...f }) as RequestInit],
  [
    'a global Request as the init',
    (f) => new Request('http://127.0.0.1/', f as RequestInit) as unknown as RequestInit,
  ],
];
const FETCHES: [string, FetchLike][] = [
  ['global fetch', fetch],
  ['undici.fetch', undici.fetch as unknown as FetchLike],
];
const CALLS: Record<string, unknown>[] = [
  { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } },
  { method: 'PUT', body: 'put body', headers: { 'content-type': 'application/json' } },
  { method: 'PATCH', body: 'a=1&b=2', headers: { 'content-type': 'text/plain' } },
  { method: 'DELETE', body: 'gone', headers: { 'content-type': 'text/plain' } },
  { method: 'GET', headers: { 'x-extra': '1' } },
  // A redirect that leads elsewhere: `manual` must survive, or fetch follows it.
  { method: 'GET', redirect: 'manual', headers: { 'x-extra': '2' } },
];

interface Sent {
  readonly status: number;
  readonly method: string;
  readonly body: string;
  readonly grayIds: string[];
}

async function send(f: FetchLike, init: RequestInit, marked: boolean): Promise<Sent> {
  const id = `i${++seq}`;
  const manual = (init as { redirect?: string }).redirect === 'manual';
  const url = manual
    ? `${topo.a.origin}/r/${id}/302?to=${encodeURIComponent(`${topo.a.origin}/echo/${id}x`)}`
    : `${topo.a.origin}/echo/${id}`;
  const call = () => (marked ? withGray(f, { allowHosts: [topo.a.origin] }) : f)(url, init);
  const res = await (marked ? runWithGray('beta', call) : call());
  await res.arrayBuffer();
  const hops = topo.hops(id);
  expect(hops, `${id}: one hop (redirect ${manual ? 'not ' : ''}followed)`).toHaveLength(1);
  const hop = hops[0] as (typeof hops)[number];
  return { status: res.status, method: hop.method, body: hop.body, grayIds: hop.grayIds };
}

describe('OUT-03 withGray(fetch) sends the init as fetch reads it', () => {
  it.each(FETCHES.flatMap(([f, impl]) => SHAPES.map(([s, make]) => [f, s, impl, make] as const)))(
    'OUT-03 %s, init as %s: same method, body and redirect mode as plain fetch, plus the marker',
    async (_f, _s, impl, make) => {
      for (const fields of CALLS) {
        const plain = await send(impl, make(fields), false);
        const gray = await send(impl, make(fields), true);
        const at = JSON.stringify(fields);
        expect(plain.grayIds, at).toEqual([]);
        expect({ ...gray, grayIds: [] }, at).toEqual(plain);
        expect(gray.grayIds, at).toEqual(['beta']);
      }
    },
  );

  it('OUT-03 a signal given by a getter still aborts the call', async () => {
    const controller = new AbortController();
    controller.abort();
    const init = Object.create({ signal: controller.signal }) as RequestInit;
    const call = runWithGray('beta', () =>
      withGray(fetch, { allowHosts: [topo.a.origin] })(`${topo.a.origin}/echo/s`, init),
    );
    await expect(call).rejects.toThrow(/abort/i);
  });
});
