import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const pkg = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));

async function bundle(contents: string): Promise<{ text: string; imports: string[] }> {
  const out = await build({
    stdin: { contents, resolveDir: pkg('.'), loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const imports = Object.values(out.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
  return { text: out.outputFiles[0]?.text ?? '', imports };
}

describe('browser bundle', () => {
  it.each([
    'src/index.ts',
    'src/axios.ts',
    'src/js-cookie.ts',
    'src/regex.ts',
    'src/standalone.ts',
  ])('%s builds for platform browser with no node: import', async (entry) => {
    const { imports, text } = await bundle(`export * from './${entry}';`);
    expect(imports.filter((p) => p.startsWith('node:'))).toEqual([]);
    expect(text).not.toMatch(/from\s*["']node:|require\(["']node:/);
  });

  it('nothing runs on import: importing the entry for side effects bundles to nothing', async () => {
    const { text } = await bundle(
      `import './src/index.ts'; import './src/axios.ts'; import './src/js-cookie.ts';`,
    );
    expect(text.trim()).toBe('');
  });

  // The 3.4 kB budget of `{ initGray, withGray }` holds only if the built @graylane/core keeps its
  // `sideEffects: false` promise: a bundler keeps every top-level call or non-literal initializer
  // of core's single-file dist in every browser bundle that imports anything from core.
  it('the built @graylane/core is side-effect free: one import bundles only itself', async () => {
    const { text } = await bundle(`export { VERSION_PATTERN } from '@graylane/core';`);
    expect(text.length).toBeLessThan(200);
  });

  it('re2js stays out of the main entry; js-cookie is in it (the default cookie layer)', async () => {
    const { imports } = await bundle(
      `export { initGray, withGray, split, rulesFromConfig } from './src/index.ts';`,
    );
    expect(imports.some((p) => p.includes('re2js'))).toBe(false);
    expect(imports.some((p) => p.includes('js-cookie'))).toBe(true);
  });
});
