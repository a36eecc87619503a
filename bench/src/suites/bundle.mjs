// Browser bundle size: a one-line entry per SDK using its main client, each built the same way
// (esbuild: bundle, minify, browser platform, ESM), then gzip -9 and brotli -11. The main build
// does not downlevel (`esnext`, as size-limit does, so the goal agrees with the CI size gate); the
// gzip size of an `es2020` build is shown beside it, as a site supporting 2020 browsers ships it.
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { goal } from '../measure.mjs';

const GOAL_GZIP_KB = 3.4; // issue 17: 3.4 kB with js-cookie included (size-limit kB, 1,000 bytes)
const ENTRIES = [
  ['graylane', '`initGray`, `withGray`', "export { initGray, withGray } from '@graylane/browser';"],
  ['GrowthBook', '`GrowthBook`', "export { GrowthBook } from '@growthbook/growthbook';"],
  ['OpenFeature web SDK', '`OpenFeature`', "export { OpenFeature } from '@openfeature/web-sdk';"],
  [
    'Unleash proxy client',
    '`UnleashClient`',
    "export { UnleashClient } from 'unleash-proxy-client';",
  ],
  [
    'LaunchDarkly JS client',
    '`initialize`',
    "export { initialize } from 'launchdarkly-js-client-sdk';",
  ],
];
const resolveDir = fileURLToPath(new URL('..', import.meta.url));

async function sizes(contents, target = 'esnext') {
  const out = await build({
    stdin: { contents, resolveDir, loader: 'js' },
    bundle: true,
    minify: true,
    platform: 'browser',
    format: 'esm',
    target,
    write: false,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const bytes = out.outputFiles[0].contents;
  return {
    min: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11 },
    }).length,
  };
}

const kb = (n) => `${(n / 1000).toFixed(2)} KB`;

export async function run() {
  const measured = [];
  for (const [name, imports, entry] of ENTRIES) {
    const s = await sizes(entry);
    s.gzip2020 = (await sizes(entry, 'es2020')).gzip;
    measured.push([name, imports, s]);
  }
  const ours = measured[0][2];
  const rows = measured.map(([name, imports, s]) => [
    name,
    imports,
    kb(s.min),
    kb(s.gzip),
    kb(s.brotli),
    kb(s.gzip2020),
    name === 'graylane' ? '1.0×' : `${(s.gzip / ours.gzip).toFixed(1)}×`,
  ]);
  return {
    id: 'bundle',
    title: 'Browser bundle: esbuild bundle + minify (browser, ESM), one-line entry per SDK',
    header: [
      'SDK',
      'entry exports',
      'min',
      'min + gzip',
      'min + brotli',
      'min + gzip (es2020)',
      'gzip vs graylane',
    ],
    rows,
    goals: [
      goal(
        `graylane browser entry min+gzip ≤ ${GOAL_GZIP_KB} KB (js-cookie included)`,
        ours.gzip / 1000,
        GOAL_GZIP_KB,
        '<=',
      ),
    ],
    notes: 'KB = 1,000 bytes; gzip level 9, brotli quality 11.',
  };
}
