import { defineConfig } from 'tsup';

export default defineConfig({
  // `@graylane/next/client` is built as `dist/browser.*`, never `dist/client.*`: Next 14 compiles
  // every file whose path matches `next[\\/]dist[\\/](client|pages|shared[\\/]lib)` as its own
  // CommonJS code (build/swc/options.js `nextDistPath`), and `@graylane/next/dist/client.js`
  // matches: the page then fails with `exports is not defined`.
  entry: { index: 'src/index.ts', browser: 'src/client.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: false,
  sourcemap: true,
  removeNodeProtocol: false,
  target: 'es2022',
  platform: 'neutral',
});
