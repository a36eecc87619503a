import { decide, parseConfig } from '@graylane/core';
import { expect, it } from 'vitest';
import { grayConfig } from '../app/lib/gray.js';
import type { startDownstream } from './downstream.js';

type Downstream = Awaited<ReturnType<typeof startDownstream>>;

/** What a cookie-jar row needs of the running suite (read when the row runs). */
export interface JarServers {
  readonly origin: string;
  readonly down: Downstream;
  readonly other: Downstream;
}

/** An anonymous id core's evaluation puts in the beta arm of `ramp`: a returning visitor. */
function betaId(): string {
  const config = parseConfig(grayConfig);
  for (let i = 0; ; i++) {
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    if (decide(config, { cookies: { gray_uid: id } }).version === 'beta') return id;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RETURNING = betaId();

/**
 * Who the visitor is (the request's `Cookie`), which cookies the app's own proxy code sets on
 * graylane's response (`x-test-app-cookie`, see proxy.template.js), which cookie names graylane
 * must write, and what `cookies()` must hold beyond "the request's cookies, then every cookie
 * the response sets" (the jar the browser sends next time).
 */
const ROWS = [
  ['a new visitor', '', '', ['gray_uid', 'gray'], { gray_uid: expect.stringMatching(UUID) }],
  [
    'a returning visitor (cookies present, nothing written)',
    `gray_uid=${RETURNING}; gray=beta`,
    '',
    [],
    { gray_uid: RETURNING, gray: 'beta' },
  ],
  [
    'a returning visitor without an assignment (gray written)',
    `gray_uid=${RETURNING}`,
    '',
    ['gray'],
    { gray_uid: RETURNING, gray: 'beta' },
  ],
  [
    'a new visitor whose app sets gray_uid itself (the app wins)',
    '',
    'gray_uid=app-chosen',
    ['gray_uid', 'gray'],
    { gray_uid: 'app-chosen' },
  ],
  [
    'a new visitor whose app sets other cookies too',
    '',
    'theme=dark&cart=a%20b',
    ['gray_uid', 'gray'],
    { theme: 'dark', cart: 'a b', gray_uid: expect.stringMatching(UUID) },
  ],
  [
    'a returning visitor whose app sets a cookie',
    `gray_uid=${RETURNING}; gray=beta; theme=light`,
    'theme=dark',
    [],
    { gray_uid: RETURNING, gray: 'beta', theme: 'dark' },
  ],
] as const;

/**
 * Where `cookies()` is read, and whether Next hands the proxy's cookies over there. A route
 * handler's does not, in Next 16.4: app-route/module.js builds its request store from a
 * `NextRequest`, whose `Headers` request-store.js `mergeMiddlewareCookies` cannot read (its own
 * TODO) — so it holds the request's cookies only, for the app's proxy cookies as for graylane's.
 */
const READERS = [
  ['a server component', '/cookies', {}, true],
  ['a server component, RSC request', '/cookies', { RSC: '1' }, true],
  ['a route handler (Next hands nothing over)', '/cookies/json', {}, false],
] as const;

/** The jar a reader reported (JSON, HTML text or the RSC payload's string). */
function jarOf(body: string): Record<string, string> {
  if (body.startsWith('{')) return JSON.parse(body) as Record<string, string>;
  const html = /id="cookies">([^<]*)</.exec(body)?.[1];
  if (html !== undefined)
    return JSON.parse(
      html
        .replaceAll('&quot;', '"')
        .replaceAll('&#x27;', "'")
        .replaceAll('&lt;', '<')
        .replaceAll('&gt;', '>')
        .replaceAll('&amp;', '&'),
    ) as Record<string, string>;
  const rsc = /"id":"cookies","children":("(?:[^"\\]|\\.)*")/.exec(body)?.[1];
  if (rsc !== undefined) return JSON.parse(JSON.parse(rsc) as string) as Record<string, string>;
  throw new Error(`no cookies probe in ${body.slice(0, 300)}`);
}

/** `name=value` pairs of a `Cookie` header or of `Set-Cookie` values, values decoded. */
function pairs(cookies: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const cookie of cookies) {
    const pair = cookie.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq).trim()] = decodeURIComponent(pair.slice(eq + 1).trim());
  }
  return out;
}

/**
 * STK-05: the cookies the proxy writes are in `cookies()` on the request that wrote them, as
 * Next does for `response.cookies.set()` in a proxy (`x-middleware-set-cookie`), the app's own
 * same-name cookie winning, each cookie sent once, and nothing of it leaving for another origin.
 */
export function describeCookieJar(servers: () => JarServers): void {
  it.each(
    ROWS.flatMap((row) => READERS.map((reader) => [row[0], reader[0], row, reader] as const)),
  )(
    'STK-05 %s: %s sees the cookies of its first response',
    async (_visitor, _reader, [, cookie, own, written, holds], [, path, headers, merges]) => {
      const { origin } = servers();
      const res = await fetch(`${origin}${path}`, {
        headers: {
          ...headers,
          ...(cookie ? { cookie } : {}),
          ...(own ? { 'x-test-app-cookie': own } : {}),
        },
      });
      expect(res.status).toBe(200);
      const setCookies = res.headers.getSetCookie();
      const names = setCookies.map((c) => c.split('=')[0]);
      expect(names.length, 'each cookie sent once').toBe(new Set(names).size);
      for (const name of written) expect(names).toContain(name);
      if (written.length === 0 && !own) expect(setCookies).toEqual([]);
      expect(res.headers.get('x-middleware-set-cookie')).toBeNull();
      const jar = jarOf(await res.text());
      const sent = pairs(cookie ? cookie.split(';') : []);
      if (!merges) return void expect(jar).toEqual(sent);
      expect(jar).toEqual({ ...sent, ...pairs(setCookies) });
      expect(jar).toMatchObject(holds);
    },
  );

  it.each([
    ['an allowlisted origin', 'allowed'],
    ['another origin', 'other'],
  ] as const)(
    'I8 STK-05 a new visitor rewritten to %s: the proxy cookies are not handed over there',
    async (_label, where) => {
      const { origin, down, other } = servers();
      const target = where === 'allowed' ? down : other;
      const before = target.seen.length;
      const res = await fetch(`${origin}/ext/${where}/echo`);
      expect(res.status).toBe(200);
      await res.body?.cancel();
      // The rewrite engine is sticky, but Next copies the response's cookies into the forwarded
      // request: only an allowlisted origin's response carries them (review 157 D1).
      const written = res.headers.getSetCookie().map((c) => c.split('=')[0]);
      if (where === 'allowed') expect(written).toContain('gray_uid');
      else expect(written).toEqual([]);
      const seen = target.seen.slice(before);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ middlewareSetCookie: undefined, cookie: undefined });
      if (where === 'other') expect(seen[0]?.setCookie).toBeUndefined();
    },
  );
}
