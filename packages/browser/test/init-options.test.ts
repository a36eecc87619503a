// @vitest-environment happy-dom
import { isGraylaneError } from '@graylane/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  initGray,
  withGray,
  type CookieAttributes,
  type CookieJarLike,
  type GrayOptions,
} from '../src/index.js';
import { at, clearCookies, reload } from './page.js';

// Review 69 D4, N1, N2, N3: options accepted at init that then silently did nothing.
// - D4: a `header` that is not an RFC 9110 field name (`''`, `X Gray`) was accepted; every
//   `headers.set` then threw inside graylane's catch, so the marker was never sent.
// - N2: `versions: 42` threw a raw TypeError; `versions: 'stable'` was read as the versions
//   s, t, a, b, l, e.
// - N3: `cookie.maxAgeSeconds` of `0`, `'abc'`, `NaN`, a negative or a fraction under 1 wrote
//   `Max-Age=0`: nothing persisted.
// All three now throw INVALID_OPTIONS at init, in a page and during SSR alike.
// - N1: `setGrayVersion(' beta')` switched to `beta` (a marker's OWS is trimmed, HDR-06) and
//   answered false. The answer now says what happened.

const base: GrayOptions = { versions: ['stable', 'beta'], default: 'stable' };

afterEach(() => {
  vi.unstubAllGlobals();
  clearCookies();
  at('http://localhost/');
  reload();
});

/** The page (`true`) or SSR: no `document`, no `location`. */
const PLACES = [
  ['in a page', true],
  ['during SSR', false],
] as const;

/** The error `initGray(options)` throws where `page` says, or undefined. */
function initError(options: unknown, page: boolean): unknown {
  reload();
  if (!page) {
    vi.stubGlobal('document', undefined);
    vi.stubGlobal('location', undefined);
  }
  try {
    initGray(options as GrayOptions);
    return undefined;
  } catch (e) {
    return e;
  } finally {
    vi.unstubAllGlobals();
  }
}

const codeOf = (e: unknown): unknown => (isGraylaneError(e) ? e.code : e);

const BAD_HEADERS: ReadonlyArray<readonly [string, unknown]> = [
  ['empty', ''],
  ['a space inside', 'X Gray'],
  ['a leading space', ' X-Gray-Id'],
  ['a trailing space', 'X-Gray-Id '],
  ['a tab', 'X-Gray\tId'],
  ['CRLF', 'X-Gray-Id\r\nX-Evil'],
  ['LF', 'X-Gray\nId'],
  ['NUL', 'X-Gray\0Id'],
  ['DEL', 'X-Gray\x7fId'],
  ['a colon', 'X-Gray:Id'],
  ['a comma (two names)', 'X-Gray-Id,X-Other'],
  ['a semicolon', 'X;Gray'],
  ['`=`', 'X=Gray'],
  ['a DQUOTE', 'X"Gray"'],
  ['parentheses', 'X(Gray)'],
  ['`/`', 'X/Gray'],
  ['a backslash', 'X\\Gray'],
  ['`?`', 'X?Gray'],
  ['`@`', 'X@Gray'],
  ['brackets', 'X[Gray]'],
  ['braces', 'X{Gray}'],
  ['`<>`', 'X<Gray>'],
  ['Latin-1', 'X-Gräy'],
  ['an emoji', 'X-Gray-🚀'],
  ['a zero-width space', 'X-Gray\u200b'],
  ['an object', {}],
  ['a function', () => 'X-Gray-Id'],
  // Fetch's forbidden request-header names: fetch and XHR drop them without an error, so the
  // marker never went (review 69). Any case; the `Sec-` and `Proxy-` prefixes. (happy-dom's
  // Request drops them as browsers do, in both places here; in real Chromium:
  // chromium/options-network.test.ts.)
  ...[
    'Accept-Charset',
    'accept-encoding',
    'Access-Control-Request-Headers',
    'ACCESS-CONTROL-REQUEST-METHOD',
    'Connection',
    'Content-Length',
    'Cookie',
    'cookie',
    'Cookie2',
    'Date',
    'DNT',
    'Expect',
    'Host',
    'Keep-Alive',
    'Origin',
    'Referer',
    // ('Set-Cookie' too in browsers; happy-dom's Request keeps it: the Chromium table has it.)
    'TE',
    'Trailer',
    'Transfer-Encoding',
    'Upgrade',
    'Via',
    'Sec-Gray',
    'sec-gray-id',
    'SEC-',
    'Proxy-Gray',
    'proxy-authorization',
  ].map((name) => [`forbidden: ${name}`, name] as const),
];

