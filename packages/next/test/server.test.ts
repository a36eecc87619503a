import './support/next-env.js';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import {
  createGrayFetch,
  DECISION_SEAL_TTL_SECONDS,
  DECISION_REQUEST_HEADER,
  getGrayDecision,
  getGrayVersion,
  grayMetadata,
  tryGetGrayVersion,
} from '@graylane/next';
import { signMarker } from '@graylane/web';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { listenLoopback } from './support/listen.js';
import { heldByNext, inRequest, nextHeaders, pairsOf, passedOn } from './support/next-request.js';

/**
 * The server helpers inside a request as Next renders it (support/next-request.ts: Next's own
 * request store, what `headers()` reads, holding the headers the proxy passed on), against two
 * loopback services — one allowlisted, one not — that record every request and redirect on demand.
 */

interface Service {
  origin: string;
  seen: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** Records every request; `/to?u=<url>&s=<status>` redirects there. */
async function service(): Promise<Service> {
  const seen: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/to') {
      res.writeHead(Number(url.searchParams.get('s')), {
        location: url.searchParams.get('u') ?? '/',
      });
      return void res.end();
    }
    res.end('ok');
  });
  return { ...(await listenLoopback(server)), seen };
}

let allowed: Service;
let other: Service;
beforeAll(async () => {
  [allowed, other] = await Promise.all([service(), service()]);
});
afterAll(async () => {
  await Promise.all([allowed?.close(), other?.close()]);
});

