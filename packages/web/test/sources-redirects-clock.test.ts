import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createConfigStore, type SourceClock, type TimerHandle } from '@graylane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpRules } from '../src/index.js';
import { listenLoopback } from './support/listen.js';

// Review rows for createHttpRules: RDR-01 (redirects, against real loopback servers), WT-09 (a
// wall-clock step never stalls the schedule), I1/I4 (a rejection's report is bounded, escaped).

const doc = (version: string, id = 'all') =>
  JSON.stringify({ versions: ['stable', 'beta'], default: 'stable', rules: [{ id, version }] });
const store = () =>
  createConfigStore({ initial: { versions: ['stable', 'beta'], default: 'stable' } });
const quiet = { warn: () => undefined, error: () => undefined };
const target = (s: ReturnType<typeof store>): string | undefined => {
  const rule = s.get().config.rules[0];
  return rule?.kind === 'version' ? rule.version : undefined;
};

type Seen = { server: 'a' | 'b'; path: string; key: string | undefined; auth: string | undefined };
type Route = (req: IncomingMessage, res: ServerResponse) => void;

/** Two origins on loopback (other port = other origin); each path answers by a route table. */
const seen: Seen[] = [];
const routes: { a: Map<string, Route>; b: Map<string, Route> } = { a: new Map(), b: new Map() };
let A = '';
let B = '';
const closers: Array<() => Promise<void>> = [];
const serve = (name: 'a' | 'b') =>
  createServer((req, res) => {
    const path = req.url ?? '/';
    seen.push({
      server: name,
      path,
      key: req.headers['x-api-key'] as string | undefined,
      auth: req.headers.authorization,
    });
    const route = routes[name].get(path);
    if (route) return route(req, res);
    res.setHeader('content-type', 'application/json');
    res.end(doc(name === 'a' ? 'beta' : 'stable', `from-${name}`));
  });
const redirect =
  (status: number, location: string | (() => string) | null): Route =>
  (_req, res) => {
    res.statusCode = status;
    if (location !== null)
      res.setHeader('location', typeof location === 'function' ? location() : location);
    res.end();
  };

beforeAll(async () => {
  const a = await listenLoopback(serve('a'));
  const b = await listenLoopback(serve('b'));
  A = a.origin;
  B = b.origin;
  closers.push(a.close, b.close);
});
afterAll(async () => {
  for (const close of closers) await close();
});

const STATUSES = [301, 302, 303, 307, 308] as const;

interface Row {
  name: string;
  /** Location the first hop answers (relative to A/B by function). */
  location: () => string;
  /** Which origin's rules end in force: 'a' (same origin), 'b' (other port), or none. */
  adopted: 'a' | 'b' | 'none';
  /** The caller's headers reached the other origin: never. */
  bHits: number;
}
const ROWS: Row[] = [
  { name: 'relative path, same origin', location: () => '/final', adopted: 'a', bHits: 0 },
  { name: 'absolute, same origin', location: () => `${A}/final`, adopted: 'a', bHits: 0 },
  { name: 'dot-relative, same origin', location: () => './final', adopted: 'a', bHits: 0 },
  { name: 'absolute, other port', location: () => `${B}/final`, adopted: 'b', bHits: 1 },
  {
    name: 'scheme-relative, other port',
    location: () => B.replace('http:', '') + '/final',
    adopted: 'b',
    bHits: 1,
  },
  {
    name: 'localhost name (other origin)',
    location: () => `${A.replace('127.0.0.1', 'localhost')}/final`,
    adopted: 'none',
    bHits: 0,
  },
];

