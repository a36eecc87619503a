import * as node from '@graylane/node';
import { isGraylaneError } from '@graylane/core';
import {
  createGraylane,
  createLane,
  editedHeaders,
  provideAsyncLocalStorage,
  runWithGray,
  withGray,
  type FetchLike,
  type WebOutcome,
} from '@graylane/web';
import { graylaneHono } from '@graylane/web/hono';
import { describe, expect, it } from 'vitest';

/*
 * Bad arguments in @graylane/web (review 120 D3, D4): each is `INVALID_OPTIONS` naming the call,
 * or a documented fallback, never a raw TypeError. The old source threw "is not iterable",
 * "Cannot read properties of undefined", "handler is not a function", "als is not a
 * constructor", "reading 'status'", accepted `withGray(0)` until its first call, and read an
 * `allowHosts` string letter by letter (`'internal'` sent the marker to `http://i/`).
 */

const config = { versions: ['stable', 'beta'], default: 'stable' };
const gray = createGraylane({ config, allowHosts: ['api.internal'] });
const outcome = (): Promise<WebOutcome> =>
  gray.decide(new Request('https://shop.example/', { headers: { 'x-gray-id': 'beta' } }));
/** Plain-JS values where a typed argument goes. */
const junk = (v: unknown): never => v as never;

async function codeOf(call: () => unknown): Promise<string> {
  try {
    await call();
    return 'returned';
  } catch (err) {
    return isGraylaneError(err)
      ? `${err.code} ${err.message.replace(/^\[graylane\] /, '')}`
      : `raw ${String(err)}`;
  }
}

describe('D3: allowHosts that is not a list, in every factory that takes it', () => {
  const VALUES: [string, unknown][] = [
    ['a host name', 'internal'],
    ['a dotted host', 'api.internal'],
    ['an origin', 'https://api.internal'],
    ['zero', 0],
    ['an object', {}],
    ['a function', () => ['api.internal']],
  ];
  const CALLS: [string, (allowHosts: unknown) => unknown][] = [
    ['createGraylane', (h) => createGraylane({ config, allowHosts: junk(h) })],
    ['withGray(fetch, { allowHosts })', (h) => withGray(fetch, { allowHosts: junk(h) })],
    ['createLane', (h) => createLane('beta', { allowHosts: junk(h) })],
    ['runWithGray', (h) => runWithGray('beta', () => 1, { allowHosts: junk(h) })],
    ['graylaneHono', (h) => graylaneHono({ config, allowHosts: junk(h) })],
    ['@graylane/node createGraylane', (h) => node.createGraylane({ config, allowHosts: junk(h) })],
    ['@graylane/node withGray', (h) => node.withGray(fetch, { allowHosts: junk(h) })],
    ['@graylane/node grayInterceptor', (h) => node.grayInterceptor({ allowHosts: junk(h) })],
    [
      '@graylane/node runWithGray',
      (h) => node.runWithGray('beta', () => 1, { allowHosts: junk(h) }),
    ],
  ];
  it.each(CALLS.flatMap(([call, f]) => VALUES.map(([v, value]) => [call, v, f, value] as const)))(
    'D3 %s: allowHosts %s → INVALID_OPTIONS naming allowHosts',
    async (_call, _v, f, value) => {
      expect(await codeOf(() => f(value))).toMatch(
        /^INVALID_OPTIONS .*allowHosts must be an array/,
      );
    },
  );

  it.each([
    ['internal', 'http://i/'],
    ['api', 'http://a/'],
  ])('D3 withGray in a lane: allowHosts %j never sends the marker to %s', async (allow, url) => {
    let sent: string | null = 'not called';
    const probe: FetchLike = async (input, init) => {
      sent = new Headers(init?.headers ?? (input as Request).headers).get('x-gray-id');
      return new Response('');
    };
    try {
      await withGray(probe, { lane: createLane('beta'), allowHosts: junk(allow) })(url);
    } catch {
      // Refused at construction: nothing was sent.
    }
    expect(sent === 'not called' || sent === null).toBe(true);
  });
});

