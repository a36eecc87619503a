// STK-01 / STK-02: what a request's marker may leave behind in the version cookie. Real
// servers on loopback; every carrier × existing cookie × key × option combination.
import { afterAll, describe, expect, it } from 'vitest';
import { signMarker } from '../src/index.js';
import { closeAll, decisionServer } from './helpers.js';

afterAll(closeAll);

const OLD = 'an-old-signing-key-of-32-bytes!!';
const NEW = 'a-new-signing-key-of-32-bytes!!!';
const keys = { new: NEW, old: OLD };
const TOKEN_TTL = 600;

type Carrier = 'header' | 'query' | 'baggage';
type Existing = 'none' | 'expired' | 'valid-canary' | 'garbage';

function requestWith(
  base: string,
  carrier: Carrier,
  marker: string,
  cookie: string | undefined,
): [string, Record<string, string>] {
  const headers: Record<string, string> = {};
  if (cookie !== undefined) headers.cookie = cookie;
  if (carrier === 'header') headers['x-gray-id'] = marker;
  if (carrier === 'baggage') headers.baggage = `other=1,gray=${marker}`;
  return [carrier === 'query' ? `${base}/?gray=${marker}` : `${base}/`, headers];
}

function versionCookie(setCookies: readonly string[]): string | undefined {
  return setCookies.find((c) => c.startsWith('gray=') || c.startsWith('__Host-gray='));
}

function existingSigned(kind: Existing): string | undefined {
  switch (kind) {
    case 'none':
      return undefined;
    case 'expired': {
      const past = Date.now() - 3_600_000;
      return `gray=${signMarker('canary', { key: NEW, kid: 'new', ttlSeconds: 60, now: () => past })}`;
    }
    case 'valid-canary':
      return `gray=${signMarker('canary', { key: NEW, kid: 'new', ttlSeconds: 3600 })}`;
    case 'garbage':
      return 'gray=beta';
  }
}

const carriers: Carrier[] = ['header', 'query', 'baggage'];
const existing: Existing[] = ['none', 'expired', 'valid-canary', 'garbage'];
const kids = ['old', 'new'] as const;
const persistOptions = [false, true, ['query'], ['header', 'baggage']] as const;

const signedCases = carriers.flatMap((carrier) =>
  existing.flatMap((cookie) =>
    kids.flatMap((kid) => persistOptions.map((persist) => ({ carrier, cookie, kid, persist }))),
  ),
);

