import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: false,
  sourcemap: true,
  removeNodeProtocol: false,
  target: 'es2022',
  platform: 'browser',
  // Every export is a hook or a component that uses hooks: a client module. The directive lets a
  // React Server Components bundler (Next.js App Router) take `GrayProvider` straight from a
  // server component (`app/layout.tsx`) as a client reference. esbuild drops directives from
  // bundled sources, so it is the banner: the first statement of both the ESM and CJS entry.
  banner: { js: "'use client';" },
});
