// @vitest-environment happy-dom
import { bucket } from '@graylane/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { installFetch, split, withGray, type GrayOptions } from '../src/index.js';
import { PLAIN } from '../src/plain.js';
import { at, clearCookies, initOnReload as initGray } from './page.js';

const base: GrayOptions = { versions: ['stable', 'beta'], default: 'stable' };

afterEach(() => {
  vi.restoreAllMocks();
  clearCookies();
  at('http://localhost/');
});

describe('assignment order', () => {
  it('QS-02 query override is opt-in, page-only unless persistOverride', () => {
    at('http://localhost/?gray=beta');
    expect(initGray(base).getGrayVersion()).toBe('stable');
    const c = initGray({ ...base, override: true });
    expect([c.getGrayVersion(), c.getGrayReason()]).toEqual(['beta', 'override']);
    expect(document.cookie).not.toContain('gray=beta');
    initGray({ ...base, override: true, persistOverride: true });
    expect(document.cookie).toContain('gray=beta');
  });

  it.each([
    ['QS-03 repeated key', '?gray=beta&gray=beta'],
    ['QS-04 bracket keys', '?gray[]=beta&gray[__proto__]=x'],
    ['QS-05 bad escapes and CRLF', '?gray=beta%0d%0a'],
    ['QS-06 key is case-sensitive', '?GRAY=beta'],
  ])('%s is ignored', (_id, search) => {
    at(`http://localhost/${search}`);
    expect(initGray({ ...base, override: true }).getGrayVersion()).toBe('stable');
  });

  it('override → server → cookie → rules → default', () => {
    document.cookie = 'gray=stable; Path=/';
    expect(initGray({ ...base, serverVersion: 'beta' }).getGrayReason()).toBe('server');
    // The hand-off ruled that page view only: the cookie is as it was, and beats rules.
    const next = initGray({ ...base, rules: () => ({ version: 'beta', reason: 'rule' }) });
    expect([next.getGrayVersion(), next.getGrayReason()]).toEqual(['stable', 'cookie']);
    clearCookies();
    document.cookie = 'gray=beta; Path=/';
    expect(
      initGray({ ...base, rules: () => ({ version: 'stable', reason: 'rule' }) }).getGrayReason(),
    ).toBe('cookie');
    clearCookies();
    const ruled = initGray({ ...base, rules: () => ({ version: 'beta', reason: 'rule' }) });
    expect([ruled.getGrayVersion(), ruled.getGrayReason()]).toEqual(['beta', 'rule']);
  });

  it('PREC-03 / CK-02 an unknown or ambiguous cookie is ignored, reported, and removed', () => {
    document.cookie = 'gray=gamma; Path=/';
    const c = initGray(base);
    expect([c.getGrayVersion(), c.getGrayReason()]).toEqual(['stable', 'unknown_version']);
    // Removed with Max-Age=0, which happy-dom expires only once its clock ticks: allow `gray=`.
    expect(document.cookie).not.toMatch(/(^|; )gray=[^;]/);
    expect(initGray({ ...base, serverVersion: 'BETA' }).getGrayReason()).toBe('invalid_marker');
  });

  it('WT-02/I9 split buckets the anonymous id with core bucket, sticky across inits', () => {
    const first = initGray({ ...base, rules: split({ beta: 50 }) });
    const id = /gray_aid=([0-9a-f]{32})/.exec(document.cookie)?.[1] ?? '';
    expect(first.getGrayVersion()).toBe(bucket('gray', id) < 5000 ? 'beta' : 'stable');
    expect(first.getGrayReason()).toBe('weight');
    document.cookie = 'gray=; Path=/; Max-Age=0';
    expect(initGray({ ...base, rules: split({ beta: 50 }) }).getGrayVersion()).toBe(
      first.getGrayVersion(),
    );
    expect(() => split({ beta: 60, stable: 50 })).toThrow(/\[graylane\]/);
    expect(() => split({ beta: 5.5 })).toThrow(/\[graylane\]/);
  });

  it('rejects invalid options at init only', () => {
    expect(() => initGray({ versions: ['stable'], default: 'beta' })).toThrow(/INVALID|default/);
    expect(() => initGray({ versions: ['Stable'], default: 'Stable' })).toThrow(/\[graylane\]/);
    expect(() => initGray({ ...base, allow: ['https://api.example.com/path'] })).toThrow(
      /\[graylane\]/,
    );
  });
});

// The cookie rows (BC) run against both jars in cookies.test.ts.
describe('tracking', () => {
  it('onAssign fires once per change; subscribe/unsubscribe; tracking fields; listener errors are contained', () => {
    const calls: string[] = [];
    const c = initGray({ ...base, onAssign: (v, r) => calls.push(`${v}:${r}`) });
    const off = c.subscribe(() => {
      throw new Error('listener bug');
    });
    c.setGrayVersion('beta');
    c.setGrayVersion('beta');
    expect(c.setGrayVersion('gamma')).toBe(false);
    off();
    c.clearGrayVersion();
    expect(calls).toEqual(['stable:default', 'beta:manual', 'stable:default']);
    expect(c.getTrackingFields()).toEqual({ gray_version: 'stable', gray_reason: 'default' });
  });
});

