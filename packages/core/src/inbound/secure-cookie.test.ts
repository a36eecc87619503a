// BC-02 (review 128 D1): on https with `cookie.domain` the browser SDK writes `__Secure-<name>`,
// without one `__Host-<name>`, on http `<name>` — for the default name and a custom `cookie.name`
// alike. Every server reader reads all three, strongest first (`__Host-`, `__Secure-`, plain;
// the first present one decides, CK-02), judges them and removes them like the others: edge
// mode's removal, a rejected or outvoted pair, the carrier switched off, the fast path's check.
import { createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { utf8Encode } from '../signed/bytes.js';
import { signToken } from '../signed/sign.js';
import type { InboundCarrier } from './carrier.js';
import { DEFAULT_MARKER_COOKIES, markerCookieNames } from './cookie-names.js';
import { createInboundEngine } from './engine.js';
import type { CarrierEdits } from './normalize.js';
import type { InboundOptions } from './types.js';

const KEY = 'a-signing-key-of-at-least-32-byte';
const NOW = 1_800_000_000_000;
const hmac = (key: Uint8Array, data: Uint8Array) =>
  new Uint8Array(createHmac('sha256', key).update(data).digest());
const token = (version: string) =>
  signToken({ version, exp: NOW / 1000 + 600, kid: 'k1', key: utf8Encode(KEY) }, hmac);

const CONFIG = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
const TRUSTED = '10.0.0.1';
const UNTRUSTED = '192.168.1.1';

type Header = string | readonly string[];
/** A scenario over the three names (`H` `__Host-`, `S` `__Secure-`, `P` plain) → the lane. */
type Scenario = readonly [label: string, cookie: (n: Names) => Header, lane: string];
interface Names {
  readonly H: string;
  readonly S: string;
  readonly P: string;
}

const SCENARIOS: readonly Scenario[] = [
  ['S alone', ({ S }) => `${S}=beta`, 'beta'],
  ['S among other cookies', ({ S }) => `a=1; ${S}=beta; b=2`, 'beta'],
  ['S twice, same value', ({ S }) => `${S}=beta; x=1; ${S}=beta`, 'beta'],
  ['S twice, values differ: ambiguous', ({ S }) => `${S}=beta; ${S}=canary`, 'stable'],
  ['S before P', ({ S, P }) => `${S}=canary; ${P}=beta`, 'canary'],
  ['S after P in the header: still first', ({ S, P }) => `${P}=beta; ${S}=canary`, 'canary'],
  ['H before S', ({ H, S }) => `${H}=beta; ${S}=canary`, 'beta'],
  ['H after S in the header: still first', ({ H, S }) => `${S}=canary; ${H}=beta`, 'beta'],
  ['all three', ({ H, S, P }) => `${P}=stable; ${S}=canary; ${H}=beta`, 'beta'],
  ['an invalid S hides P', ({ S, P }) => `${S}=gamma; ${P}=beta`, 'stable'],
  ['an ambiguous S hides P', ({ S, P }) => `${S}=beta; ${S}=canary; ${P}=beta`, 'stable'],
  ['S quoted (CK-04)', ({ S }) => `${S}="beta"`, 'beta'],
  ['S on a second header line (CK-08)', ({ S }) => ['a=1', `${S}=beta`], 'beta'],
  ['S twice across lines, values differ', ({ S }) => [`${S}=beta`, `${S}=canary`], 'stable'],
  ['H alone', ({ H }) => `${H}=beta`, 'beta'],
  ['P alone (control)', ({ P }) => `${P}=beta`, 'beta'],
  ['a longer name is not S (control)', ({ S }) => `${S}x=beta; x${S}=beta`, 'stable'],
];

const BASES: readonly [string, InboundOptions<null>['markers'], string][] = [
  ['default name', undefined, 'gray'],
  ['markers.cookie "gray"', { cookie: 'gray' }, 'gray'],
  ['custom markers.cookie "lane"', { cookie: 'lane' }, 'lane'],
];

type Trust = 'open' | 'signed' | 'edge, untrusted peer' | 'edge, trusted peer';
const TRUSTS: readonly Trust[] = ['open', 'signed', 'edge, untrusted peer', 'edge, trusted peer'];

/** A TLS carrier over the cookie header, recording the edits the engine applies. */
function carrier(cookie: Header, peer: string, edits: CarrierEdits[]): InboundCarrier {
  const headers: Record<string, Header> = { cookie };
  return {
    header: (name) => headers[name],
    headers: headers as Record<string, string>,
    method: 'GET',
    url: '/',
    host: 'app.example',
    secure: true,
    remoteAddress: peer,
    edit: (e) => edits.push(e),
  };
}

/** The cookie pairs a name list reads, in header order, after the engine's edits. */
function markerPairs(cookie: Header, edits: CarrierEdits[], names: readonly string[]): string[] {
  let text: string | null = typeof cookie === 'string' ? cookie : cookie.join('; ');
  for (const e of edits) if (e.headers.has('cookie')) text = e.headers.get('cookie') ?? null;
  if (text === null) return [];
  return text
    .split(';')
    .map((p) => p.trim())
    .filter((p) => names.includes(p.slice(0, p.indexOf('='))));
}

/** Signed mode: every label in the scenario becomes a token for it (`gamma` stays invalid). */
function signedHeader(h: Header): Header {
  const swap = (s: string) =>
    s.replace(
      /=("?)(beta|canary|stable)\1(?=;|$)/g,
      (_m, q: string, v: string) => `=${q}${token(v)}${q}`,
    );
  return typeof h === 'string' ? swap(h) : h.map(swap);
}

describe('BC-02: every marker cookie name the browser SDK writes is read, judged and removed', () => {
  for (const [baseLabel, markers, base] of BASES) {
    const [H, S, P] = markerCookieNames(base) as [string, string, string];
    const names = { H, S, P };
    for (const trust of TRUSTS) {
      for (const sticky of [false, true]) {
        const rows = SCENARIOS.map(([label, make, lane]) => [label, make(names), lane] as const);
        it.each(rows)(
          `${baseLabel}, ${trust}${sticky ? ', sticky' : ''}: %s`,
          (_label, raw, lane) => {
            const options: InboundOptions<null> = {
              config: CONFIG,
              ...(markers ? { markers } : {}),
              ...(sticky ? { sticky: { httpOnly: false } } : {}),
              now: () => NOW,
              ...(trust === 'signed' ? { trust: 'signed', keys: { k1: KEY } } : {}),
              ...(trust.startsWith('edge') ? { trust: 'edge', trustedProxies: [TRUSTED] } : {}),
            };
            const engine = createInboundEngine(options, { hmacSha256: hmac, randomId: randomUUID });
            const cookie = trust === 'signed' ? signedHeader(raw) : raw;
            const edits: CarrierEdits[] = [];
            const peer = trust === 'edge, untrusted peer' ? UNTRUSTED : TRUSTED;
            const out = engine.evaluate(carrier(cookie, peer, edits), null);
            const untrusted = trust === 'edge, untrusted peer';
            const want = untrusted ? 'stable' : lane;
            expect(out.decision.version).toBe(want);
            if (want !== 'stable') expect(out.decision.source).toBe('cookie');
            const left = markerPairs(cookie, edits, [H, S, P]);
            if (untrusted) {
              // Edge mode: every marker cookie of the client is gone, the others stay.
              expect(left).toEqual([]);
            } else {
              // What the app sees names the decided lane only: outvoted and rejected pairs go.
              const says = (p: string) => p.slice(p.indexOf('=') + 1).replace(/"/g, '');
              const version = (p: string) => (trust === 'signed' ? says(p).split('.')[0] : says(p));
              for (const p of left) expect(version(p), p).toBe(want);
              if (want !== 'stable') expect(left.length).toBeGreaterThan(0);
            }
            // Sticky: a cookie marker that decided is never rewritten; one that was rejected is
            // rewritten under the `__Host-` name (the one read first) — never in edge mode, and
            // never over copies of one name that differ (STK-04, review 83 D1: other paths or a
            // parent domain, which a write cannot replace; in these rows only they are ambiguous).
            const written = out.setCookies.map((c) => c.slice(0, c.indexOf('=')));
            const rejected = out.decision.rejected?.source === 'cookie';
            const conflict = out.decision.rejected?.reason === 'ambiguous';
            if (sticky && rejected && !conflict && !trust.startsWith('edge'))
              expect(written).toEqual([H]);
            else expect(written).toEqual([]);
          },
        );
      }
    }
  }
});

describe('BC-02: names, the carrier switched off, and the server-written cookie', () => {
  it.each([
    ['gray', ['__Host-gray', '__Secure-gray', 'gray']],
    ['lane', ['__Host-lane', '__Secure-lane', 'lane']],
    ['__Host-gray', ['__Host-gray']],
    ['__Secure-gray', ['__Secure-gray']],
    ['__secure-gray', ['__secure-gray']],
  ] as const)('markerCookieNames(%s)', (base, names) => {
    expect(markerCookieNames(base)).toEqual(names);
  });

  it('DEFAULT_MARKER_COOKIES is markerCookieNames("gray")', () => {
    expect(DEFAULT_MARKER_COOKIES).toEqual(markerCookieNames('gray'));
  });

  it.each([
    ['__Secure-gray=beta'],
    ['a=1; __Secure-gray=beta'],
    ['__Secure-gray=beta; __Secure-gray=canary; b=2'],
    [['a=1', '__Secure-gray=canary']],
  ] as const)(
    'GW-02/OTB-02 markers.cookie false: %j is still removed under its default names',
    (cookie) => {
      for (const trust of ['open', 'edge'] as const) {
        for (const sticky of [false, true]) {
          const engine = createInboundEngine(
            {
              config: CONFIG,
              trust,
              markers: { cookie: false },
              ...(sticky ? { sticky: true } : {}),
            },
            { hmacSha256: hmac, randomId: randomUUID },
          );
          const edits: CarrierEdits[] = [];
          const out = engine.evaluate(carrier(cookie, UNTRUSTED, edits), null);
          expect(out.decision.version).toBe('stable');
          expect(markerPairs(cookie, edits, DEFAULT_MARKER_COOKIES)).toEqual([]);
        }
      }
    },
  );

  const split = {
    ...CONFIG,
    rules: [{ id: 'all', split: [{ version: 'beta', weight: 100 }], bucketBy: 'header:x-user' }],
  };
  it.each([
    [undefined, true, '__Host-gray=beta'],
    [undefined, false, 'gray=beta'],
    ['gray', true, '__Host-gray=beta'],
    ['lane', true, '__Host-lane=beta'],
    ['lane', false, 'lane=beta'],
    ['__Secure-lane', true, '__Secure-lane=beta'],
  ] as const)(
    'the sticky version cookie for markers.cookie %s (TLS %s) is %s, the name read first',
    (name, secure, expected) => {
      const engine = createInboundEngine(
        { config: split, sticky: true, ...(name ? { markers: { cookie: name } } : {}) },
        { hmacSha256: hmac, randomId: randomUUID },
      );
      const headers = { 'x-user': 'u-1' };
      const out = engine.evaluate(
        {
          header: (n) => headers[n as 'x-user'],
          headers,
          method: 'GET',
          url: '/',
          host: 'app.example',
          secure,
          remoteAddress: TRUSTED,
        },
        null,
      );
      expect(out.setCookies.map((c) => c.slice(0, c.indexOf(';')))).toEqual([expected]);
      // And the cookie written is read back on the next request.
      const again = engine.evaluate(carrier(expected, TRUSTED, []), null);
      expect(again.decision).toMatchObject({ version: 'beta', source: 'cookie' });
    },
  );
});