const GOOD_HEADERS: ReadonlyArray<readonly [string, unknown, string]> = [
  ['the default', undefined, 'X-Gray-Id'],
  ['null: the default', null, 'X-Gray-Id'],
  ['lower-case', 'x-gray-id', 'x-gray-id'],
  ['one letter', 'G', 'G'],
  ['a digit', '1', '1'],
  ['every tchar', "a!#$%&'*+-.^_`|~z", "a!#$%&'*+-.^_`|~z"],
  // Near the forbidden names, but a page may set them.
  ['X-Sec-Gray', 'X-Sec-Gray', 'X-Sec-Gray'],
  ['Secgray (no dash)', 'Secgray', 'Secgray'],
  ['Proxyish', 'Proxyish', 'Proxyish'],
  ['Cookies', 'Cookies', 'Cookies'],
  ['X-Cookie', 'X-Cookie', 'X-Cookie'],
  ['Hostname', 'Hostname', 'Hostname'],
  ['Dates', 'Dates', 'Dates'],
  ['Tes', 'Tes', 'Tes'],
  ['X-Via', 'X-Via', 'X-Via'],
  ['Origin-Gray', 'Origin-Gray', 'Origin-Gray'],
];

describe('review 69 D4: the header is an RFC 9110 field name, or init throws', () => {
  describe.each(PLACES)('%s', (_place, page) => {
    it.each(BAD_HEADERS)('%s → INVALID_OPTIONS', (_label, header) => {
      expect(codeOf(initError({ ...base, header }, page))).toBe('INVALID_OPTIONS');
    });
  });

  it.each(GOOD_HEADERS)(
    '%s is accepted, and the marker goes under it',
    async (_l, header, name) => {
      reload();
      const client = initGray({ ...base, serverVersion: 'beta', header } as GrayOptions);
      expect(client.header).toBe(name);
      let sent: Array<[string, string]> = [];
      await withGray(async (_input, init) => {
        sent = [...new Headers(init?.headers)].map(([n, v]) => [n.toLowerCase(), v]);
        return new Response('');
      })('/api');
      expect(sent).toEqual([[name.toLowerCase(), 'beta']]);
    },
  );
});

// [label, versions, default]: the default is one of what the old code took for versions.
const BAD_VERSIONS: ReadonlyArray<readonly [string, unknown, string]> = [
  ['a number', 42, 'stable'],
  // Typed as an array; a Set from plain JS was taken before review 69 (now refused, clearly).
  ['a Set', new Set(['stable', 'beta']), 'stable'],
  ['a string (read letter by letter)', 'stable', 's'],
  ['a one-letter string', 'b', 'b'],
  ['a String object', new String('beta'), 'b'],
  ['an array-like object', { length: 1, 0: 'stable' }, 'stable'],
  ['an object', { stable: true }, 'stable'],
  ['true', true, 'stable'],
  ['a function', () => ['stable'], 'stable'],
  ['null', null, 'stable'],
  ['absent', undefined, 'stable'],
];

describe('review 69 N2: versions is a list, or init throws', () => {
  describe.each(PLACES)('%s', (_place, page) => {
    it.each(BAD_VERSIONS)('%s → INVALID_OPTIONS', (_label, versions, d) => {
      expect(codeOf(initError({ versions, default: d }, page))).toBe('INVALID_OPTIONS');
    });
  });

  it('a frozen array (what parseConfig returns) is a list', () => {
    reload();
    const versions = Object.freeze(['stable', 'beta']);
    expect(initGray({ versions, default: 'stable' }).versions).toBe(versions);
  });
});

const BAD_MAX_AGES: ReadonlyArray<readonly [string, unknown]> = [
  ['0', 0],
  ['-0', -0],
  ['-1', -1],
  ['0.5 (Max-Age=0 once cut)', 0.5],
  ['0.999', 0.999],
  ['NaN', NaN],
  ['-Infinity', -Infinity],
  ["'abc'", 'abc'],
  ["''", ''],
  ["'0'", '0'],
  ['{}', {}],
  ['[]', []],
  ['a function', () => 60],
  ['false', false],
];

/** A jar that records the `Max-Age` of every write and keeps the value. */
function recordingJar(ages: number[]): CookieJarLike {
  const jar = new Map<string, string>();
  return {
    get: (name) => jar.get(name),
    set: (name, value, a: CookieAttributes) => void (ages.push(a.maxAge), jar.set(name, value)),
    remove: (name) => void jar.delete(name),
  };
}

const GOOD_MAX_AGES: ReadonlyArray<readonly [string, number, unknown]> = [
  ['absent: 30 days', 2_592_000, undefined],
  ['null: 30 days', 2_592_000, null],
  ['1', 1, 1],
  ['1.9 (cut to whole seconds)', 1, 1.9],
  ['60', 60, 60],
  ["'60' (a numeric string)", 60, '60'],
  ['30 days', 2_592_000, 2_592_000],
  ['BC-06 99999999: clamped to 30 days', 2_592_000, 99_999_999],
  ['Number.MAX_VALUE: clamped', 2_592_000, Number.MAX_VALUE],
  ['Infinity: clamped, as documented (review 77 D3)', 2_592_000, Infinity],
];

