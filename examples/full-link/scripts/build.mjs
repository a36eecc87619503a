// Builds the example with esbuild: the Node entry points (dependencies stay external, resolved
// from node_modules at run time) and the browser page, once per version, in the asset-lane layout
// the Node gateway (`@graylane/node/assets`) and nginx (`graylane render nginx --assets`) serve:
//   dist/web/<version>/index.html, dist/web/<version>/main-<hash>.js   (one build per version)
import { build } from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
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

  const rules = JSON.parse(await readFile(resolve(root, 'rules.json'), 'utf8'));
  const html = await readFile(resolve(root, 'web/index.html'), 'utf8');
  for (const version of rules.versions) {
    const script = await buildPage(version, `dist/web/${version}`);
    await writePage(html, `dist/web/${version}/index.html`, script);
  }
}

/** Bundles the page for `version` (shown on it as the front-end build); returns the JS file name. */
async function buildPage(version, outdir) {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['web/main.ts'],
    outdir,
    // Content-hashed: cached for a year by both gateways, shared safely between lanes.
    entryNames: '[name]-[hash]',
    bundle: true,
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    format: 'esm',
    minify: true,
    sourcemap: true,
    metafile: true,
    define: { __BUILD__: JSON.stringify(version) },
    logLevel: 'warning',
    // tsup's shared helper chunk is imported bare by @graylane/browser (sideEffects: false); it
    // only defines helpers the importing chunk also imports by name, so dropping the bare import is
    // correct and the warning is noise for a newcomer running `npm start`.
    logOverride: { 'ignored-bare-import': 'silent' },
  });
  const js = Object.keys(result.metafile.outputs).find((f) => f.endsWith('.js'));
  return basename(js ?? 'main.js');
}

async function writePage(html, file, script) {
  await mkdir(dirname(resolve(root, file)), { recursive: true });
  await writeFile(resolve(root, file), html.replace('src="./main.js"', `src="./${script}"`));
}