describe('I8 createGrayFetch never sends the sealed decision on, whatever the caller forwards', () => {
  // How server code forwards the request's headers: `await headers()` itself, a copy as a
  // plain object or as pairs, a Request built with them, a Request plus init headers.
  const CALLS: [string, (url: string, h: Headers) => [string | Request, RequestInit?]][] = [
    ['init.headers = await headers()', (url, h) => [url, { headers: h }]],
    [
      'init.headers as a plain object',
      (url, h) => [url, { headers: Object.fromEntries(pairsOf(h)) }],
    ],
    ['init.headers as pairs', (url, h) => [url, { headers: pairsOf(h) }]],
    [
      'init.headers and Next’s next option',
      (url, h) => [url, { headers: h, next: { revalidate: 0 } } as RequestInit],
    ],
    ['a Request holding the headers', (url, h) => [new Request(url, { headers: h })]],
    [
      'a POST Request holding the headers',
      (url, h) => [new Request(url, { method: 'POST', body: 'b', headers: h })],
    ],
    ['a Request and init.headers', (url, h) => [new Request(url, { headers: h }), { headers: h }]],
  ];
  // Where the call goes: the hops that must be recorded on each service.
  const TARGETS: [string, (a: string, o: string) => string, number, number][] = [
    ['an allowlisted host', (a) => `${a}/x`, 1, 0],
    ['another host', (_a, o) => `${o}/x`, 0, 1],
    ['an allowlisted host redirecting elsewhere (302)', (a, o) => `${a}/to?s=302&u=${o}/y`, 1, 1],
    ['another host redirecting to the allowlist (307)', (a, o) => `${o}/to?s=307&u=${a}/y`, 1, 1],
  ];
  // With a verified decision (the proxy ran: the lane is carried) and without (a forged one).
  const LANES = ['in a lane', 'outside a lane (the decision does not verify)'] as const;
  const rows = LANES.flatMap((lane) =>
    CALLS.flatMap(([call, make]) =>
      TARGETS.map(([target, url, a, o]) => [lane, call, target, make, url, a, o] as const),
    ),
  );

  it.each(rows)('%s, %s, to %s', async (lane, _c, _t, make, url, onAllowed, onOther) => {
    const passed = await passedOn();
    if (lane !== 'in a lane')
      passed.set(DECISION_REQUEST_HEADER, 'version=canary; reason=header; source=header');
    const before = [allowed.seen.length, other.seen.length];
    const grayFetch = createGrayFetch({ allowHosts: [new URL(allowed.origin).host] });
    const to = url(allowed.origin, other.origin);
    const res = await inRequest(passed, async () => {
      const [input, init] = make(to, await nextHeaders());
      return grayFetch(input, init);
    });
    expect(res.status).toBe(200);
    await res.text();
    const onA = allowed.seen.slice(before[0]);
    const onO = other.seen.slice(before[1]);
    expect([onA.length, onO.length]).toEqual([onAllowed, onOther]);
    for (const seen of [...onA, ...onO]) expect(seen[DECISION_REQUEST_HEADER]).toBeUndefined();
    // The rest of what the caller forwarded goes on (a redirect to another origin may drop it).
    expect((to.startsWith(allowed.origin) ? onA : onO)[0]?.cookie).toBe('sid=1');
    if (lane === 'in a lane') {
      for (const seen of onA) expect(seen['x-gray-id']).toBe('beta');
      for (const seen of onO) expect(seen['x-gray-id']).toBeUndefined();
    }
  });

  // Review 157 D1: `headers()` also holds what Next copied from the proxy's response — the sticky
  // Set-Cookie (a 30-day signed token in signed mode), the debug header, `x-middleware-set-cookie`.
  const MODES = [
    ['open', {}],
    [
      'signed',
      { trust: 'signed', keys: { k1: 'a-test-signing-key-of-32-bytes!!' }, signingKid: 'k1' },
    ],
    ['edge', { trust: 'edge' }],
  ] as const;
  it.each(
    MODES.flatMap(([mode, trust]) =>
      CALLS.flatMap(([call, make]) =>
        TARGETS.slice(0, 2).map(
          ([target, url, a, o]) => [mode, call, target, trust, make, url, a, o] as const,
        ),
      ),
    ),
  )(
    'I8 %s mode, %s, to %s: nothing Next copied from the proxy response leaves the app',
    async (_m, _c, _t, trust, make, url, onAllowed, onOther) => {
      const held = await heldByNext({ sticky: true, debugHeader: true, ...trust });
      // The row is about those headers: they must be there to be removed.
      expect(pairsOf(held).map(([n]) => n)).toEqual(
        expect.arrayContaining(['set-cookie', 'x-gray-decision', 'x-middleware-set-cookie']),
      );
      held.set('x-middleware-subrequest', 'proxy');
      const before = [allowed.seen.length, other.seen.length];
      const grayFetch = createGrayFetch({ allowHosts: [new URL(allowed.origin).host] });
      const res = await inRequest(held, async () => {
        const [input, init] = make(url(allowed.origin, other.origin), await nextHeaders());
        return grayFetch(input, init);
      });
      expect(res.status).toBe(200);
      await res.text();
      const seen = [...allowed.seen.slice(before[0]), ...other.seen.slice(before[1])];
      expect(seen).toHaveLength(onAllowed + onOther);
      for (const headers of seen) {
        const names = Object.keys(headers);
        expect(names.filter((n) => n.startsWith('x-middleware-'))).toEqual([]);
        expect(names).not.toContain('set-cookie');
        expect(names).not.toContain('x-gray-decision');
        expect(names).not.toContain(DECISION_REQUEST_HEADER);
        expect(headers.cookie).toBe('sid=1');
      }
    },
  );
});

