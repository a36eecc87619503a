import { expect, it } from 'vitest';
import type { Seen, startDownstream } from './downstream.js';

type Downstream = Awaited<ReturnType<typeof startDownstream>>;

/** What a leak row needs of the running suite (read when the row runs). */
export interface LeakServers {
  readonly origin: string;
  readonly down: Downstream;
  readonly other: Downstream;
}

/** The proxy engines of proxy.template.js picked by `x-test-mode`: sticky, debug header on. */
const MODES = ['open', 'signed', 'edge'] as const;
const TARGETS = ['allowed', 'other'] as const;
const VISITORS = ['first', 'returning'] as const;
/**
 * How the proxy's response leaves the app: as graylane returns it, or after the app's own proxy
 * code called `response.cookies.set()` on it (Next then re-serialises every cookie the response
 * holds into `Set-Cookie` and its internal `x-middleware-set-cookie`).
 */
const KINDS = [
  ['as returned', {}],
  ['after response.cookies.set()', { 'x-test-app-cookie': 'theme=dark' }],
] as const;
/** How a route handler forwards its own `headers()` through `createGrayFetch`. */
const SHAPES = ['init', 'pairs', 'record', 'request', 'request-and-init'] as const;

/** A graylane cookie pair (`gray=…`, `gray_uid=…`, `__Host-gray=…`) anywhere in a value. */
const GRAY_PAIR = /(^|[\s;,])(__Host-|__Secure-)?gray(_uid)?=/;

/** The cookies a first same-origin response sets, as the browser sends them back. */
async function returningCookie(origin: string, mode: string): Promise<string> {
  const res = await fetch(`${origin}/api/lane`, { headers: { 'x-test-mode': mode } });
  await res.body?.cancel();
  const pairs = res.headers.getSetCookie().map((c) => c.split(';')[0] ?? '');
  // `gray` too, except in edge mode (no marker cookie is trusted there, so none is written).
  expect(
    pairs.map((p) => p.split('=')[0]),
    'same origin: the cookies are set',
  ).toContain('gray_uid');
  return pairs.join('; ');
}

/** Nothing graylane wrote on the app's response, nor the seal, in what a service received. */
function expectNoResponseHeaders(seen: Seen, sent: string | undefined, label: string): void {
  for (const [name, value] of Object.entries(seen.headers)) {
    expect(value, `${label}: ${name}`).not.toContain('seal=');
    if (name === 'cookie') continue;
    expect(name, label).not.toMatch(/^(x-graylane-decision|x-gray-decision)$/);
    expect(`${name}: ${value}`, label).not.toMatch(GRAY_PAIR);
  }
  // The Cookie the client sent, minus the marker pairs (I8); never a pair graylane just wrote.
  const kept = (sent ?? '')
    .split('; ')
    .filter((p) => p !== '' && !p.startsWith('gray='))
    .join('; ');
  expect(seen.cookie ?? '', label).toBe(kept);
}

/**
 * Review 157 D1 (I8): Next copies every header of a proxy's response into the request it forwards
 * to an external rewrite, and a route handler's `headers()` holds them too. What graylane puts on
 * the response — the sticky `Set-Cookie` values (a 30-day signed token in `signed` mode), the
 * cookies' hand-over to `cookies()` and the debug header — must not reach an origin off the
 * allowlist that way, nor leave the app through `createGrayFetch` to any host.
 */
export function describeResponseHeaderLeaks(servers: () => LeakServers): void {
  it.each(
    MODES.flatMap((mode) =>
      TARGETS.flatMap((target) =>
        VISITORS.flatMap((visitor) =>
          KINDS.map(([kind, headers]) => ({ mode, target, visitor, kind, headers })),
        ),
      ),
    ),
  )(
    'I8 $mode mode, $visitor visit rewritten to the $target origin, $kind: what it receives',
    async ({ mode, target, visitor, headers }) => {
      const { origin, down, other } = servers();
      const service = target === 'allowed' ? down : other;
      const cookie = visitor === 'returning' ? await returningCookie(origin, mode) : undefined;
      const before = service.seen.length;
      const res = await fetch(`${origin}/ext/${target}/echo`, {
        headers: { 'x-test-mode': mode, ...headers, ...(cookie ? { cookie } : {}) },
      });
      expect(res.status).toBe(200);
      await res.body?.cancel();
      const seen = service.seen.slice(before);
      expect(seen).toHaveLength(1);
      const got = seen[0] as Seen;
      const written = res.headers.getSetCookie().map((c) => c.split('=')[0]);
      expect(got.decision).toBeUndefined();
      if (target === 'other') {
        expectNoResponseHeaders(got, cookie, 'off the allowlist');
        // What the visitor loses there: this response is not sticky (and carries no debug header).
        expect(written.filter((n) => n?.startsWith('gray'))).toEqual([]);
        expect(res.headers.get('x-gray-decision')).toBeNull();
        return;
      }
      // Control: the allowlisted origin gets the lane, and the visitor the sticky cookies (Next
      // copies them into the forwarded request too: an allowlisted origin may have them).
      expect(['stable', 'beta']).toContain(got.marker);
      if (visitor === 'first') expect(written).toContain('gray_uid');
    },
  );

  it.each(
    MODES.flatMap((mode) =>
      TARGETS.flatMap((target) =>
        SHAPES.map((shape) => ({ mode, target, shape, visitor: 'first' as string })),
      ),
    ).concat(
      MODES.flatMap((mode) =>
        TARGETS.map((target) => ({ mode, target, shape: 'init' as const, visitor: 'returning' })),
      ),
    ),
  )(
    'I8 createGrayFetch forwarding headers() ($shape) to the $target origin, $mode mode, $visitor visit: no response header leaves the app',
    async ({ mode, target, shape, visitor }) => {
      const { origin, down, other } = servers();
      const service = target === 'allowed' ? down : other;
      const cookie = visitor === 'returning' ? await returningCookie(origin, mode) : undefined;
      const before = service.seen.length;
      const res = await fetch(`${origin}/api/fwd?to=${target}&shape=${shape}`, {
        headers: { 'x-test-mode': mode, ...(cookie ? { cookie } : {}) },
      });
      expect(res.status).toBe(200);
      const got = (await res.json()) as Seen;
      expect(service.seen.length).toBe(before + 1);
      expect(Object.keys(got.headers).filter((n) => n.startsWith('x-middleware-'))).toEqual([]);
      expect(got.setCookie).toBeUndefined();
      expect(got.debug).toBeUndefined();
      expect(got.decision).toBeUndefined();
      for (const [name, value] of Object.entries(got.headers))
        expect(value, name).not.toContain('seal=');
      expect(got.marker === undefined).toBe(target === 'other');
    },
  );
}
