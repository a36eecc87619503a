import { createLane, withGray, type FetchLike } from '@graylane/web';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hopUrl, startSite, type Hop, type Hops, type Site } from './support/hops.js';
import { canonicalBody } from './support/multipart.js';

/*
 * MISC-02 / I1 — `withGray(undici.fetch)` (npm undici, or any fetch other than the runtime's) with
 * a string or a `URL` inside a lane. withGray built this runtime's `Request` from it and handed
 * that to the fetch, which refuses a `Request` not of its own class ("Failed to parse URL from
 * [object Request]"): a call that works outside a lane rejected inside one. A string or a URL now
 * goes on as a URL and the caller's init, on every hop.
 *
 * Differential: each case is called twice, straight (`impl(input, init)`, no lane) and through
 * withGray inside a lane. withGray's first hop must be the straight call's (method, body and
 * Content-Type as that fetch makes them), a redirect must go as the Fetch standard says, and
 * every hop carries the marker where the allowlist says (RDR-01, OUT-03, I8) and nowhere else.
 */

const hits: Hops = new Map();
let a: Site;
let b: Site;
let seq = 0;

beforeAll(async () => {
  [a, b] = await Promise.all([startSite('a', hits), startSite('b', hits)]);
});
afterAll(() => Promise.all([a.close(), b.close()]));

type Marker = 'lane' | 'caller';
const CALLER: [string, string][] = [
  ['x-gray-id', 'mine'],
  ['baggage', 'gray=mine,k=1'],
];
/** What a hop carries: on the allowlist the caller's marker, else the lane's; off it, neither. */
const verdict = (server: 'a' | 'b', marker: Marker) =>
  server === 'a'
    ? marker === 'caller'
      ? { markers: ['mine'], baggage: ['gray=mine,k=1'] }
      : { markers: ['beta'], baggage: ['gray=beta'] }
    : marker === 'caller'
      ? { markers: [], baggage: ['k=1'] }
      : { markers: [], baggage: [] };

type Impl = { label: string; fetch: FetchLike; FormData: typeof FormData };
const agent = new undici.Agent();
afterAll(() => agent.close());
const IMPLS: Impl[] = [
  {
    label: 'undici.fetch (npm)',
    fetch: undici.fetch as unknown as FetchLike,
    FormData: undici.FormData as unknown as typeof FormData,
  },
  {
    label: 'undici.fetch (npm) with a dispatcher in every init',
    // The init as given (every field, however it is held), plus a dispatcher of its own.
    fetch: ((input, init) =>
      undici.fetch(
        input as string,
        Object.assign(Object.create((init ?? null) as object) as object, {
          dispatcher: agent,
        }) as undici.RequestInit,
      )) as FetchLike,
    FormData: undici.FormData as unknown as typeof FormData,
  },
  // Control: the runtime's own fetch took a Request of its own class before too.
  { label: "the runtime's fetch", fetch: (i, n) => fetch(i, n), FormData },
];

type Input = (url: string) => string | URL;
const INPUTS: [string, Input][] = [
  ['a string', (url) => url],
  ['a URL', (url) => new URL(url)],
  ['an object with toString', (url) => ({ toString: () => url }) as unknown as string],
];

const PAYLOAD = 'field=value&other=x'.repeat(8);
type Body = (impl: Impl) => Pick<RequestInit, 'body'> & { duplex?: 'half' };
const BODIES: [string, Body | undefined][] = [
  ['no body (GET)', undefined],
  ['a string', () => ({ body: PAYLOAD })],
  ['a Uint8Array', () => ({ body: new TextEncoder().encode(PAYLOAD) })],
  ['URLSearchParams', () => ({ body: new URLSearchParams(PAYLOAD) })],
  ['a Blob', () => ({ body: new Blob([PAYLOAD], { type: 'text/plain' }) })],
  [
    "the fetch's own FormData",
    (impl) => {
      const form = new impl.FormData();
      form.set('field', 'value');
      form.set('note', PAYLOAD);
      return { body: form };
    },
  ],
  [
    'a ReadableStream',
    () => ({
      body: new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode(PAYLOAD));
          c.close();
        },
      }),
      duplex: 'half',
    }),
  ],
];

