// Builds the example with esbuild: the Node entry points (dependencies stay external, resolved
// from node_modules at run time) and the browser page (everything bundled for the browser).
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = resolve(root, 'dist');

try {
  await rm(dist, { recursive: true, force: true });
  await buildAll();
} catch {
  // esbuild has already printed the errors; its stack trace would only bury them.
  console.error('[example-full-link] build failed (errors above).');
  process.exitCode = 1;
}

async function buildAll() {
  await build({
    absWorkingDir: root,
    entryPoints: ['src/demo.ts'],
    outdir: 'dist',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  });

  await build({
    absWorkingDir: root,
    entryPoints: ['web/main.ts'],
    outfile: 'dist/web/main.js',
    bundle: true,
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    format: 'esm',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
    // tsup's shared helper chunk is imported bare by @graylane/browser (sideEffects: false); it
    // only defines helpers the importing chunk also imports by name, so dropping the bare import is
    // correct and the warning is noise for a newcomer running `npm start`.
    logOverride: { 'ignored-bare-import': 'silent' },
  });
  await mkdir(resolve(dist, 'web'), { recursive: true });
  await copyFile(resolve(root, 'web/index.html'), resolve(dist, 'web/index.html'));
}
