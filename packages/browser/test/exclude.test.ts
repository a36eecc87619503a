// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { GraylaneError } from '@graylane/core';
import { excludePaths, initGray as initSamePage, type GrayOptions } from '../src/index.js';
import { at, initOnReload as initGray } from './page.js';

// `exclude`: same-origin (or allowlisted) paths a server forwards to a third party never get the
// header (review 101 F4). A proxied path must stay excluded however the URL spells it — case,
// escapes, repeated or back slashes, dot segments — because the server that forwards it routes
// by the decoded, normalized path. Only an exclusion's own text decides: the rest of the
// allowlist (I8) is unchanged.

const APP = 'https://app.example.com';
const API = 'https://api.example.com';
const base: GrayOptions = {
  versions: ['stable', 'beta'],
  default: 'stable',
  serverVersion: 'beta',
  allow: [API, /^https:\/\/svc-\d+\.example\.com$/],
};

afterEach(() => at('http://localhost/'));

const EXCLUDE = ['/proxy/', `${API}/public/`, /^\/ingest(\/|$)/, /\.map$/i];

// [url, marked?]: each excluded path in many spellings, and its near misses (controls).
const ROWS: Array<readonly [string, boolean]> = [
  // The path prefix, on the page's origin and on every allowlisted origin.
  ['/proxy/collect', false],
  [`${APP}/proxy/collect`, false],
  [`${API}/proxy/collect`, false],
  ['https://svc-7.example.com/proxy/x', false],
  ['/proxy/', false],
  ['proxy/x', false], // relative to the page's path `/`
  ['/PROXY/x', false],
  ['/Proxy/x?y=1#z', false],
  ['/%70roxy/x', false],
  ['/%50ROXY/x', false],
  ['/proxy%2fx', false],
  ['/proxy%2Fx', false],
  ['/a/..%2fproxy/x', false],
  ['/a/..%2Fproxy/x', false],
  ['/a/%2e%2e/proxy/x', false],
  ['/a/../proxy/x', false],
  ['/./proxy/x', false],
  ['/a/.%2e/proxy/x', false],
  [`${APP}//proxy/x`, false],
  [`${APP}///proxy//x`, false],
  [`${APP}/\\proxy/x`, false],
  ['/proxy%5cx', false],
  ['/%2fproxy/x', false],
  ['/..%2f..%2fproxy/x', false],
  ['/proxy;jsessionid=1/x', false],
  ['/proxy;a=b;c=d/x', false],
  ['/a;x/..;y/proxy/x', false],
  ['/proxy%3bx=1/x', false],
  ['/ingest;v=1', false],
  // The URL prefix: that origin only.
  [`${API}/public/feed`, false],
  [`${API}/PUBLIC/feed`, false],
  [`${API}/%70ublic/feed`, false],
  [`${API}//public/feed`, false],
  [`${API}/x/../public/feed`, false],
  [`${API}:443/public/feed`, false],
  [`https://API.EXAMPLE.COM/public/feed`, false],
  // RegExps: tested against the normalized path.
  ['/ingest', false],
  ['/ingest/e', false],
  ['/%69ngest/e', false],
  ['//ingest/e', false], // protocol-relative: host `ingest`, not allowlisted
  [`${APP}//ingest/e`, false],
  ['/app.js.map', false],
  ['/app.js.MAP', false],
  // Near misses: still marked.
  ['/proxyx', true],
  ['/proxy', false], // `/proxy/` names the directory itself too (servers redirect it there)
  ['/PROXY?x=1', false],
  ['/%69ngest/%FF', false],
  ['/ingest%2F%C0%AF', false],
  ['/x/..%2F%69ngest/%E9', false],
  ['/%70roxy/%ZZ/x', false],
  ['/%70roxy%FE/x', true], // `/proxy\xfe/`: another directory
  [`${API}/public`, false],
  [`${API}/%70ublic/%FF`, false],
  ['/api/proxy/x', true],
  ['/a/proxy/x', true],
  ['/proxy%2', true], // malformed escape: judged as written, no prefix match
  [`${APP}/public/feed`, true], // the URL prefix names another origin
  ['https://svc-7.example.com/public/feed', true],
  [`${API}/publicity`, true],
  ['/ingestion', true],
  ['/app.js', true],
  ['/cart?next=/proxy/x', true],
  ['/cart#/proxy/x', true],
  // Never marked, exclusion or not (I8 unchanged).
  ['https://third.example/x', false],
  ['http://app.example.com/x', false],
];

