import { createLane, outboundStats, withGray } from '@graylane/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalBody } from './support/multipart.js';
import { startRecorder, type Recorder } from './support/recorder.js';

let allowed: Recorder;
let other: Recorder;
let otherName: Recorder;

beforeAll(async () => {
  allowed = await startRecorder();
  other = await startRecorder();
  otherName = await startRecorder('localhost');
});
afterAll(async () => {
  await Promise.all([allowed.close(), other.close(), otherName.close()]);
});

const lane = () => createLane('beta', { allowHosts: [allowed.host] });
const gray = () => withGray(fetch, { lane: lane() });
const hasGrayMember = (baggage: string | undefined) => /(^|,)\s*gray=/.test(baggage ?? '');

type Input = 'string' | 'URL' | 'Request';
const call = (url: string, as: Input, init?: RequestInit): Promise<Response> => {
  const f = gray();
  if (as === 'URL') return f(new URL(url), init);
  if (as === 'Request') return f(new Request(url, init));
  return f(url, init);
};

describe('RDR-01 redirects never carry the marker off the allowlist', () => {
  const targets = [
    ['another port', () => `${other.origin}/final`],
    ['another name for the same machine', () => `${otherName.origin}/final`],
    ['a relative hop that stays', () => '/final'],
  ] as const;
  const cases = [301, 302, 303, 307, 308].flatMap((status) =>
    (['string', 'URL', 'Request'] as const).flatMap((input) =>
      (['GET', 'POST'] as const).flatMap((method) =>
        targets.map(([label, to]) => ({ status, input, method, label, to })),
      ),
    ),
  );

  it.each(cases)(
    '$status $method ($input) to $label',
    async ({ status, input, method, to, label }) => {
      const target = to();
      const url = `${allowed.origin}/r?status=${status}&to=${encodeURIComponent(target)}`;
      const init: RequestInit =
        method === 'POST'
          ? { method, body: 'payload', headers: { 'content-type': 'text/plain', baggage: 'a=1' } }
          : { headers: { baggage: 'a=1' } };
      const res = await call(url, input, init);
      const final = (await res.json()) as {
        method: string;
        marker?: string;
        baggage?: string;
        body: string;
      };
      const first = allowed.hits.filter((h) => h.path === '/r').at(-1);
      // The allowlisted hop carries exactly one marker and one gray member (OUT-01).
      expect(first).toMatchObject({ marker: 'beta', baggage: 'gray=beta,a=1' });
      const stays = label === 'a relative hop that stays';
      expect(final.marker).toBe(stays ? 'beta' : undefined);
      expect(hasGrayMember(final.baggage)).toBe(stays);
      expect(final.baggage).toContain('a=1');
      // The Fetch standard's method rules: 303 (and 301/302 for POST) turn into a body-less GET.
      const toGet = method === 'POST' && status !== 307 && status !== 308;
      expect(final.method).toBe(toGet ? 'GET' : method);
      expect(final.body).toBe(method === 'POST' && !toGet ? 'payload' : '');
    },
  );

  it('RDR-02 a chain leaving and re-entering the allowlist is judged per hop', async () => {
    const back = `${other.origin}/r?status=307&to=${encodeURIComponent(`${allowed.origin}/final`)}`;
    const res = await gray()(`${allowed.origin}/r?status=302&to=${encodeURIComponent(back)}`);
    expect(await res.json()).toMatchObject({
      path: '/final',
      marker: 'beta',
      baggage: 'gray=beta',
    });
    expect(other.hits.at(-1)).toMatchObject({ path: '/r' });
    expect(other.hits.at(-1)?.marker).toBeUndefined();
    expect(other.hits.at(-1)?.baggage).toBeUndefined();
  });

  it('credentials are dropped across origins and kept on the same origin', async () => {
    const headers = { authorization: 'Bearer secret' };
    const away = await gray()(`${allowed.origin}/r?to=${encodeURIComponent(`${other.origin}/x`)}`, {
      headers,
    });
    expect(((await away.json()) as { authorization?: string }).authorization).toBeUndefined();
    const stay = await gray()(`${allowed.origin}/r?to=/x`, { headers });
    expect(await stay.json()).toMatchObject({ authorization: 'Bearer secret' });
  });

  it('more than 20 redirects reject like fetch does', async () => {
    await expect(gray()(`${allowed.origin}/loop`)).rejects.toThrow(/more than 20 redirects/);
    await expect(fetch(`${allowed.origin}/loop`)).rejects.toThrow(TypeError);
  });

  // Locations the Fetch standard refuses to follow (HTTP-redirect fetch steps 3, 5, 9): fetch
  // rejects, so withGray rejects too — never hands the caller a 3xx it did not ask for.
  const refused = [
    ['not a URL', () => 'http://['],
    ['a data: URL', () => 'data:text/plain,x'],
    ['an ftp: URL', () => 'ftp://127.0.0.1/x'],
    ['a javascript: URL', () => 'javascript:alert(1)'],
    ['credentials for another origin', () => `http://user:pw@${other.host}/x`],
    ['credentials for the same origin', () => `http://user:pw@${allowed.host}/x`],
  ] as const;
  it.each(
    refused.flatMap(([label, to]) =>
      (['string', 'URL', 'Request'] as const).map((input) => ({ label, to, input })),
    ),
  )('RDR-01 a redirect to $label rejects as fetch does ($input)', async ({ to, input }) => {
    const url = `${allowed.origin}/r?status=302&to=${encodeURIComponent(to())}`;
    const before = other.hits.length;
    await expect(fetch(url)).rejects.toThrow(TypeError);
    await expect(call(url, input)).rejects.toThrow(TypeError);
    expect(other.hits.length).toBe(before);
  });

  it.each([301, 302, 303, 307, 308])(
    'RDR-01 a followed %i says redirected, with the last URL; a direct answer does not',
    async (status) => {
      const to = `${other.origin}/final`;
      const res = await gray()(`${allowed.origin}/r?status=${status}&to=${encodeURIComponent(to)}`);
      const native = await fetch(
        `${allowed.origin}/r?status=${status}&to=${encodeURIComponent(to)}`,
      );
      expect([res.redirected, res.url]).toEqual([native.redirected, native.url]);
      expect([res.redirected, res.url]).toEqual([true, to]);
      await native.body?.cancel();
      await res.body?.cancel();
      const direct = await gray()(`${allowed.origin}/final`);
      expect(direct.redirected).toBe(false);
      await direct.body?.cancel();
    },
  );

  it.each(['manual', 'error'] as const)(
    'redirect: %s is honoured (only the first hop is ours)',
    async (mode) => {
      const url = `${allowed.origin}/r?to=${encodeURIComponent(`${other.origin}/x`)}`;
      const before = other.hits.length;
      if (mode === 'manual') expect((await gray()(url, { redirect: mode })).status).toBe(302);
      else await expect(gray()(url, { redirect: mode })).rejects.toThrow();
      expect(other.hits.length).toBe(before);
      expect(allowed.hits.at(-1)?.marker).toBe('beta');
    },
  );
});