describe('RDR-01 createHttpRules follows redirects itself: the caller’s headers never leave the origin', () => {
  for (const status of STATUSES)
    for (const row of ROWS)
      it(`${status} → ${row.name}`, async () => {
        seen.length = 0;
        routes.a.clear();
        routes.a.set('/rules', redirect(status, row.location));
        const s = store();
        const source = createHttpRules({
          url: `${A}/rules`,
          headers: { 'x-api-key': 'SECRET-KEY', authorization: 'Bearer SECRET' },
          minIntervalMs: 0,
          logger: quiet,
        });
        await source.refresh(s);
        // Not one request to another origin carried the key or the authorization.
        for (const r of seen.filter((x) => x.server === 'b')) {
          expect(r.key).toBeUndefined();
          expect(r.auth).toBeUndefined();
        }
        expect(seen.filter((r) => r.server === 'b')).toHaveLength(row.bHits);
        if (row.adopted === 'a') {
          // Same origin: the key goes along (the endpoint needs it), and A's rules apply.
          expect(seen.map((r) => [r.server, r.path, r.key])).toEqual([
            ['a', '/rules', 'SECRET-KEY'],
            ['a', '/final', 'SECRET-KEY'],
          ]);
          expect(s.get().config.rules[0]?.id).toBe('from-a');
        } else if (row.adopted === 'b') {
          expect(s.get().config.rules[0]?.id).toBe('from-b');
          expect(source.status().state).toBe('ready');
        }
        if (row.adopted === 'none') {
          // `localhost` is another origin: whatever answers there never sees the key.
          for (const r of seen.filter((x) => x.path === '/final')) expect(r.key).toBeUndefined();
        }
      });

  const REFUSED: Array<{ name: string; route: Route; error: RegExp; extra?: () => void }> = [
    { name: 'no Location', route: redirect(302, null), error: /without a Location/ },
    { name: 'empty Location', route: redirect(301, '  '), error: /without a Location/ },
    {
      name: 'file: Location',
      route: redirect(307, 'file:///etc/passwd'),
      error: /file:, not http/,
    },
    {
      name: 'data: Location',
      route: redirect(308, 'data:application/json,{}'),
      error: /data:, not http/,
    },
    { name: 'unparsable Location', route: redirect(302, 'http://[::1'), error: /unparsable/ },
    { name: 'loop to itself', route: redirect(302, '/rules'), error: /more than 5 redirects/ },
    {
      name: 'loop across two origins',
      route: redirect(307, () => `${B}/bounce`),
      error: /more than 5 redirects/,
      extra: () =>
        routes.b.set(
          '/bounce',
          redirect(307, () => `${A}/rules`),
        ),
    },
    {
      name: 'chain of 6 same-origin hops',
      route: redirect(302, '/h1'),
      error: /more than 5 redirects/,
      extra: () => {
        for (let i = 1; i <= 6; i++) routes.a.set(`/h${i}`, redirect(302, `/h${i + 1}`));
      },
    },
  ];
  for (const row of REFUSED)
    it(`refused: ${row.name}; the last good config stays`, async () => {
      seen.length = 0;
      routes.a.clear();
      routes.b.clear();
      const s = store();
      const source = createHttpRules({
        url: `${A}/rules`,
        headers: { 'x-api-key': 'SECRET-KEY' },
        minIntervalMs: 0,
        logger: quiet,
      });
      await source.refresh(s); // first: a good document
      expect(target(s)).toBe('beta');
      routes.a.set('/rules', row.route);
      row.extra?.();
      seen.length = 0;
      await source.refresh(s);
      expect(source.status()).toMatchObject({ state: 'stale' });
      expect(source.status().lastError).toMatch(row.error);
      expect(target(s)).toBe('beta');
      expect(seen.length).toBeLessThanOrEqual(6); // at most the first request and 5 hops
      for (const r of seen.filter((x) => x.server === 'b')) expect(r.key).toBeUndefined();
    });

  // https → http: the TLS endpoint is simulated (a self-signed certificate would need a trust
  // store); the plain-http hop is a real server that must never be asked.
  for (const status of STATUSES)
    for (const sameHost of [true, false])
      it(`${status} https → http (${sameHost ? 'same host and port' : 'other port'}) is not followed`, async () => {
        seen.length = 0;
        routes.a.clear();
        const plain = sameHost ? A : B;
        const tlsUrl = `https://${plain.slice('http://'.length)}/rules`;
        const fetch = (input: string, init: RequestInit): Promise<Response> =>
          input.startsWith('https:')
            ? Promise.resolve(
                new Response(null, { status, headers: { location: `${plain}/rules` } }),
              )
            : globalThis.fetch(input, init);
        const s = store();
        const source = createHttpRules({
          url: tlsUrl,
          headers: { 'x-api-key': 'K' },
          fetch,
          minIntervalMs: 0,
          logger: quiet,
        });
        await source.refresh(s);
        expect(seen).toEqual([]);
        expect(s.get().version).toBe(1);
        expect(source.status().lastError).toMatch(/https to http: not followed/);
      });

  it('a fetch that followed a redirect itself (ignoring redirect: manual) is not adopted', async () => {
    const followed = await globalThis.fetch(`${A}/final`);
    Object.defineProperty(followed, 'redirected', { value: true });
    const s = store();
    const source = createHttpRules({
      url: `${A}/rules`,
      fetch: () => Promise.resolve(followed),
      minIntervalMs: 0,
      logger: quiet,
    });
    await source.refresh(s);
    expect(s.get().version).toBe(1);
    expect(source.status().lastError).toMatch(/redirect not followed/);
  });
});

