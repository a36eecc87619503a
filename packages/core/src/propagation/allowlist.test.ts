import { describe, expect, it } from 'vitest';
import { isGraylaneError } from '../errors.js';
import { createAllowlist, shouldPropagate } from './allowlist.js';

const policy = {
  origin: 'https://app.example.com',
  allow: ['https://api.example.com', /^https:\/\/svc-\d+\.example\.com\//],
};
const allow = createAllowlist(policy);

describe('createAllowlist (S-BR evil URL suite)', () => {
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
  ] as const)('%s %s → %s', (_id, url, expected) => {
    expect(allow.allows(url)).toBe(expected);
  });

  it('BR-12 init rejects unanchored regexes', () => {
    for (const re of [/svc-\d+\.example\.com/, /^https:\/\/svc/, /svc\.example\.com$/]) {
      let caught: unknown;
      try {
        createAllowlist({ allow: [re] });
      } catch (err) {
        caught = err;
      }
      expect(isGraylaneError(caught) && caught.code).toBe('INVALID_OPTIONS');
    }
  });

  it('BR-14 a URL object whose href getter throws is refused without throwing', () => {
    const evil = {
      get href(): string {
        throw new Error('boom');
      },
    };
    expect(() => shouldPropagate(evil, policy)).not.toThrow();
    expect(shouldPropagate(evil, policy)).toBe(false);
  });

  it('a g-flagged regex is stateless across calls', () => {
    const a = createAllowlist({ allow: [/^https:\/\/g\.example\.com$/g] });
    expect([
      a.allows('https://g.example.com/'),
      a.allows('https://g.example.com/'),
      a.allows('https://g.example.com/'),
    ]).toEqual([true, true, true]);
  });

  it('host entries (Node allowHosts): exact host with any port, or host:port exactly', () => {
    const nodeAllow = createAllowlist({
      allow: ['orders.internal', 'pricing.internal:8080', '127.0.0.1'],
    });
    expect(nodeAllow.allows('http://orders.internal:3000/x')).toBe(true);
    expect(nodeAllow.allows('https://orders.internal/x')).toBe(true);
    expect(nodeAllow.allows('http://orders.internal.evil.com/')).toBe(false);
    expect(nodeAllow.allows('http://pricing.internal:8080/')).toBe(true);
    expect(nodeAllow.allows('http://pricing.internal:8081/')).toBe(false);
    expect(nodeAllow.allows('http://127.0.0.1:4000/')).toBe(true);
    expect(nodeAllow.allows('http://api.stripe.com/')).toBe(false);
    expect(nodeAllow.allows('http://localhost.evil.com/')).toBe(false);
  });

  // A URL leaves its scheme's default port out (`https://h:443/` is `https://h/`): a host:port
  // entry naming that port still means that host on that port.
  it.each([
    ['api.example.com:443', 'https://api.example.com/x', true],
    ['api.example.com:443', 'https://api.example.com:443/x', true],
    ['api.example.com:443', 'http://api.example.com:443/x', true],
    ['api.example.com:443', 'http://api.example.com/x', false],
    ['api.example.com:443', 'https://api.example.com:8443/x', false],
    ['api.example.com:80', 'http://api.example.com/x', true],
    ['API.example.com:80', 'http://api.EXAMPLE.com./x', false],
    ['api.example.com:80', 'https://api.example.com/x', false],
    ['api.example.com:80', 'https://api.example.com:80/x', true],
    ['127.0.0.1:80', 'http://127.0.0.1/', true],
    ['127.0.0.1:80', 'http://2130706433/', true],
    ['[::1]:443', 'https://[::1]/', true],
    ['[::1]:443', 'http://[::1]/', false],
    ['api.example.com:443', 'https://api.example.com.evil.com/', false],
    ['api.example.com:443', 'https://evil.com/?api.example.com:443', false],
  ] as const)('host:port entry %s and %s: %s', (entry, url, expected) => {
    expect(createAllowlist({ allow: [entry] }).allows(url)).toBe(expected);
  });

  it('rejects entries that are neither origins nor hosts, and origins with paths', () => {
    expect(() => createAllowlist({ allow: ['https://api.example.com/v1'] })).toThrow(/bare origin/);
    expect(() => createAllowlist({ allow: ['not a host!'] })).toThrow(/not an origin/);
    expect(() => createAllowlist({ allow: ['ftp://files.example.com'] })).toThrow(
      /http\(s\) origin/,
    );
  });

  it('with no policy nothing is allowed (no same-origin without an origin)', () => {
    expect(createAllowlist().allows('https://anything.example/')).toBe(false);
  });
});

/*
 * Review 120 D3: an `allow` list (`allowHosts` in Node and the Web engine) that is not a list. A
 * string was iterated letter by letter: `'internal'` allowed `http://i/`, `http://n/`, …; a
 * dotted host failed on its `.` ("allow entry . is not …"); a number, an object or a function
 * threw a raw "is not iterable" TypeError. Each is now `INVALID_OPTIONS` naming the option.
 */