describe('OUT: one hop', () => {
  it('OUT-02 a non-allowlisted target gets no marker and no gray member; other members stay', async () => {
    const res = await gray()(`${other.origin}/x`, { headers: { baggage: 'gray=stable,a=1' } });
    expect(await res.json()).toEqual(expect.objectContaining({ baggage: 'a=1' }));
    expect(other.hits.at(-1)?.marker).toBeUndefined();
  });

  it('OUT-03 a marker the caller set is kept and never duplicated', async () => {
    const before = outboundStats().skipped_caller;
    const res = await gray()(`${allowed.origin}/x`, { headers: { 'X-Gray-Id': 'stable' } });
    expect(await res.json()).toMatchObject({ marker: 'stable' });
    expect(outboundStats().skipped_caller).toBe(before + 1);
  });

  it("BR-13 the caller's Request, Headers and init are not mutated", async () => {
    const headers = new Headers({ baggage: 'a=1' });
    const init = { headers };
    await gray()(`${allowed.origin}/x`, init);
    expect([...headers]).toEqual([['baggage', 'a=1']]);
    const request = new Request(`${allowed.origin}/x`, { headers: { baggage: 'a=1' } });
    await gray()(request);
    expect(request.headers.get('x-gray-id')).toBeNull();
    expect(allowed.hits.at(-1)).toMatchObject({ marker: 'beta', baggage: 'gray=beta,a=1' });
  });

  it('without a lane the call is passed through untouched', async () => {
    const res = await withGray(fetch)(`${allowed.origin}/x`, {
      headers: { baggage: 'gray=canary' },
    });
    expect(await res.json()).toEqual(expect.objectContaining({ baggage: 'gray=canary' }));
    expect(allowed.hits.at(-1)?.marker).toBeUndefined();
  });

  it('fetchImpl is looked up at call time, not at wrap time', async () => {
    const wrapped = withGray(undefined, { lane: lane() });
    const original = globalThis.fetch;
    let seen: string | null = null;
    globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      seen = new Request(input, init).headers.get('x-gray-id');
      return new Response('ok');
    }) as typeof fetch;
    try {
      await wrapped(`${allowed.origin}/x`);
    } finally {
      globalThis.fetch = original;
    }
    expect(seen).toBe('beta');
  });
});

