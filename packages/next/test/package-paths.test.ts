import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Install boundary: Next 14 compiles every module whose path matches `nextDistPath`
 * (next/dist/build/swc/options.js and babel/loader/get-config.js in next@14.2) as Next's own
 * CommonJS code. Installed, this package lives at `node_modules/@graylane/next/`, so a file
 * named `dist/client.js` matched: the client component the docs give failed in the browser with
 * `exports is not defined` and took the page down (measured on next@14.2.35; Next 15.5/16 anchor
 * the pattern to Next's own folder). No file this package ships may match it.
 */
const NEXT14_DIST =
  /(next[\\/]dist[\\/]shared[\\/]lib)|(next[\\/]dist[\\/]client)|(next[\\/]dist[\\/]pages)/;
const root = fileURLToPath(new URL('..', import.meta.url));
const installed = (file: string) => `/app/node_modules/@graylane/next/${file.replace(/^\.\//, '')}`;

/** Every string target of an `exports` map, however nested. */
function targets(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (typeof node !== 'object' || node === null) return [];
  return Object.values(node).flatMap(targets);
}

describe('the files @graylane/next ships are not taken for Next 14 internals', () => {
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
    exports: unknown;
    main: string;
    module: string;
    types: string;
    typesVersions: unknown;
  };
  const declared = [
    ...targets(pkg.exports),
    ...targets(pkg.typesVersions),
    pkg.main,
    pkg.module,
    pkg.types,
  ];
  it.each(declared)('%s (package.json) does not match', (file) => {
    expect(NEXT14_DIST.test(installed(file))).toBe(false);
  });
  it('every built file in dist/ does not match (the client entry included)', () => {
    const files = readdirSync(`${root}dist`).map((f) => `dist/${f}`);
    expect(files).toContain('dist/browser.js');
    expect(files.filter((f) => NEXT14_DIST.test(installed(f)))).toEqual([]);
  });
  it('the check itself: the old layout matched', () => {
    expect(NEXT14_DIST.test(installed('./dist/client.js'))).toBe(true);
  });
});
