import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', server: 'src/server/index.ts', web: 'src/web/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: false,
  sourcemap: true,
  removeNodeProtocol: false,
  target: 'es2022',
  platform: 'neutral',
});