/** A clock whose monotonic and wall readings the test moves separately. */
function splitClock(): SourceClock & { mono: number; wall: number } {
  const c = {
    mono: 1_000,
    wall: Date.parse('2026-06-01T12:00:00Z'),
    now: () => c.mono,
    wallNow: () => c.wall,
    setTimeout: (fn: () => void, ms: number): TimerHandle => setTimeout(fn, ms),
    clearTimeout: (h: TimerHandle) => clearTimeout(h as ReturnType<typeof setTimeout>),
  };
  return c;
}

describe('WT-09 the refresh schedule runs on the monotonic clock', () => {
  const STEPS = [
    { name: 'wall back 1 h', wall: -3_600_000 },
    { name: 'wall back 1 day', wall: -86_400_000 },
    { name: 'wall back 1 min', wall: -60_000 },
    { name: 'wall back 20 s (just over the interval)', wall: -20_000 },
    { name: 'wall forward 1 day', wall: 86_400_000 },
    { name: 'wall forward 1 h', wall: 3_600_000 },
  ];
  for (const failing of [false, true])
    for (const step of STEPS)
      it(`${step.name}${failing ? ', while backing off' : ''}: refreshes keep the interval`, async () => {
        const clock = splitClock();
        let calls = 0;
        const s = store();
        const source = createHttpRules({
          url: 'http://127.0.0.1:9/r',
          clock,
          minIntervalMs: 15_000,
          // While failing, the backoff is pinned at 15 s (no jitter) so both cases share one count.
          backoff: { initialMs: 15_000, maxMs: 15_000, jitter: 0 },
          fetch: () => {
            calls++;
            return Promise.resolve(
              failing ? new Response('', { status: 500 }) : new Response(doc('beta')),
            );
          },
          logger: quiet,
        });
        await source.refreshIfDue(s);
        clock.wall += step.wall;
        let started = 0;
        // 10 minutes of monotonic time with a request every 10 s: a refresh every other request.
        for (let t = 0; t < 600; t += 10) {
          clock.mono += 10_000;
          clock.wall += 10_000;
          const p = source.refreshIfDue(s);
          if (p) {
            started++;
            await p;
          }
        }
        expect(started).toBe(30);
        expect(calls).toBe(31);
      });

  it('a monotonic reading that went backwards makes the refresh due, never later', async () => {
    const clock = splitClock();
    const s = store();
    const source = createHttpRules({
      url: 'http://127.0.0.1:9/r',
      clock,
      minIntervalMs: 15_000,
      fetch: () => Promise.resolve(new Response(doc('beta'))),
      logger: quiet,
    });
    await source.refreshIfDue(s);
    expect(source.refreshIfDue(s)).toBeUndefined();
    clock.mono -= 5_000;
    expect(source.refreshIfDue(s)).toBeInstanceOf(Promise);
  });
});

describe('I1/I4 a rejected document is reported bounded and escaped', () => {
  const FORGED = '\n[graylane] config applied OK (version 7)\n';
  const CASES = [
    { name: '1,000 bad rules with 700-char keys', rules: 1_000, keyLen: 700, forged: false },
    { name: '100 bad rules', rules: 100, keyLen: 50, forged: false },
    { name: '6 bad rules', rules: 6, keyLen: 10, forged: false },
    { name: 'a newline-forging root key', rules: 0, keyLen: 0, forged: true },
    { name: 'forging key and 1,000 rules', rules: 1_000, keyLen: 700, forged: true },
    { name: 'forging key among 3 rules', rules: 3, keyLen: 5, forged: true },
  ];
  for (const c of CASES)
    it(c.name, async () => {
      const rules = Array.from({ length: c.rules }, (_, i) => ({
        id: `r${i}`,
        version: 'nope',
        [`${'k'.repeat(c.keyLen)}\u001b[31m${i}`]: 1,
      }));
      const body = JSON.stringify({
        versions: ['stable'],
        default: 'stable',
        rules,
        ...(c.forged ? { [FORGED]: 1 } : {}),
      });
      const lines: string[] = [];
      const source = createHttpRules({
        url: 'http://127.0.0.1:9/r',
        fetch: () => Promise.resolve(new Response(body)),
        logger: { warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) },
      });
      await source.refresh(store());
      const lastError = source.status().lastError ?? '';
      expect(lastError).toMatch(/^document rejected: \[graylane\] invalid config: /);
      expect(lastError.length).toBeLessThanOrEqual(1_050);
      expect(lines).toHaveLength(1);
      for (const text of [lastError, lines[0] ?? '']) {
        // eslint-disable-next-line no-control-regex
        expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
        expect(text.length).toBeLessThanOrEqual(1_300);
      }
      if (c.forged) expect(lastError).toContain('\\n[graylane]');
      const problems = c.rules * 2 + (c.forged ? 1 : 0);
      if (problems > 5) expect(lastError).toMatch(new RegExp(`and ${problems - 5} more$`));
    });
});