interface Target {
  readonly label: string;
  readonly url: (id: string) => string;
  readonly servers: readonly ('a' | 'b')[];
  /** The redirect's status, if any. */
  readonly status?: number;
}
const TARGETS: Target[] = [
  { label: 'the allowlisted host', url: (id) => hopUrl(a.origin, id), servers: ['a'] },
  { label: 'another host', url: (id) => hopUrl(b.origin, id), servers: ['b'] },
  {
    label: 'a 302 from the allowlist to another host',
    url: (id) => hopUrl(a.origin, id, 302, hopUrl(b.origin, id)),
    servers: ['a', 'b'],
    status: 302,
  },
  {
    label: 'a 303 from another host to the allowlist',
    url: (id) => hopUrl(b.origin, id, 303, hopUrl(a.origin, id)),
    servers: ['b', 'a'],
    status: 303,
  },
  {
    label: 'a 307 within the allowlist',
    url: (id) => hopUrl(a.origin, id, 307, hopUrl(a.origin, id)),
    servers: ['a', 'a'],
    status: 307,
  },
  {
    label: 'a 308 from the allowlist to another host',
    url: (id) => hopUrl(a.origin, id, 308, hopUrl(b.origin, id)),
    servers: ['a', 'b'],
    status: 308,
  },
];

/**
 * What the Fetch standard does after the first hop (which the straight call shows): a 303, and a
 * 302 after a POST, become a body-less GET; a 307/308 resends the body from its source — the
 * same bytes, FormData the same parts under the boundary its Content-Type announces — and
 * fails with a TypeError when the body is a stream (as does any redirect but a 303). (The
 * runtimes differ from the standard here: Node 20's fetch fails to resend bytes, "detached
 * ArrayBuffer"; undici resends FormData under a new boundary with the first hop's
 * Content-Type.)
 */
function standard(target: Target, stream: boolean, first: ReturnType<typeof shape> | undefined) {
  if (first === undefined || target.status === undefined) return { hops: first ? [first] : [] };
  if (stream && target.status !== 303) return { error: 'TypeError', hops: [first] };
  const keep = target.status === 307 || target.status === 308;
  const next = keep
    ? { ...first, server: target.servers[1] }
    : { server: target.servers[1], method: 'GET', body: canonicalBody({ body: '' }) };
  return { hops: [first, next] };
}

/** How a call ended: the answer's status and the hops seen, or the error's class. */
async function outcome(call: () => Promise<Response>, id: string) {
  try {
    const res = await call();
    await res.text();
    return { status: res.status, hops: hits.get(id) ?? [] };
  } catch (error) {
    return { error: (error as Error).name, hops: hits.get(id) ?? [] };
  }
}

const shape = (h: Hop) => ({ server: h.server, method: h.method, body: canonicalBody(h) });

