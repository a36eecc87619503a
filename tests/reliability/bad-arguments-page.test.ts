// @vitest-environment happy-dom
/**
 * Bad arguments in a page (review 107 D3, helper 117): the browser calls whose options only
 * matter once a page runs them. `null` options from plain JavaScript count as none — before,
 * `rulesFromConfig(config, null)` threw inside every evaluation (initGray catches a throwing
 * rule: every visitor got the default) and `attachGray(api, null)` threw inside its transform
 * (caught: no request was ever marked). What is not an options object at all (a number, a
 * string, an array, a symbol, `{}`) has no fields and is none too (controls).
 */
import axios, { type InternalAxiosRequestConfig } from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { initGray, rulesFromConfig } from '@graylane/browser';
import { attachGray } from '@graylane/browser/axios';
import { parseConfig } from '@graylane/core';

const JUNK: readonly [string, unknown][] = [
  ['nothing', undefined],
  ['null', null],
  ['a number', 5],
  ['a string', 'beta'],
  ['an array', []],
  ['a symbol', Symbol('x')],
  ['an object without its fields', {}],
];
// Where the old source crashed: the rest are controls.
const rows = JUNK.map(([what, x]) => [x === null ? what : `${what}, control`, x] as const);
const a = (x: unknown): never => x as never;
// This directory compiles without the DOM lib: the page globals used here (happy-dom's).
const page = globalThis as unknown as {
  document: { cookie: string };
  window: { happyDOM: { setURL(url: string): void } };
};

const config = parseConfig({
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [
    { id: 'docs', match: { path: { prefix: '/docs' } }, version: 'beta' },
    { id: 'qa', match: { cookie: { qa: { equals: '1' } } }, version: 'beta' },
  ],
});

// A new page view per row: no cookies (the version a rule gave is stored), no current client.
afterEach(() => {
  for (const pair of page.document.cookie.split('; ').filter(Boolean))
    page.document.cookie = `${pair.split('=')[0]}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
  Reflect.deleteProperty(globalThis, Symbol.for('@graylane/browser:client'));
});

function at(url: string): void {
  page.window.happyDOM.setURL(url);
}

describe('@graylane/browser rulesFromConfig(config, junk) reads the page as with no options', () => {
  it.each(rows)('rulesFromConfig(config, %s) matches the path', (_what, options) => {
    at('http://localhost/docs/intro');
    const rules = rulesFromConfig(config, a(options));
    expect(rules({ anonymousId: 'aid-1', defaultVersion: 'stable' })?.version).toBe('beta');
  });

  it.each(rows)('rulesFromConfig(config, %s) matches a cookie', (_what, options) => {
    at('http://localhost/');
    page.document.cookie = 'qa=1; Path=/';
    const rules = rulesFromConfig(config, a(options));
    expect(rules({ anonymousId: 'aid-1', defaultVersion: 'stable' })?.version).toBe('beta');
  });

  it.each(rows)(
    'initGray({ rules: rulesFromConfig(config, %s) }) serves beta',
    (_what, options) => {
      at('http://localhost/docs/');
      const gray = initGray({
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: rulesFromConfig(config, a(options)),
      });
      expect([gray.getGrayVersion(), gray.getGrayReason()]).toEqual(['beta', 'rule']);
    },
  );
});

describe('@graylane/browser/axios attachGray(instance, junk) marks as with no options', () => {
  it.each(rows)('attachGray(api, %s) sends the version', async (_what, options) => {
    at('http://localhost/');
    const gray = initGray({ versions: ['stable', 'beta'], default: 'stable' });
    gray.setGrayVersion('beta');
    const seen: unknown[] = [];
    const api = axios.create({
      adapter: async (c: InternalAxiosRequestConfig) => {
        seen.push(c.headers.get('X-Gray-Id'));
        return { data: '', status: 200, statusText: 'OK', headers: {}, config: c };
      },
    });
    const detach = attachGray(api, a(options));
    try {
      await api.get('/api/orders');
    } finally {
      detach();
    }
    expect(seen).toEqual(['beta']);
  });
});

describe('@graylane/browser initGray({ allow: junk }) (review 120 D3: a string was read one character at a time, others crashed)', () => {
  const base = { versions: ['stable', 'beta'], default: 'stable' };
  const refused: readonly [string, unknown][] = [
    ['a string', 'https://api.example.com'],
    ['a one-letter string', 'i'],
    ['a number', 5],
    ['an object', {}],
    ['a function', () => ['https://api.example.com']],
    ['a Set', new Set(['https://api.example.com'])],
    ['a RegExp alone', /^https:\/\/api\.example\.com$/],
    ['null', null],
  ];
  it.each(refused)('allow: %s throws INVALID_OPTIONS naming allow', (_what, allow) => {
    at('http://localhost/');
    expect(() => initGray({ ...base, allow: a(allow) })).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('allow'),
      }),
    );
  });
  it.each([
    ['nothing (control)', undefined],
    ['a list (control)', ['https://api.example.com']],
  ] as const)('allow: %s is accepted', (_what, allow) => {
    at('http://localhost/');
    expect(initGray({ ...base, allow: a(allow) }).getGrayVersion()).toBe('stable');
  });
});
