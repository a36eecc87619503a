import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DOC = fileURLToPath(new URL('../../../docs/nextjs.md', import.meta.url));
const APP = new URL('./app/', import.meta.url);

/** Every ```js/```jsx block of docs/nextjs.md that names an app file is that file, verbatim. */
const blocks = [
  ...readFileSync(DOC, 'utf8').matchAll(/```(?:js|jsx)\n\/\/ ([\w./-]+)\n([\s\S]*?)```/g),
].map((m) => [m[1] as string, m[2] as string] as const);

describe('docs/nextjs.md shows the tested app', () => {
  it('names the app files', () => {
    expect(blocks.map(([path]) => path).sort()).toEqual(
      [
        'app/actions.js',
        'app/api/lane/route.js',
        'app/client-probe.jsx',
        'app/layout.jsx',
        'app/orders/page.jsx',
        'app/page.jsx',
        'lib/gray.js',
      ].sort(),
    );
  });

  it.each(blocks)('%s is the file the Next.js tests build', (path, code) => {
    expect(code).toBe(readFileSync(new URL(path, APP), 'utf8'));
  });

  it('the proxy in the docs is the one the tests run (same options)', () => {
    const template = readFileSync(new URL('proxy.template.js', APP), 'utf8');
    expect(template).toContain(
      'createGrayProxy({ config: grayConfig, sticky: true, debugHeader: true })',
    );
    expect(readFileSync(DOC, 'utf8')).toContain(
      'createGrayProxy({ config: grayConfig, sticky: true })',
    );
  });
});

const REACT_APP = new URL('./react-app/', import.meta.url);

/** Every ```tsx block of docs/nextjs.md that names a file is that file of the react-app, verbatim. */
const tsxBlocks = [
  ...readFileSync(DOC, 'utf8').matchAll(/```tsx\n\/\/ ([\w./-]+)\n([\s\S]*?)```/g),
].map((m) => [m[1] as string, m[2] as string] as const);

describe('docs/nextjs.md shows the tested @graylane/react app', () => {
  it('names its files', () => {
    expect(tsxBlocks.map(([path]) => path).sort()).toEqual(
      ['app/layout.tsx', 'app/page.tsx', 'app/version-badge.tsx'].sort(),
    );
  });

  it.each(tsxBlocks)('%s is the file the Next.js + React test builds', (path, code) => {
    expect(code).toBe(readFileSync(new URL(path, REACT_APP), 'utf8'));
  });
});
