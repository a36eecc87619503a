import { createAllowlist, isGraylaneError, type AllowEntry } from '@graylane/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowlist } from '../src/allow.js';

// The page's allowlist is a small re-implementation of core's `createAllowlist` (the whole of
// core's costs too much of the 3.4 kB budget). These tests hold it to core's contract (I8): the
// S-BR rows, then a property over generated entries and URLs, both for what is accepted at init
// and for what is allowed at request time. The one deliberate difference: bare-host entries.

const OWN = 'https://app.example.com';
const ALLOW: AllowEntry[] = ['https://api.example.com', /^https:\/\/svc-\d+\.example\.com\//];

/** What a page would do with `url`: resolve it against the page, then ask the allowlist. */
function pageAllows(allow: readonly AllowEntry[], url: string): boolean {
  let u: URL;
  try {
    u = new URL(url, OWN);
  } catch {
    return false;
  }
  return allowlist(allow, OWN)(u);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('the page allowlist agrees with core createAllowlist', () => {
  it.each([
    ['BR-01', '/api/x', true],
    ['BR-02', 'https://app.example.com/x', true],
    ['BR-03', '//evil.com/x', false],
    ['BR-04', 'https://api.example.com/v1', true],
    ['BR-05', 'https://api.example.com.evil.com/v1', false],
    ['BR-06', 'https://evil.com/?u=https://api.example.com', false],
    ['BR-06', 'https://evil.com/#api.example.com', false],
    ['BR-07', 'https://api.example.com@evil.com/', false],
    ['BR-07', 'https://user:pw@api.example.com/', true],
    ['BR-08', 'http://api.example.com/', false],
    ['BR-08', 'https://api.example.com:444/', false],
    ['BR-09', 'HTTPS://API.EXAMPLE.COM/', true],
    ['BR-10', 'https://xn--pple-43d.com/', false],
    ['BR-10', 'https://api.example.com./', false],
    ['BR-11', 'data:text/plain,hi', false],
    ['BR-11', 'blob:https://app.example.com/uuid', false],
    ['BR-11', 'about:blank', false],
    ['BR-11', 'http://[::1', false],
    ['BR-12', 'https://svc-1.example.com/', true],
    ['BR-12', 'https://svc-1.example.com.evil.com/', false],
    ['BR-12', 'https://x.com/https://svc-1.example.com/', false],
  ] as const)('%s %s → %s, as core says', (_id, url, expected) => {
    expect(pageAllows(ALLOW, url)).toBe(expected);
    expect(createAllowlist({ origin: OWN, allow: ALLOW }).allows(url)).toBe(expected);
  });

  it.each<[string, AllowEntry]>([
    ['an unanchored RegExp', /svc-\d+\.example\.com/],
    ['a RegExp anchored at the start only', /^https:\/\/svc/],
    ['a RegExp anchored at the end only', /svc\.example\.com$/],
    ['a RegExp ending in an escaped $', /^https:\/\/a\$/],
    ['an origin with a path', 'https://api.example.com/v1'],
    ['an origin with a query', 'https://api.example.com?x'],
    ['userinfo', 'https://u@api.example.com'],
    ['another scheme', 'ftp://api.example.com'],
    ['garbage', 'not a url at all'],
    ['BR-08 a bare host (any scheme and port: core allows it, a page does not)', 'api.example.com'],
    ['BR-08 a bare host with a port', 'api.example.com:8443'],
    ['BR-13 a wildcard-looking origin', 'https://*.example.com'],
    ['BR-13 a wildcard-looking origin with a port', 'http://*.example.com:8080'],
    ['BR-13 a wildcard-looking origin, upper case', 'HTTPS://*.EXAMPLE.COM/'],
    ['BR-13 a wildcard inside a label', 'https://svc-*.example.com'],
    ['BR-13 a wildcard alone', 'https://*'],
    ['BR-13 a leading dot (the NO_PROXY habit)', 'https://.example.com'],
    ['BR-13 a percent-encoded *', 'https://%2A.example.com'],
  ])('INVALID_OPTIONS at init: %s', (_what, entry) => {
    const err = thrown(() => allowlist([entry], OWN));
    expect(isGraylaneError(err) && err.code).toBe('INVALID_OPTIONS');
    expect(String((err as Error).message)).toMatch(/^\[graylane\] initGray: invalid allow entry/);
  });

  // Generated entries: origins in many spellings and anchored patterns (core's host entries are
  // the one documented difference and are left out).
  const scheme = fc.constantFrom('http', 'https', 'HTTPS', 'ftp', 'ws');
  const host = fc.constantFrom(
    'api.example.com',
    'API.Example.COM',
    'svc-7.example.com',
    'api.example.com.',
    '127.0.0.1',
    '[::1]',
    'xn--pple-43d.com',
    'localhost',
  );
  const port = fc.constantFrom('', ':80', ':443', ':8443', ':0', ':65535');
  const tail = fc.constantFrom('', '/', '//', '/v1', '?q=1', '#f', ' ', '/ ');
  const origin = fc.tuple(scheme, host, port, tail).map(([s, h, p, t]) => `${s}://${h}${p}${t}`);
  const pattern = fc.constantFrom<RegExp>(
    /^https:\/\/svc-\d+\.example\.com$/,
    /^https:\/\/svc-\d+\.example\.com\//,
    /^https?:\/\/(api|svc-\d)\.example\.com(:\d+)?$/i,
    /^https:\/\/a\.com$|^https:\/\/b\.com$/,
    /^https:\/\/[a-z]+\.example\.com$/g,
    /^http:\/\/127\.0\.0\.1:\d+$/y,
  );
  // BR-13: hosts that look like wildcards are refused by both (a host no request ever has).
  const wildHost = fc.constantFrom('*.example.com', '.example.com', 'svc-*.example.com', '%2a.x');
  const wildOrigin = fc
    .tuple(scheme, wildHost, port, tail)
    .map(([s, h, p, t]) => `${s}://${h}${p}${t}`);
  const entry = fc.oneof(origin, pattern, wildOrigin);
  // Entries core accepts: http(s) in any case, a bare origin with at most one trailing slash.
  const valid = fc.oneof(
    fc
      .tuple(fc.constantFrom('http', 'https', 'HTTPS'), host, port, fc.constantFrom('', '/'))
      .map(([s, h, p, t]) => `${s}://${h}${p}${t}`),
    pattern,
  );
  const url = fc.oneof(
    fc
      .tuple(scheme, fc.constantFrom('', 'u:p@', 'api.example.com@'), host, port, tail)
      .map(([s, u, h, p, t]) => `${s}://${u}${h}${p}${t}`),
    fc.constantFrom('/x', '//evil.com/x', 'data:,x', 'https://api.example.com.evil.com/'),
  );

  it('I8 property: an entry is accepted at init exactly when core accepts it', () => {
    fc.assert(
      fc.property(entry, (e) => {
        const coreErr = thrown(() => createAllowlist({ allow: [e] }));
        expect(thrown(() => allowlist([e], OWN)) === undefined).toBe(coreErr === undefined);
      }),
      { numRuns: 1000 },
    );
  });

  it('I8 property: with the same accepted entries, the same URLs are allowed as by core', () => {
    fc.assert(
      fc.property(fc.array(valid, { maxLength: 4 }), fc.array(url, { maxLength: 8 }), (es, us) => {
        const core = createAllowlist({ origin: OWN, allow: es });
        for (const u of us) expect(pageAllows(es, u)).toBe(core.allows(u));
      }),
      { numRuns: 1000 },
    );
  });
});
