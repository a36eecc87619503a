// Builds the example with esbuild: one front-end build per version, in the asset-lane layout
//   dist/web/<version>/index.html            the HTML template (server-rendered into)
//   dist/web/<version>/assets/client-<hash>.js the browser bundle (content-hashed: immutable)
//   dist/ssr/<version>/render.mjs             the same build's server renderer (not served)
//   dist/ssr/<version>/manifest.json          { build, script } for tests and tooling
// and the server entry dist/server.js (dependencies resolved from node_modules at run time).
import { build } from 'esbuild';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The versions that get a front-end build. */
export const LANES = ['stable', 'beta'];

/**
 * Builds everything into `outDir`. `mode` `development` keeps React's full warnings (the e2e test
 * reads hydration warnings from the console); `server: false` skips the Node entry.
 */
export async function buildExample({
  outDir = join(root, 'dist'),
  mode = 'production',
  server = true,
} = {}) {
  await rm(outDir, { recursive: true, force: true });
  for (const lane of LANES) await buildLane(outDir, lane, mode);
  if (server) {
    await build({
      absWorkingDir: root,
      entryPoints: { server: 'src/main.ts' },
      outdir: outDir,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      packages: 'external',
      sourcemap: true,
      logLevel: 'warning',
    });
  }
}

async function buildLane(outDir, lane, mode) {
  const define = {
    __BUILD__: JSON.stringify(lane),
    'process.env.NODE_ENV': JSON.stringify(mode),
  };
  const common = {
    absWorkingDir: root,
    bundle: true,
    jsx: 'automatic',
    define,
    logLevel: 'warning',
    // tsup's shared helper chunk is imported bare by the @graylane packages (sideEffects: false).
    logOverride: { 'ignored-bare-import': 'silent' },
  };
  const web = join(outDir, 'web', lane);
  const client = await build({
    ...common,
    entryPoints: { client: 'src/client.tsx' },
    outdir: join(web, 'assets'),
    entryNames: '[name]-[hash]',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    format: 'esm',
    minify: mode === 'production',
    metafile: true,
  });
  const script = `/assets/${basename(
    Object.keys(client.metafile.outputs).find((f) => f.endsWith('.js')) ?? 'missing.js',
  )}`;
  await writeFile(join(web, 'index.html'), template(lane, script));
  const ssr = join(outDir, 'ssr', lane);
  await build({
    ...common,
    entryPoints: { render: 'src/render.tsx' },
    outfile: join(ssr, 'render.mjs'),
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // react-dom/server is CommonJS that requires Node built-ins: give the ESM bundle a require.
    banner: {
      js: "import { createRequire as __graylaneRequire } from 'node:module'; const require = __graylaneRequire(import.meta.url);",
    },
  });
  await mkdir(ssr, { recursive: true });
  await writeFile(join(ssr, 'manifest.json'), `${JSON.stringify({ build: lane, script })}\n`);
}

function template(lane, script) {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="icon" href="data:," />
    <title>graylane React SSR (${lane} build)</title>
    <script type="module" src="${script}"></script>
  </head>
  <body>
    <div id="root"><!--ssr-outlet--></div>
  </body>
</html>
`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    await buildExample();
  } catch {
    // esbuild has already printed the errors.
    console.error('[example-react-ssr] build failed (errors above).');
    process.exitCode = 1;
  }
}