describe('RDR-01 a 401/403 after a redirect to another origin is a failure, not fatal: no headers went there', () => {
  const refuse =
    (status: number): Route =>
    (_req, res) => {
      res.statusCode = status;
      res.end('no');
    };
  const CROSS: Array<{ name: string; status: number; setup: () => void; origin: () => string }> = [
    ...[401, 403].map((status) => ({
      name: `other origin answers ${status}`,
      status,
      setup: () => {
        routes.a.set(
          '/rules',
          redirect(302, () => `${B}/locked?token=SECRET-QUERY`),
        );
        routes.b.set('/locked?token=SECRET-QUERY', refuse(status));
      },
      origin: () => B,
    })),
    {
      name: 'other origin, then back to the URL’s origin, answers 401',
      status: 401,
      setup: () => {
        routes.a.set(
          '/rules',
          redirect(307, () => `${B}/bounce`),
        );
        routes.b.set(
          '/bounce',
          redirect(307, () => `${A}/locked`),
        );
        routes.a.set('/locked', refuse(401));
      },
      origin: () => A,
    },
  ];
  for (const row of CROSS)
    it(`${row.name}: backs off, says the credentials were not sent, recovers`, async () => {
      seen.length = 0;
      routes.a.clear();
      routes.b.clear();
      const s = store();
      const source = createHttpRules({
        url: `${A}/rules`,
        headers: { 'x-api-key': 'SECRET-KEY' },
        minIntervalMs: 0,
        backoff: { initialMs: 20, maxMs: 40, jitter: 0 },
        logger: quiet,
      });
      await source.refresh(s);
      expect(target(s)).toBe('beta');
      row.setup();
      await source.refresh(s);
      const status = source.status();
      expect(status.fatal).toBeUndefined();
      expect(status.state).toBe('stale');
      expect(status.lastError).toContain(
        `HTTP ${row.status} from ${row.origin()} after a redirect to another origin`,
      );
      expect(status.lastError).toMatch(/credentials\) were not sent to that origin/);
      expect(status.lastError).not.toMatch(/SECRET|token|locked/);
      expect(target(s)).toBe('beta');
      for (const r of seen.filter((x) => x.server === 'b' || x.path === '/locked'))
        expect(r.key).toBeUndefined();
      // Not halted: once the backoff is over a request makes the source read again.
      routes.a.clear();
      let again: Promise<void> | undefined;
      for (let i = 0; i < 200 && again === undefined; i++) {
        await new Promise((r) => setTimeout(r, 10));
        again = source.refreshIfDue(s);
      }
      expect(again).toBeDefined();
      await again;
      expect(source.status()).toMatchObject({ state: 'ready' });
    });

  for (const status of [401, 403])
    it(`a same-origin redirect answering ${status} stays fatal (the key was sent and refused)`, async () => {
      seen.length = 0;
      routes.a.clear();
      routes.b.clear();
      routes.a.set('/rules', redirect(302, '/locked'));
      routes.a.set('/locked', refuse(status));
      const s = store();
      const source = createHttpRules({
        url: `${A}/rules`,
        headers: { 'x-api-key': 'SECRET-KEY' },
        minIntervalMs: 0,
        backoff: { initialMs: 20, maxMs: 40, jitter: 0 },
        logger: quiet,
      });
      await source.refresh(s);
      expect(seen.map((r) => [r.path, r.key])).toEqual([
        ['/rules', 'SECRET-KEY'],
        ['/locked', 'SECRET-KEY'],
      ]);
      expect(source.status()).toMatchObject({ state: 'error', fatal: true });
      expect(source.status().lastError).toBe(`HTTP ${status} from ${A}/rules`);
      await new Promise((r) => setTimeout(r, 100));
      expect(source.refreshIfDue(s)).toBeUndefined();
    });
});