describe('GW-01 a page or route handler on the edge runtime under a Node.js proxy', () => {
  // Next runs `runtime = 'edge'` code in a vm context of its own even inside `next start`
  // (server/web/sandbox/context.js): it cannot see the realm key the Node.js proxy sealed with,
  // so without GRAYLANE_DECISION_KEY it sees no decision (fail closed, measured on Next 16.4
  // with a built app). What it says must name that case, not only edge middleware.
  const WARNED = Symbol.for('@graylane/next.warned-unverified');
  const g = globalThis as { EdgeRuntime?: string; [WARNED]?: boolean };
  beforeEach(() => {
    delete g[WARNED]; // said once per process: the rows above said it already
  });
  afterEach(() => {
    delete g.EdgeRuntime;
    delete g[WARNED];
    vi.restoreAllMocks();
  });
  const TEXT = 'version=beta; reason=header; source=header';
  /** A decision the proxy's realm sealed: its own random key, which this realm never sees. */
  const sealedElsewhere = async (): Promise<string> =>
    `${TEXT}; seal=${await signMarker('beta', { key: crypto.getRandomValues(new Uint8Array(32)), kid: 'realm', subject: TEXT, ttlSeconds: 300 })}`;
  const READERS: [string, () => Promise<unknown>][] = [
    ['getGrayDecision()', getGrayDecision],
    ['tryGetGrayVersion()', tryGetGrayVersion],
    ['grayMetadata()', grayMetadata],
    ['getGrayVersion()', () => getGrayVersion().catch((e: Error) => e)],
  ];
  it.each(READERS)(
    '%s sees no decision and says the edge runtime needs the key',
    async (name, read) => {
      g.EdgeRuntime = 'edge-runtime';
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const headers = new Headers({ [DECISION_REQUEST_HEADER]: await sealedElsewhere() });
      const got = await inRequest(headers, read);
      const said = warn.mock.calls.map((c) => String(c[0]));
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(/runs on the edge runtime, a realm apart from the proxy/);
      expect(said[0]).toContain('GRAYLANE_DECISION_KEY');
      if (name === 'getGrayVersion()') {
        expect((got as { code?: string }).code).toBe('NO_CONTEXT');
        expect((got as Error).message).toMatch(/this page\/route handler runs on the edge runtime/);
      } else expect(got === undefined || JSON.stringify(got) === '{}').toBe(true);
    },
  );
});

describe('a request that outlives the seal keeps its lane; a replayed header does not', () => {
  afterEach(() => vi.restoreAllMocks());
  const LATER = (DECISION_SEAL_TTL_SECONDS + 1) * 1000;
  /** Moves the clock every reader sees (`Date.now`) `ms` ahead of now. */
  const clockAhead = (ms: number) => {
    const at = Date.now() + ms;
    vi.spyOn(Date, 'now').mockReturnValue(at);
  };
  const READERS: [string, () => Promise<unknown>, unknown][] = [
    ['getGrayDecision()', async () => (await getGrayDecision())?.version, 'beta'],
    ['tryGetGrayVersion()', tryGetGrayVersion, 'beta'],
    ['getGrayVersion()', getGrayVersion, 'beta'],
    ['grayMetadata()', grayMetadata, { 'graylane-version': 'beta' }],
  ];
  const none = (name: string) =>
    name === 'getGrayVersion()' ? 'NO_CONTEXT' : name === 'grayMetadata()' ? {} : undefined;
  const settle = (read: () => Promise<unknown>) =>
    read().catch((e: { code?: string }) => e.code ?? e);

  it.each(READERS)(
    '%s read once, then again after the seal expired, in the same request: the lane holds',
    async (_name, read, lane) => {
      const passed = await passedOn();
      const got = await inRequest(passed, async () => {
        const first = await settle(read);
        clockAhead(LATER);
        await new Promise((r) => setTimeout(r, 5));
        return [first, await settle(read)];
      });
      expect(got).toEqual([lane, lane]);
    },
  );

  it.each(READERS)(
    '%s: the same sealed header on a new request after the seal expired is refused',
    async (name, read, lane) => {
      vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const passed = await passedOn();
      expect(await inRequest(passed, () => settle(read))).toEqual(lane);
      clockAhead(LATER);
      const replay = new Headers(pairsOf(passed));
      expect(await inRequest(replay, () => settle(read))).toEqual(none(name));
    },
  );

  it.each(READERS)(
    '%s first read after the seal expired: refused (the seal is checked on first read)',
    async (name, read) => {
      vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const passed = await passedOn();
      const got = await inRequest(passed, async () => {
        clockAhead(LATER);
        return settle(read);
      });
      expect(got).toEqual(none(name));
    },
  );

  it('createGrayFetch after the seal expired, in the same request, still carries the lane', async () => {
    const passed = await passedOn();
    const grayFetch = createGrayFetch({ allowHosts: [new URL(allowed.origin).host] });
    const before = allowed.seen.length;
    await inRequest(passed, async () => {
      await (await grayFetch(`${allowed.origin}/a`)).text();
      clockAhead(LATER);
      await (await grayFetch(`${allowed.origin}/b`)).text();
    });
    const seen = allowed.seen.slice(before);
    expect(seen.map((h) => h['x-gray-id'])).toEqual(['beta', 'beta']);
  });
});
