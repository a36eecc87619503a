import { createLane, outboundStats, withGray } from '@graylane/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('more than 20 redirects reject like fetch does; a redirect to a non-http scheme is returned as is', async () => {
    await expect(gray()(`${allowed.origin}/loop`)).rejects.toThrow(/more than 20 redirects/);
    const data = await gray()(`${allowed.origin}/r?to=${encodeURIComponent('data:text/plain,x')}`);
    expect(data.status).toBe(302);
  });

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
    globalThis.fetch = (async (input: string | URL | Request) => {
      seen = new Request(input).headers.get('x-gray-id');
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