describe('propagation', () => {
  it('withGray looks globalThis.fetch up at call time and passes through without a client header', async () => {
    const c = initGray({ ...base, serverVersion: 'beta' });
    const wrapped = withGray();
    const seen: Array<[string, string | null]> = [];
    vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
      seen.push([String(input), new Headers(init?.headers).get('x-gray-id')]);
      return new Response('ok');
    });
    await wrapped('/api');
    await wrapped('https://third.example/x');
    expect(seen).toEqual([
      ['/api', 'beta'],
      ['https://third.example/x', null],
    ]);
    expect(c.markerFor('javascript:alert(1)')).toBeUndefined();
    vi.unstubAllGlobals();
  });

  it('installFetch installs at most once and uninstall restores the original', () => {
    const original = globalThis.fetch;
    const off = installFetch();
    const patched = globalThis.fetch;
    expect(installFetch()).toBe(off);
    expect(globalThis.fetch).toBe(patched);
    off();
    expect(globalThis.fetch).toBe(original);
  });
});

describe('RDR-01/03 withGray replays plain (fast checks; real redirects in test/chromium)', () => {
  interface Call {
    readonly input: unknown;
    readonly init: RequestInit | undefined;
    readonly marker: string | null;
  }
  function fake(answers: Array<Partial<Response> | Error>): {
    calls: Call[];
    fetch: (i: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  } {
    const calls: Call[] = [];
    return {
      calls,
      fetch: async (input, init) => {
        const headers = new Headers(
          init?.headers ?? (input instanceof Request ? input.headers : undefined),
        );
        calls.push({ input, init, marker: headers.get('x-gray-id') });
        const answer = answers.shift() ?? { type: 'basic', status: 200 };
        if (answer instanceof Error) throw answer;
        return { url: '', headers: new Headers(), ...answer } as Response;
      },
    };
  }

  it.each([
    ['GET', { type: 'opaqueredirect' as const }, 2],
    ['HEAD', { type: 'opaqueredirect' as const }, 2],
    ['OPTIONS', new TypeError('Failed to fetch'), 2],
    ['get', { type: 'opaqueredirect' as const }, 2],
    ['GET', new TypeError('Failed to fetch'), 2],
    ['GET', { type: 'cors' as const, status: 200 }, 1],
    ['POST', new TypeError('Failed to fetch'), 1],
    ['PATCH', new TypeError('Failed to fetch'), 1],
    ['PUT', { type: 'opaqueredirect' as const }, 1],
    ['DELETE', new TypeError('Failed to fetch'), 1],
  ])(
    '%s answered %o: %i call(s); a re-send is the caller’s request as written',
    async (method, answer, n) => {
      initGray({ ...base, serverVersion: 'beta' });
      const { calls, fetch } = fake([answer]);
      const init: RequestInit = { method, headers: { 'x-app': '1' } };
      const outcome = await withGray(fetch)('/api', init).then(
        () => 'ok',
        (e: Error) => e.name,
      );
      expect(calls).toHaveLength(n);
      expect(calls[0]?.marker).toBe('beta');
      expect(calls[0]?.init?.redirect).toBe(
        /^(GET|HEAD|OPTIONS)$/i.test(method) ? 'manual' : undefined,
      );
      if (n === 2) {
        // The caller's init as written (every field, read through the copy), tagged as graylane's
        // plain re-send for a graylane hook under this one.
        expect([calls[1]?.input, calls[1]?.marker]).toEqual(['/api', null]);
        const resent = calls[1]?.init as Record<PropertyKey, unknown>;
        for (const [key, value] of Object.entries(init)) expect(resent[key]).toBe(value);
        expect(resent[PLAIN]).toBe(true);
        expect(outcome).toBe('ok');
      } else expect(outcome).toBe(answer instanceof Error ? 'TypeError' : 'ok');
    },
  );

  it('the caller’s redirect mode other than follow, a stream body or an abort: no probe, no re-send', async () => {
    initGray({ ...base, serverVersion: 'beta' });
    const manual = fake([{ type: 'opaqueredirect' }]);
    await withGray(manual.fetch)('/api', { redirect: 'manual' });
    expect(manual.calls.map((c) => c.init?.redirect)).toEqual(['manual']);
    const stream = fake([new TypeError('x')]);
    const body = new ReadableStream();
    await withGray(stream.fetch)('/api', { method: 'PUT', body }).catch(() => undefined);
    expect(stream.calls.map((c) => [c.init?.redirect, c.marker])).toEqual([[undefined, 'beta']]);
    const aborted = fake([new DOMException('stop', 'AbortError')]);
    await withGray(aborted.fetch)('/api').catch(() => undefined);
    expect(aborted.calls).toHaveLength(1);
  });

  // OUT-03: the marked init keeps what fetch would have read from the caller's init.
  it.each([
    ['inherited fields (Object.create)', (f: RequestInit) => Object.create(f) as RequestInit],
    ['a frozen object', (f: RequestInit) => Object.freeze({ ...f })],
    ['a plain object', (f: RequestInit) => ({ ...f })],
  ])('OUT-03 an init given as %s keeps its method, body and mode', async (_name, make) => {
    initGray({ ...base, serverVersion: 'beta' });
    for (const fields of [
      { method: 'POST', body: 'payload', credentials: 'include' },
      { method: 'DELETE', body: 'gone', mode: 'cors' },
      { method: 'PUT', body: 'x', redirect: 'error', cache: 'no-store' },
    ] as RequestInit[]) {
      const { calls, fetch } = fake([{ type: 'basic', status: 200 }]);
      await withGray(fetch)('/api', make(fields));
      const sent = calls[0]?.init as Record<string, unknown>;
      expect(calls[0]?.marker).toBe('beta');
      for (const [key, value] of Object.entries(fields)) expect(sent[key], key).toBe(value);
      // A fetch wrapper that copies the init with a spread (instrumentation) sees the same, for
      // a plain init: its own fields are the marked init's own fields.
      if (Object.getPrototypeOf(make(fields)) === Object.prototype) {
        const spread = { ...sent };
        for (const [key, value] of Object.entries(fields)) expect(spread[key], key).toBe(value);
      }
    }
  });

  // RDR-03, writes: a server that answers a write with a redirect, or fails after it, has acted;
  // a plain re-send would act again, on the default lane. Every input shape, every spelling.
  const WRITES = ['PUT', 'put', 'Delete', 'DELETE', 'POST', 'patch', 'PURGE', 'MKCOL', 'LOCK'];
  const SHAPES = {
    string: (method: string) => ['/api', { method, body: 'x' }] as const,
    URL: (method: string) => [new URL('http://localhost/api'), { method, body: 'x' }] as const,
    Request: (method: string) =>
      [new Request('http://localhost/api', { method, body: 'x' }), undefined] as const,
    'Request + init': (method: string) =>
      [new Request('http://localhost/api'), { method, body: 'x' }] as const,
  };
  const ANSWERS: Array<[string, Partial<Response> | Error]> = [
    ['an opaque redirect', { type: 'opaqueredirect' }],
    ['a network failure', new TypeError('Failed to fetch')],
    ['a 503', { type: 'basic', status: 503 }],
  ];
  it.each(
    WRITES.flatMap((method) =>
      Object.keys(SHAPES).flatMap((shape) =>
        ANSWERS.map(([answer, value]) => ({ method, shape, answer, value })),
      ),
    ),
  )(
    'RDR-03 a write ($method, $shape input) answered with $answer is sent once, marked, as written',
    async ({ method, shape, value }) => {
      initGray({ ...base, serverVersion: 'beta' });
      const { calls, fetch } = fake([value, { type: 'basic', status: 200 }]);
      const [input, init] = SHAPES[shape as keyof typeof SHAPES](method);
      const outcome = await withGray(fetch)(input, init).then(
        (r) => r.type ?? 'ok',
        (e: Error) => e.name,
      );
      expect(calls).toHaveLength(1);
      expect(calls[0]?.marker).toBe('beta');
      // The caller's redirect mode: the browser follows (same-origin 303 → GET just works).
      expect(calls[0]?.init?.redirect).toBeUndefined();
      expect(outcome).toBe(value instanceof Error ? 'TypeError' : value.type);
    },
  );

  it.each(['GET', 'get', 'HEAD', 'OPTIONS', 'options'])(
    'RDR-03 control: a safe %s through installFetch answered with a redirect is re-sent plain once',
    async (method) => {
      initGray({ ...base, serverVersion: 'beta' });
      const { calls, fetch } = fake([{ type: 'opaqueredirect' }]);
      vi.stubGlobal('fetch', fetch);
      const off = installFetch();
      try {
        await globalThis.fetch('/api', { method });
      } finally {
        off();
        vi.unstubAllGlobals();
      }
      expect(calls.map((c) => [c.marker, c.init?.redirect])).toEqual([
        ['beta', 'manual'],
        [null, undefined],
      ]);
    },
  );

  it('a Request input is cloned for the marked attempt and re-sent untouched', async () => {
    initGray({ ...base, serverVersion: 'beta' });
    const { calls, fetch } = fake([{ type: 'opaqueredirect' }]);
    const request = new Request('http://localhost/api', { method: 'OPTIONS', body: 'payload' });
    await withGray(fetch)(request);
    expect(calls[0]?.input).not.toBe(request);
    expect(calls[1]?.input).toBe(request);
    expect(calls[1]?.marker).toBeNull();
    expect(await request.text()).toBe('payload');
  });
});
