import { fileURLToPath } from 'node:url';
import { EdgeVM } from '@edge-runtime/vm';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { initGray, type GrayCookieOptions } from '@graylane/browser';
import { isGraylaneError } from '@graylane/core';

// BC-04 during SSR, against the BUILT package (dist), in plain Node and in the Edge Runtime VM: a
// server render validates the options the page will get, so `cookie.name` and
// `cookie.anonymousIdName` naming one cookie throw INVALID_OPTIONS there too (the happy-dom and
// Chromium tables are test/cookie-name-clash.test.ts and test/chromium/cookie-name-clash.test.ts).
// Rebuild first: `npx turbo run build --filter=@graylane/browser`.

const pkgDir = fileURLToPath(new URL('..', import.meta.url));

const CLASHES: ReadonlyArray<readonly [string, GrayCookieOptions]> = [
  ['both set to one name', { name: 'ab', anonymousIdName: 'ab' }],
  ['anonymousIdName = the default name `gray`', { anonymousIdName: 'gray' }],
  ['name = the default anonymousIdName `gray_aid`', { name: 'gray_aid' }],
  ['with a domain', { name: 'g', anonymousIdName: 'g', domain: 'example.com' }],
];

/** The code and message `initGray` threw with `cookie`, or 'no error'. */
function attempt(cookie: GrayCookieOptions | false): string {
  try {
    initGray({ versions: ['stable', 'beta'], default: 'stable', serverVersion: 'beta', cookie });
    return 'no error';
  } catch (e) {
    return isGraylaneError(e) ? `${e.code} ${e.message}` : String(e);
  }
}

const CLASH =
  /^INVALID_OPTIONS \[graylane\] initGray: invalid cookie\.name = cookie\.anonymousIdName "/;

describe('BC-04 SSR (built package): one cookie for both names is INVALID_OPTIONS', () => {
  it.each(CLASHES)('plain Node: %s', (_what, cookie) => {
    expect(typeof document).toBe('undefined');
    expect(attempt(cookie)).toMatch(CLASH);
  });

  it.each<[string, GrayCookieOptions | false]>([
    ['the defaults', {}],
    ['`cookie: false`', false],
    ['case differs', { name: 'Gray', anonymousIdName: 'gray' }],
    ['the defaults swapped', { name: 'gray_aid', anonymousIdName: 'gray' }],
  ])('control, plain Node: %s renders the server version', (_what, cookie) => {
    expect(attempt(cookie)).toBe('no error');
  });

  it('Edge Runtime VM: every clash throws INVALID_OPTIONS naming both options; controls do not', async () => {
    const entry = `
      import { initGray } from '@graylane/browser';
      globalThis.__run = (cookies) => JSON.stringify(cookies.map((cookie) => {
        try {
          return initGray({ versions: ['stable', 'beta'], default: 'stable', cookie }).getGrayVersion();
        } catch (e) {
          return e.code + ' ' + e.message;
        }
      }));`;
    const out = await build({
      stdin: { contents: entry, resolveDir: pkgDir, loader: 'js' },
      bundle: true,
      format: 'iife',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      conditions: ['edge-light', 'worker', 'import'],
      write: false,
      logLevel: 'silent',
    });
    const vm = new EdgeVM();
    vm.evaluate(out.outputFiles[0]?.text ?? '');
    const cookies = [...CLASHES.map(([, c]) => c), { name: 'Gray', anonymousIdName: 'gray' }];
    const result = JSON.parse(vm.evaluate<string>(`__run(${JSON.stringify(cookies)})`)) as string[];
    expect(result.slice(0, -1)).toHaveLength(CLASHES.length);
    for (const r of result.slice(0, -1)) expect(r).toMatch(CLASH);
    expect(result.at(-1)).toBe('stable');
  });
});