describe('exclude: paths that never receive the header (review 101 F4)', () => {
  it.each(ROWS)('%s → marked: %s', (url, marked) => {
    at(`${APP}/`);
    const c = initGray({ ...base, exclude: excludePaths(EXCLUDE) });
    expect(c.markerFor(url)).toBe(marked ? 'beta' : undefined);
  });

  it.each(ROWS.filter(([url]) => !/^(https:\/\/third|http:|\/\/)/.test(url)))(
    'control: without exclude, %s is marked',
    (url) => {
      at(`${APP}/`);
      expect(initGray(base).markerFor(url)).toBe('beta');
    },
  );

  it.each([
    ['a relative path without a leading slash', 'proxy/'],
    ['a protocol-relative URL', '//proxy/'],
    ['a backslash start', '/\\proxy/'],
    ['a URL with a query', `${API}/public/?x=1`],
    ['a URL with a fragment', `${API}/public/#x`],
    ['a URL with userinfo', 'https://u:p@api.example.com/public/'],
    ['another scheme', 'ftp://api.example.com/public/'],
    ['a number', 42],
    ['null', null],
    ['an object', {}],
    ['an empty string', ''],
  ])('an exclude entry that is %s throws INVALID_OPTIONS at init', (_name, entry) => {
    at(`${APP}/`);
    let error: unknown;
    try {
      initGray({ ...base, exclude: excludePaths([entry as string]) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GraylaneError);
    expect((error as GraylaneError).code).toBe('INVALID_OPTIONS');
    expect(String((error as Error).message)).toContain('exclude entry');
  });

  it.each([
    ['a lone string', '/proxy/'],
    ['null', null],
    ['undefined', undefined],
    ['a Set', new Set(['/proxy/'])],
    ['an object', { 0: '/proxy/', length: 1 }],
  ])(
    'excludePaths(%s) throws INVALID_OPTIONS (never a TypeError, never letter by letter)',
    (_n, list) => {
      let error: unknown;
      try {
        excludePaths(list as never);
      } catch (e) {
        error = e;
      }
      expect((error as GraylaneError).code).toBe('INVALID_OPTIONS');
      expect(String((error as Error).message)).toContain('excludePaths: not a list');
    },
  );

  it('a g/y RegExp keeps no state between tests', () => {
    const excluded = excludePaths([/^\/ingest/gy]);
    for (let i = 0; i < 4; i++) expect(excluded(new URL(`${APP}/ingest/x`))).toBe(true);
  });

  it.each([
    ['a list (not built with excludePaths)', ['/proxy/']],
    ['a string', '/proxy/'],
    ['a RegExp', /^\/proxy\//],
  ])('an exclude option that is %s throws INVALID_OPTIONS naming excludePaths', (_n, value) => {
    at(`${APP}/`);
    expect(() => initGray({ ...base, exclude: value as never })).toThrow(/excludePaths/);
  });

  it('a throwing or odd exclude function excludes (never marks by mistake), and never throws', () => {
    at(`${APP}/`);
    const c = initGray({
      ...base,
      exclude: (u) => {
        if (u.pathname === '/boom') throw new Error('boom');
        return u.pathname === '/no';
      },
    });
    expect(c.markerFor('/boom')).toBeUndefined();
    expect(c.markerFor('/no')).toBeUndefined();
    expect(c.markerFor('/yes')).toBe('beta');
  });

  it('exclude is part of the options key: a second initGray with another exclude is a new client', () => {
    at(`${APP}/`);
    const a = initGray({ ...base, exclude: excludePaths(['/a/']) });
    // Equal lists (StrictMode renders twice): the same client.
    expect(initSamePage({ ...base, exclude: excludePaths(['/a/']) })).toBe(a);
    expect(a.markerFor('/a/x')).toBeUndefined();
    const b = initSamePage({ ...base, exclude: excludePaths(['/b/']) });
    expect(b).not.toBe(a);
    expect(b.markerFor('/a/x')).toBe('beta');
    expect(b.markerFor('/b/x')).toBeUndefined();
  });

  it.each([
    ['a string and a RegExp of the same text', ['/ingest/'], [/ingest/]],
    ['RegExps with other flags', [/^\/a\//], [/^\/a\//i]],
    ['a string and a one-element list of it in another order', ['/a/', '/b/'], ['/b/', '/a/']],
  ])('the options key tells apart %s', (_n, first, second) => {
    at(`${APP}/`);
    const a = initGray({ ...base, exclude: excludePaths(first) });
    const b = initSamePage({ ...base, exclude: excludePaths(second) });
    expect(b).not.toBe(a);
  });
});