describe('RDR-01 a 307/308 resends the body like fetch, with bounded memory', () => {
  const PAYLOAD = 'field=value&other=x'.repeat(20);
  const stream = (text: string) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(text));
        c.close();
      },
    });
  const form = () => {
    const f = new FormData();
    f.set('field', 'value');
    f.set('file', new Blob(['file-bytes'], { type: 'text/plain' }), 'a.txt');
    return f;
  };
  type Make = (url: string) => [string | Request, RequestInit | undefined];
  const post =
    (body: NonNullable<RequestInit['body']>): Make =>
    (url) => [url, { method: 'POST', body }];
  // (Node 20's own fetch fails to resend bytes: "detached ArrayBuffer"; the spec resends them.)
  const bodies: [label: string, make: Make, spec: 'resent' | 'rejects'][] = [
    ['a string', post(PAYLOAD), 'resent'],
    ['a Uint8Array', post(new TextEncoder().encode(PAYLOAD)), 'resent'],
    ['an ArrayBuffer', post(new TextEncoder().encode(PAYLOAD).buffer as ArrayBuffer), 'resent'],
    ['a Blob', post(new Blob([PAYLOAD], { type: 'text/plain' })), 'resent'],
    ['URLSearchParams', post(new URLSearchParams(PAYLOAD)), 'resent'],
    ['FormData', () => ['', undefined], 'resent'],
    ['a ReadableStream', () => ['', undefined], 'rejects'],
    [
      'a Request with a string body',
      (url) => [new Request(url, { method: 'POST', body: PAYLOAD }), undefined],
      'resent',
    ],
  ];

  it.each(
    bodies.flatMap(([label, make, native]) =>
      ([307, 308] as const).flatMap((status) =>
        (['another origin', 'the same origin'] as const).map((where) => ({
          label,
          make,
          native,
          status,
          where,
        })),
      ),
    ),
  )('$status with $label to $where', async ({ label, make, native, status, where }) => {
    const to = where === 'another origin' ? `${other.origin}/final` : '/final';
    const url = `${allowed.origin}/r?status=${status}&to=${encodeURIComponent(to)}`;
    // Fresh bodies per call: FormData and streams are built per request.
    const args = (): [string | Request, RequestInit | undefined] => {
      if (label === 'FormData') return [url, { method: 'POST', body: form() }];
      if (label === 'a ReadableStream')
        return [url, { method: 'POST', body: stream(PAYLOAD), duplex: 'half' } as RequestInit];
      return make(url);
    };
    if (native === 'rejects') {
      // The Fetch standard cannot resend a stream: fetch rejects, and so does withGray.
      await expect(fetch(...args())).rejects.toThrow(TypeError);
      await expect(gray()(...args())).rejects.toThrow(TypeError);
      return;
    }
    const res = await gray()(...args());
    const final = (await res.json()) as { body: string; contentType?: string; marker?: string };
    const first = allowed.hits.filter((h) => h.path === '/r').at(-1);
    // The spec resends the same request: the same bytes under the same Content-Type, judged on
    // its own target (RDR-01). FormData given in an init is extracted again by the fetch on
    // each hop (as fetch extracts a body's source): the same parts, each hop's bytes under its
    // own boundary.
    expect(first?.body.length).toBeGreaterThan(0);
    expect(canonicalBody(final)).toEqual(canonicalBody(first));
    expect(final.marker).toBe(where === 'the same origin' ? 'beta' : undefined);
    expect(res.redirected).toBe(true);
  });

  it('the first hop keeps its framing: a Request body is sent with Content-Length, not chunked', async () => {
    const url = `${allowed.origin}/final`;
    await fetch(new Request(url, { method: 'POST', body: PAYLOAD }));
    const native = allowed.hits.at(-1);
    await gray()(new Request(url, { method: 'POST', body: PAYLOAD }));
    const ours = allowed.hits.at(-1);
    expect([ours?.contentLength, ours?.transferEncoding]).toEqual([
      native?.contentLength,
      native?.transferEncoding,
    ]);
  });

  it.each([
    ['a string body, any size', () => PAYLOAD, 'resent'],
    [
      'a Request body within the limit',
      () => new Request('http://x/', { method: 'POST', body: 'x'.repeat(64) }),
      'resent',
    ],
    [
      'a Request body over the limit',
      () => new Request('http://x/', { method: 'POST', body: 'x'.repeat(65) }),
      'rejects',
    ],
    [
      'a streamed Request body over the limit',
      () =>
        new Request('http://x/', {
          method: 'POST',
          body: stream('y'.repeat(4096)),
          duplex: 'half',
        } as RequestInit),
      'rejects',
    ],
  ] as const)(
    'I4 maxReplayBytes bounds what is kept: %s is %s on a 307',
    async (_label, make, want) => {
      const f = withGray(fetch, { lane: lane(), maxReplayBytes: 64 });
      const body = make();
      const url = `${allowed.origin}/r?status=307&to=${encodeURIComponent(`${other.origin}/final`)}`;
      const res =
        typeof body === 'string' ? f(url, { method: 'POST', body }) : f(new Request(url, body));
      if (want === 'rejects') {
        await expect(res).rejects.toThrow(/cannot be resent/);
      } else {
        const final = (await (await res).json()) as { body: string };
        expect(final.body).toBe(typeof body === 'string' ? body : 'x'.repeat(64));
      }
      // Below the limit or not, a 200 answer never needs the copy: the call succeeds.
      const ok = f(
        new Request(`${allowed.origin}/final`, { method: 'POST', body: 'z'.repeat(4096) }),
      );
      expect(((await (await ok).json()) as { body: string }).body).toHaveLength(4096);
    },
  );

  it('rejects a bad maxReplayBytes at construction', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => withGray(fetch, { maxReplayBytes: bad })).toThrow(/maxReplayBytes/);
  });
});