describe('D4: web calls given what they do not take', () => {
  it.each([
    ['sticky', { sticky: null }],
    ['precedence', { precedence: null }],
  ])('D4 createGraylane({ %s: null }) counts as not given', async (_k, extra) => {
    const g = createGraylane({ config, ...(extra as object) });
    const o = await g.decide(new Request('https://a/', { headers: { 'x-gray-id': 'beta' } }));
    expect(o.decision.version).toBe('beta');
    expect(o.setCookies).toEqual([]);
  });

  const NOT_OUTCOMES: unknown[] = [undefined, null, 0, 'x', {}, [], { lane: 5 }, () => {}];
  it.each(NOT_OUTCOMES.map((v) => [String(v), v]))(
    'D4 gray.run(%s, fn) → INVALID_OPTIONS',
    async (_l, v) => {
      expect(await codeOf(() => gray.run(junk(v), () => 1))).toMatch(/^INVALID_OPTIONS gray\.run/);
    },
  );
  it.each([undefined, null, 0, 'x', {}].map((v) => [String(v), v]))(
    'D4 gray.run(outcome, %s) → INVALID_OPTIONS',
    async (_l, v) => {
      const o = await outcome();
      expect(await codeOf(() => gray.run(o, junk(v)))).toMatch(/^INVALID_OPTIONS gray\.run/);
    },
  );
  it('D4 gray.run(outcome | its lane, fn) runs fn (control)', async () => {
    const o = await outcome();
    expect(gray.run(o, () => 1)).toBe(1);
    expect(gray.run(o.lane, () => 2)).toBe(2);
  });

  it.each([undefined, null, 0, 'x', {}, []].map((v) => [String(v), v]))(
    'D4 gray.forwardRequest(%s, outcome) → INVALID_OPTIONS',
    async (_l, v) => {
      const o = await outcome();
      expect(await codeOf(() => gray.forwardRequest(junk(v), o))).toMatch(
        /^INVALID_OPTIONS gray\.forwardRequest/,
      );
    },
  );
  it.each(NOT_OUTCOMES.map((v) => [String(v), v]))(
    'D4 gray.forwardRequest(request, %s) → INVALID_OPTIONS',
    async (_l, v) => {
      expect(await codeOf(() => gray.forwardRequest(new Request('https://a/'), junk(v)))).toMatch(
        /^INVALID_OPTIONS gray\.forwardRequest/,
      );
    },
  );

  it.each([undefined, null, 0, 'x', {}, []].map((v) => [String(v), v]))(
    'D4 gray.handle(request, %s) → INVALID_OPTIONS',
    async (_l, v) => {
      expect(await codeOf(() => gray.handle(new Request('https://a/'), junk(v)))).toMatch(
        /^INVALID_OPTIONS gray\.handle/,
      );
    },
  );

  it.each([0, 'x', {}, [], null, { headers: 5 }, { headers: {} }].map((v) => [String(v), v]))(
    'D4 editedHeaders(headers, %s) returns the headers (documented fallback)',
    (_l, v) => {
      const h = new Headers({ 'x-gray-id': 'beta' });
      expect(editedHeaders(h, junk(v))).toBe(h);
    },
  );
  it.each([0, 'x', Symbol('h')].map((v) => [String(v), v]))(
    'D4 editedHeaders(%s, edits) → INVALID_OPTIONS',
    async (_l, v) => {
      const edits = { headers: new Map([['x-gray-id', null]]), query: undefined };
      expect(await codeOf(() => editedHeaders(junk(v), edits))).toMatch(
        /^INVALID_OPTIONS editedHeaders/,
      );
    },
  );

  it.each([
    ['an arrow function', () => undefined],
    ['an async function', async () => undefined],
    ['a class without run/getStore', class Nothing {}],
    ['a built-in function', Math.max],
    ['an object with run only', { run: () => undefined }],
  ])('D4 provideAsyncLocalStorage(%s) → INVALID_OPTIONS, lanes still run', async (_l, v) => {
    expect(await codeOf(() => provideAsyncLocalStorage(junk(v)))).toMatch(
      /^INVALID_OPTIONS provideAsyncLocalStorage/,
    );
    expect(runWithGray('beta', () => 'ran')).toBe('ran');
  });

  it.each([0, 'x', {}, [], true].map((v) => [String(v), v]))(
    'D4 withGray(%s) → INVALID_OPTIONS when wrapping, not on the first call',
    async (_l, v) => {
      expect(await codeOf(() => withGray(junk(v)))).toMatch(/^INVALID_OPTIONS withGray/);
    },
  );
  it('D4 withGray(null) and withGray(undefined) wrap the global fetch (control)', () => {
    expect(typeof withGray(junk(null))).toBe('function');
    expect(typeof withGray()).toBe('function');
  });

  it.each([undefined, null, 0, 'x', {}].map((v) => [String(v), v]))(
    'D4 a fetchImpl resolving to %s in a lane → INVALID_OPTIONS',
    async (_l, v) => {
      const impl = (async () => v) as unknown as FetchLike;
      const lane = createLane('beta', { allowHosts: ['a.example'] });
      expect(await codeOf(() => withGray(impl, { lane })('https://a.example/'))).toMatch(
        /^INVALID_OPTIONS withGray: fetchImpl resolved to no Response/,
      );
    },
  );
});