describe('review 69 N3 / BC-06: cookie.maxAgeSeconds is a second or more (Infinity: 30 days), or init throws', () => {
  describe.each(PLACES)('%s', (_place, page) => {
    it.each(BAD_MAX_AGES)('%s → INVALID_OPTIONS', (_label, maxAgeSeconds) => {
      expect(codeOf(initError({ ...base, cookie: { maxAgeSeconds } }, page))).toBe(
        'INVALID_OPTIONS',
      );
      // The anonymous id's cookie has the same lifetime.
      expect(
        codeOf(initError({ ...base, cookie: { maxAgeSeconds, anonymousIdName: 'aid' } }, page)),
      ).toBe('INVALID_OPTIONS');
    });
  });

  it.each(GOOD_MAX_AGES)('%s → Max-Age=%i', (_label, expected, maxAgeSeconds) => {
    reload();
    const ages: number[] = [];
    const client = initGray({
      ...base,
      cookies: recordingJar(ages),
      cookie: { maxAgeSeconds } as never,
    });
    expect(client.setGrayVersion('beta')).toBe(true);
    expect(ages).toEqual([expected]);
  });
});

// [input, what setGrayVersion answers, the version after it]
const CHOICES: ReadonlyArray<readonly [string, boolean, string]> = [
  [' beta', true, 'beta'],
  ['beta ', true, 'beta'],
  ['\tbeta', true, 'beta'],
  ['beta\t', true, 'beta'],
  [' \t beta \t ', true, 'beta'],
  [' '.repeat(60) + 'beta', true, 'beta'],
  // Not OWS, or over 64 bytes before trimming: not a version, nothing changes.
  [' '.repeat(61) + 'beta', false, 'stable'],
  ['\nbeta', false, 'stable'],
  ['beta\r', false, 'stable'],
  ['\u00a0beta', false, 'stable'],
  ['\u200bbeta', false, 'stable'],
  ['BETA', false, 'stable'],
  ['beta,beta', false, 'stable'],
  [' ', false, 'stable'],
  ['', false, 'stable'],
];

describe('review 69 N1 / HDR-06: setGrayVersion answers what it did', () => {
  it.each(CHOICES)('%j → %s, version %s, and a reload agrees', (input, answer, version) => {
    reload();
    const client = initGray(base);
    expect(client.setGrayVersion(input)).toBe(answer);
    expect(client.getGrayVersion()).toBe(version);
    // true means persisted: the next page view reads the choice back.
    reload();
    expect(initGray(base).getGrayVersion()).toBe(version);
  });

  it.each(CHOICES.filter(([, answer]) => answer).slice(0, 2))(
    '%j with cookies refused → false (the page switched, a reload would not)',
    (input) => {
      reload();
      const refused: CookieJarLike = { get: () => undefined, set: () => {}, remove: () => {} };
      const client = initGray({ ...base, cookies: refused });
      expect([client.setGrayVersion(input), client.getGrayVersion()]).toEqual([false, 'beta']);
    },
  );
});

// Review 78 D4: the forbidden-name check asks the page's own `Request`; where that is missing,
// a stub or a mock that throws or answers nothing, init goes on (it cannot tell) and the header
// is checked as a field name only.
describe('review 78 D4: a Request that is missing, stubbed or mocked never breaks init', () => {
  const STUBS: ReadonlyArray<readonly [string, unknown]> = [
    ['absent', undefined],
    [
      'a function returning {}',
      function () {
        return {};
      },
    ],
    [
      'a class whose headers is null',
      class {
        headers = null;
      },
    ],
    [
      'a constructor that throws',
      function () {
        throw new Error('not in tests');
      },
    ],
    [
      'headers.has throws',
      class {
        headers = {
          has: () => {
            throw new Error('no');
          },
        };
      },
    ],
    ['a non-constructor', () => ({})],
    // Review 79 D3: stubs that keep no header at all (they ignore `init`, or `has` says no).
    [
      'a class ignoring init',
      class {
        headers = new Headers();
      },
    ],
    [
      'has always false',
      class {
        headers = { has: () => false };
      },
    ],
    [
      'has answering a Promise',
      class {
        headers = { has: () => Promise.resolve(true) };
      },
    ],
    ['a string', 'Request'],
  ];
  describe.each(PLACES)('%s', (_place, page) => {
    it.each(STUBS)('Request %s: the default, a custom name and Cookie are taken', (_l, stub) => {
      for (const header of [undefined, 'X-Lane', 'Cookie']) {
        vi.stubGlobal('Request', stub);
        try {
          expect(initError({ ...base, header }, page)).toBeUndefined();
        } finally {
          vi.unstubAllGlobals();
        }
      }
    });
    it.each(STUBS)('Request %s: a name that is no field name is still refused', (_l, stub) => {
      vi.stubGlobal('Request', stub);
      try {
        expect(codeOf(initError({ ...base, header: 'X Gray' }, page))).toBe('INVALID_OPTIONS');
      } finally {
        vi.unstubAllGlobals();
      }
    });
  });
});