describe('STK-01 signed mode: a token is never minted into a longer-lived or re-keyed cookie', () => {
  it.each(signedCases)(
    'STK-01 token by $carrier (kid $kid), cookie $cookie, persistMarkers $persist',
    async ({ carrier, cookie, kid, persist }) => {
      const s = await decisionServer({
        trust: 'signed',
        keys,
        signingKid: 'new',
        markers: { query: 'gray' },
        sticky: { persistMarkers: persist },
      });
      const token = signMarker('beta', {
        key: kid === 'old' ? OLD : NEW,
        kid,
        ttlSeconds: TOKEN_TTL,
      });
      const exp = Number(token.split('.')[1]);
      const [url, headers] = requestWith(s.url, carrier, token, existingSigned(cookie));
      const res = await fetch(url, { headers });
      const decision = (await res.json()) as { version: string; source: string };
      // Default precedence: header, cookie, query, baggage — a valid cookie outranks query/baggage.
      const tokenDecides = carrier === 'header' || cookie !== 'valid-canary';
      expect(decision).toMatchObject(
        tokenDecides
          ? { version: 'beta', source: carrier }
          : { version: 'canary', source: 'cookie' },
      );
      const written = versionCookie(res.headers.getSetCookie());
      const persisted =
        tokenDecides && (persist === true || (Array.isArray(persist) && persist.includes(carrier)));
      if (!persisted) {
        // No token, and no rules decision either: nothing to write (the old code minted a fresh
        // 30-day cookie signed with the newest key here when the cookie had been rejected).
        expect(written).toBeUndefined();
        return;
      }
      expect(written).toBeDefined();
      const value = (written as string).split(';')[0]!.split('=')[1]!;
      expect(value).toBe(token); // same version, expiry, kid and MAC
      expect(value.split('.')[2]).toBe(kid);
      const maxAge = Number(/Max-Age=(\d+)/.exec(written as string)?.[1]);
      expect(maxAge).toBeGreaterThan(0);
      expect(maxAge).toBeLessThanOrEqual(exp - Math.floor(Date.now() / 1000) + 1);
      expect(maxAge).toBeLessThanOrEqual(TOKEN_TTL);
    },
  );

  it('STK-01 a token past its expiry at the request instant is neither honoured nor persisted', async () => {
    const issued = Date.now();
    const token = signMarker('beta', { key: OLD, kid: 'old', ttlSeconds: 30, now: () => issued });
    const s = await decisionServer({
      trust: 'signed',
      keys,
      markers: { query: 'gray' },
      sticky: { persistMarkers: true },
      now: () => issued + 30_000,
    });
    for (const carrier of carriers) {
      const [url, headers] = requestWith(s.url, carrier, token, undefined);
      const res = await fetch(url, { headers });
      expect(await res.json()).toMatchObject({
        version: 'stable',
        rejected: { source: carrier, reason: 'expired' },
      });
      expect(versionCookie(res.headers.getSetCookie())).toBeUndefined();
    }
  });

  it('STK-01 a token one second from expiry is persisted for at most one second', async () => {
    const issued = Date.now();
    const token = signMarker('beta', { key: OLD, kid: 'old', ttlSeconds: 30, now: () => issued });
    const s = await decisionServer({
      trust: 'signed',
      keys,
      sticky: { persistMarkers: ['header'] },
      now: () => issued + 29_000,
    });
    const res = await fetch(s.url, { headers: { 'x-gray-id': token } });
    expect(await res.json()).toMatchObject({ version: 'beta', source: 'header' });
    expect(versionCookie(res.headers.getSetCookie())).toMatch(
      new RegExp(`^gray=${token.replace(/\./g, '\\.')}; Path=/; Max-Age=1;`),
    );
  });
});

const openCases = carriers.flatMap((carrier) =>
  (['none', 'rejected', 'valid-canary'] as const).flatMap((cookie) =>
    persistOptions.map((persist) => ({ carrier, cookie, persist })),
  ),
);

describe('STK-02 open mode: header, query and baggage markers are persisted only when asked', () => {
  it.each(openCases)(
    'STK-02 $carrier marker, cookie $cookie, persistMarkers $persist',
    async ({ carrier, cookie, persist }) => {
      const s = await decisionServer({ sticky: { persistMarkers: persist } });
      const jar =
        cookie === 'none' ? undefined : cookie === 'rejected' ? 'gray=nope' : 'gray=canary';
      const [url, headers] = requestWith(s.url, carrier, 'beta', jar);
      const res = await fetch(url, { headers });
      const decision = (await res.json()) as { version: string; source: string };
      const markerDecides = carrier === 'header' || cookie !== 'valid-canary';
      expect(decision).toMatchObject(
        markerDecides
          ? { version: 'beta', source: carrier }
          : { version: 'canary', source: 'cookie' },
      );
      const persisted =
        markerDecides &&
        (persist === true || (Array.isArray(persist) && persist.includes(carrier)));
      const written = versionCookie(res.headers.getSetCookie());
      if (persisted) expect(written).toMatch(/^gray=beta; Path=\/; Max-Age=2592000; /);
      else expect(written).toBeUndefined();
    },
  );

  it('STK-02 without any marker a rejected cookie is rewritten from the rules (PREC-03 still holds)', async () => {
    const s = await decisionServer({ sticky: true });
    const res = await fetch(s.url, { headers: { cookie: 'gray=nope' } });
    expect(await res.json()).toMatchObject({ version: 'stable' });
    expect(versionCookie(res.headers.getSetCookie())).toMatch(/^gray=stable; /);
  });

  it('STK-02 persistMarkers rejects an unknown carrier at construction', async () => {
    await expect(
      decisionServer({ sticky: { persistMarkers: ['cookie' as 'query'] } }),
    ).rejects.toThrow(/persistMarkers/);
  });
});