describe('OUT-03 withGray passes on what a Request cannot hold, on every hop', () => {
  // A spy fetch: the first call answers a 302 to another allowlisted path, the next a 200.
  const spy = () => {
    const calls: { url: string; extras: unknown; fields: Record<string, unknown> }[] = [];
    const impl = async (input: string | URL | Request, init?: RequestInit) => {
      // What fetch sends: a `Request`, or a URL and an init (withGray sends a string input so).
      const r = input instanceof Request ? input : new Request(input, init);
      calls.push({
        url: r.url,
        extras: init === undefined ? undefined : { ...init },
        fields: {
          cache: r.cache,
          credentials: r.credentials,
          keepalive: r.keepalive,
          referrerPolicy: r.referrerPolicy,
          marker: r.headers.get('x-gray-id'),
        },
      });
      return calls.length === 1 && r.url.endsWith('/v1')
        ? new Response(null, { status: 302, headers: { location: '/v2' } })
        : new Response('ok');
    };
    return { calls, impl };
  };
  const EXTRAS: [string, Record<string, unknown>][] = [
    ['Next’s next: { revalidate, tags }', { next: { revalidate: 60, tags: ['cart'] } }],
    ['Workers’ cf', { cf: { cacheTtl: 5 } }],
    ['a dispatcher', { dispatcher: { dispatch: () => true } }],
    ['two platform fields', { next: { revalidate: false }, tls: { rejectUnauthorized: true } }],
  ];
  const FIELDS = {
    cache: 'no-store',
    credentials: 'omit',
    keepalive: true,
    referrerPolicy: 'no-referrer',
  };
  const SHAPES: [string, (o: object) => RequestInit][] = [
    ['a plain init', (o) => ({ ...FIELDS, ...o }) as RequestInit],
    ['an init inheriting its fields', (o) => Object.create({ ...FIELDS, ...o }) as RequestInit],
  ];
  const MODES: [string, RequestInit][] = [
    ['redirect follow (graylane follows)', {}],
    ['redirect manual', { redirect: 'manual' }],
    ['the caller’s own marker header', { headers: { 'x-gray-id': 'stable' } }],
  ];
  const rows = EXTRAS.flatMap(([e, x]) =>
    SHAPES.flatMap(([s, make]) => MODES.map(([m, mode]) => [e, s, m, x, make, mode] as const)),
  );

  it.each(rows)('OUT-03 %s, %s, %s', async (_e, _s, mode, extras, make, modeInit) => {
    const { calls, impl } = spy();
    const init = make({ ...extras, ...modeInit });
    const res = await withGray(impl as typeof fetch, {
      lane: createLane('beta', { allowHosts: ['api.test'] }),
    })('https://api.test/v1', init);
    expect(await res.text()).toBe(mode !== 'redirect manual' ? 'ok' : '');
    expect(calls.length).toBe(mode !== 'redirect manual' ? 2 : 1);
    for (const call of calls) {
      expect(call.extras, call.url).toMatchObject(extras);
      expect(call.fields, call.url).toMatchObject(FIELDS);
    }
  });
});
