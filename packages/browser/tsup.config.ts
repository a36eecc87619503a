import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      axios: 'src/axios.ts',
      'js-cookie': 'src/js-cookie.ts',
      regex: 'src/regex.ts',
      remote: 'src/remote.ts',
      standalone: 'src/standalone.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    clean: false,
    sourcemap: true,
    removeNodeProtocol: false,
    target: 'es2020',
    platform: 'browser',
    treeshake: true,
  },
  {
    // The plain-page build: one file per format, every dependency inlined, minified.
    // dist/graylane.browser.js (ESM) and dist/graylane.iife.js (global `Graylane`).
    entry: { graylane: 'src/standalone.ts' },
    format: ['esm', 'iife'],
    globalName: 'Graylane',
    noExternal: [/.*/],
    outExtension: ({ format }) => ({ js: format === 'iife' ? '.iife.js' : '.browser.js' }),
    dts: false,
    clean: false,
    sourcemap: true,
    minify: true,
    target: 'es2020',
    platform: 'browser',
    treeshake: true,
  },
]);
