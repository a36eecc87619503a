import { defineConfig } from 'tsup';

const common = {
  dts: true,
  sourcemap: true,
  removeNodeProtocol: false,
  target: 'node20',
  platform: 'node',
} as const;

export default defineConfig([
  { ...common, entry: { index: 'src/index.ts' }, format: ['esm', 'cjs'], clean: false },
  // The executable is ESM only (top-level await); tsup keeps its shebang.
  { ...common, entry: { bin: 'src/bin.ts' }, format: ['esm'], dts: false },
]);
