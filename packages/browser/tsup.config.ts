import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    axios: 'src/axios.ts',
    'js-cookie': 'src/js-cookie.ts',
    regex: 'src/regex.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: false,
  sourcemap: true,
  removeNodeProtocol: false,
  target: 'es2020',
  platform: 'browser',
  treeshake: true,
});