describe('MISC-02 withGray(fetch of another undici) with a string or a URL inside a lane', () => {
  const rows = IMPLS.flatMap((impl) =>
    INPUTS.flatMap(([input, make]) =>
      BODIES.map(([body, init]) => ({ impl, input, make, body, init, label: impl.label })),
    ),
  );

  it.each(rows)(
    'MISC-02 $label · $input · $body: every target, lane and caller marker',
    async ({ impl, make, init, body }) => {
      for (const target of TARGETS) {
        for (const marker of ['lane', 'caller'] as const) {
          const what = `${body}: ${target.label}, ${marker} marker`;
          const request = () => ({
            ...(init === undefined ? {} : { method: 'POST', ...init(impl) }),
            headers: marker === 'caller' ? CALLER : [],
          });
          const plainId = `p${++seq}`;
          const plain = await outcome(
            () => impl.fetch(make(target.url(plainId)), request() as RequestInit),
            plainId,
          );
          const grayId = `g${++seq}`;
          const gray = withGray(impl.fetch, { lane: createLane('beta', { allowHosts: [a.host] }) });
          const got = await outcome(
            () => gray(make(target.url(grayId)), request() as RequestInit),
            grayId,
          );
          // The first hop as the straight call sends it; the redirect as the standard says.
          const first = plain.hops[0] && shape(plain.hops[0]);
          expect(first, what).toMatchObject({ server: target.servers[0] });
          const want = standard(target, body === 'a ReadableStream', first);
          expect({ error: got.error, hops: got.hops.map(shape) }, what).toEqual({
            error: want.error,
            hops: want.hops,
          });
          if (want.error === undefined) expect(got.status, what).toBe(200);
          // Each hop marked where the allowlist says, and nowhere else.
          for (const hop of got.hops)
            expect(
              { markers: hop.markers, baggage: hop.baggage },
              `${what}: ${hop.server}`,
            ).toEqual(verdict(hop.server, marker));
        }
      }
    },
  );

  // Inits fetch reads by member name wherever the field lives: a class's getters, fields defined
  // non-enumerable. (A copy by for…in sent such a POST as a GET without its body, and ignored an
  // aborted signal.) And an input with a `url` field that is not a Request: a URL by toString.
  const aborted = () => AbortSignal.abort();
  const INITS: [string, () => RequestInit][] = [
    [
      'a class with getters (method, body, headers)',
      () =>
        new (class {
          get method() {
            return 'POST';
          }
          get body() {
            return PAYLOAD;
          }
          get headers() {
            return { 'x-app': '1' };
          }
        })() as RequestInit,
    ],
    [
      'non-enumerable fields (method, body)',
      () => Object.defineProperties({}, { method: { value: 'PUT' }, body: { value: PAYLOAD } }),
    ],
    [
      'a non-enumerable aborted signal',
      () => Object.defineProperty({}, 'signal', { value: aborted() }),
    ],
    [
      'an inherited method and body',
      () => Object.create({ method: 'PATCH', body: PAYLOAD }) as RequestInit,
    ],
  ];
  const INPUTS_TOO: [string, Input][] = [
    ...INPUTS,
    [
      'an object with a url field and toString',
      (url) => ({ url: `${url}-field`, toString: () => url }) as unknown as string,
    ],
  ];
  it.each(
    IMPLS.flatMap((impl) =>
      INPUTS_TOO.flatMap(([input, make]) =>
        INITS.map(([init, makeInit]) => ({ impl, label: impl.label, input, make, init, makeInit })),
      ),
    ),
  )('MISC-02 $label · $input · $init: as the straight call', async ({ impl, make, makeInit }) => {
    for (const target of TARGETS.slice(0, 2)) {
      const plainId = `p${++seq}`;
      const plain = await outcome(() => impl.fetch(make(target.url(plainId)), makeInit()), plainId);
      const grayId = `g${++seq}`;
      const gray = withGray(impl.fetch, { lane: createLane('beta', { allowHosts: [a.host] }) });
      const got = await outcome(() => gray(make(target.url(grayId)), makeInit()), grayId);
      expect(
        { status: got.status, error: got.error, hops: got.hops.map(shape) },
        target.label,
      ).toEqual({ status: plain.status, error: plain.error, hops: plain.hops.map(shape) });
      for (const hop of got.hops)
        expect({ markers: hop.markers, baggage: hop.baggage }, target.label).toEqual(
          verdict(hop.server, 'lane'),
        );
    }
  });

  it('MISC-02 the answer is the fetch’s own, marked redirected after a redirect', async () => {
    const gray = withGray(undici.fetch as unknown as FetchLike, {
      lane: createLane('beta', { allowHosts: [a.host] }),
    });
    const id = `r${++seq}`;
    const res = await gray(hopUrl(a.origin, id, 302, hopUrl(b.origin, id)));
    expect(res).toBeInstanceOf(undici.Response);
    expect([res.status, res.redirected, res.url]).toEqual([200, true, hopUrl(b.origin, id)]);
    expect(await res.text()).toBe('ok');
  });
});