describe('BR-12 an allow list that is not a list', () => {
  const NOT_LISTS: [string, unknown][] = [
    ['a host name', 'internal'],
    ['a dotted host', 'api.internal'],
    ['an origin', 'https://api.internal'],
    ['a one-letter string', 'i'],
    ['an empty string', ''],
    ['zero', 0],
    ['a number', 443],
    ['true', true],
    ['an object', {}],
    ['an array-like object', { 0: 'api.internal', length: 1 }],
    ['a function', () => ['api.internal']],
    ['a symbol', Symbol('api.internal')],
    ['a bigint', 10n],
    ['a String object', Object('api.internal')],
  ];
  it.each(NOT_LISTS)('%s is refused with INVALID_OPTIONS naming allowHosts', (_label, allow) => {
    let caught: unknown;
    try {
      createAllowlist({ allow: allow as string[] });
    } catch (err) {
      caught = err;
    }
    expect(isGraylaneError(caught) && caught.code, String(caught)).toBe('INVALID_OPTIONS');
    expect(String((caught as Error).message)).toMatch(/allowHosts must be an array/);
  });

  it.each([
    ['internal', 'http://i/'],
    ['internal', 'http://n/'],
    ['i', 'http://i:8080/'],
  ])('shouldPropagate with allow %j sends nothing to %s', (allow, url) => {
    expect(shouldPropagate(url, { allow: allow as unknown as string[] })).toBe(false);
  });

  const LISTS: [string, unknown, boolean][] = [
    ['an array (control)', ['api.internal'], true],
    ['a Set (control)', new Set(['api.internal']), true],
    ['an empty array (control)', [], false],
    ['null: none (control)', null, false],
    ['undefined: none (control)', undefined, false],
  ];
  it.each(LISTS)('%s is accepted', (_label, allow, allowed) => {
    const list = createAllowlist({ allow: allow as string[] });
    expect(list.allows('https://api.internal/x')).toBe(allowed);
    expect(list.allows('http://i/')).toBe(false);
  });

  it('a null policy counts as none', () => {
    expect(createAllowlist(null as never).allows('https://api.internal/')).toBe(false);
  });
});

/**
 * BR-13: a wildcard-looking entry. `'*.internal'` (and `'.internal'`, the `NO_PROXY` habit) was
 * accepted as the literal host it spells, which no request ever has: markers silently went
 * nowhere. Refused with `INVALID_OPTIONS` pointing at the RegExp form, in every spelling the URL
 * parser folds to the same host; the RegExp it suggests works.
 */
describe('BR-13 wildcard-looking entries are refused, not read as literal hosts', () => {
  const WILDCARDS = [
    '*.internal',
    '*.internal:8080',
    '*',
    '*:443',
    'svc-*.internal',
    'orders.*',
    '%2A.internal',
    '%2a.internal:80',
    '.internal',
    '.internal:8080',
    '.',
    'https://*.example.com',
    'http://*.example.com:8080',
    'https://*',
    'https://%2A.example.com',
    'https://.example.com',
    'HTTPS://*.EXAMPLE.COM/',
  ];
  it.each(WILDCARDS)('%s throws INVALID_OPTIONS naming the entry and the RegExp form', (entry) => {
    let caught: unknown;
    try {
      createAllowlist({ allow: ['api.internal', entry] });
    } catch (err) {
      caught = err;
    }
    expect(isGraylaneError(caught) && caught.code).toBe('INVALID_OPTIONS');
    const message = String((caught as Error).message);
    expect(message).toContain(entry);
    expect(message).toMatch(/not a wildcard|not an origin|bare origin/);
    expect(shouldPropagate('http://api.internal/', { allow: [entry] })).toBe(false);
  });

  it.each(['https://*.example.com', 'https://.example.com'])(
    'the page origin %s is refused naming `origin`, not an allow entry',
    (origin) => {
      expect(() => createAllowlist({ origin })).toThrow(`origin "${origin}" is not a wildcard`);
    },
  );

  it('the suggested RegExp is accepted and matches the family, not its look-alikes', () => {
    let message = '';
    try {
      createAllowlist({ allow: ['*.internal'] });
    } catch (err) {
      message = String((err as Error).message);
    }
    const source = /such as \/(.*)\/$/.exec(message)?.[1];
    expect(source).toBeDefined();
    const list = createAllowlist({ allow: [new RegExp(source as string)] });
    for (const [url, expected] of [
      ['http://orders.internal/x', true],
      ['https://pricing-2.internal:8443/', true],
      ['http://orders.internal.evil.com/', false],
      ['http://evil.com/orders.internal', false],
      ['http://internal/', false],
    ] as const)
      expect([url, list.allows(url)]).toEqual([url, expected]);
  });

  it.each([
    ['orders.internal', 'http://orders.internal/'],
    ['orders.internal.', 'http://orders.internal./'],
    ['xn--bcher-kva.example', 'http://bücher.example/'],
    ['https://api.example.com', 'https://api.example.com/'],
    ['[::1]:8080', 'http://[::1]:8080/'],
  ])('a plain entry %s is still accepted', (entry, url) => {
    expect(createAllowlist({ allow: [entry] }).allows(url)).toBe(true);
  });
});
