/**
 * Review 107 D2: the ESM and the CommonJS entry of `@graylane/react` in one process (an ESM app
 * under a component library compiled to CommonJS; a bundler that resolves `require()` with the
 * "require" condition) share one context: a hook from either entry finds a provider from the
 * other. Each row runs in a plain Node process (no vitest transform), so the two entries are the
 * two built files users load; the bundler rows bundle the same app with esbuild first.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const CJS = require.resolve('@graylane/react');
const ESM = CJS.replace(/index\.cjs$/, 'index.js');
const REACT = require.resolve('react');
const SERVER = require.resolve('react-dom/server');
const dir = mkdtempSync(join(tmpdir(), 'graylane-react-dual-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Entry = 'esm' | 'cjs';
const load = (entry: Entry): string =>
  entry === 'esm' ? `await import(${JSON.stringify(ESM)})` : `require(${JSON.stringify(CJS)})`;

/** What the component from `hooks` renders under `GrayProvider` from `provider`. */
const HOOKS = {
  useGrayVersion: `() => h('b', null, hooks.useGrayVersion())`,
  useGrayClient: `() => h('b', null, typeof hooks.useGrayClient().setGrayVersion)`,
  useGrayBranch: `() => h('b', null, hooks.useGrayBranch({ beta: 'new', stable: 'old' }, 'stable'))`,
  GrayBranch: `() => h(hooks.GrayBranch, { branches: { beta: h('b', null, 'new'), stable: h('b', null, 'old') }, fallback: 'stable' })`,
} as const;
const EXPECTED: Record<keyof typeof HOOKS, string> = {
  useGrayVersion: '<b>beta</b>',
  useGrayClient: '<b>function</b>',
  useGrayBranch: '<b>new</b>',
  GrayBranch: '<b>new</b>',
};

const script = (provider: Entry, hooks: Entry, hook: keyof typeof HOOKS): string => `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { createElement: h } = require(${JSON.stringify(REACT)});
const { renderToString } = require(${JSON.stringify(SERVER)});
const provider = ${load(provider)};
const hooks = ${load(hooks)};
const options = { versions: ['stable', 'beta'], default: 'stable' };
const Probe = ${HOOKS[hook]};
try {
  console.log(renderToString(h(provider.GrayProvider, { options, serverVersion: 'beta' }, h(Probe))));
} catch (e) {
  console.log('THROW ' + (e && e.code));
}
`;

const run = (file: string): string => {
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
  return (r.stdout || r.stderr).trim();
};

const PAIRS: readonly (readonly [Entry, Entry])[] = [
  ['esm', 'cjs'],
  ['cjs', 'esm'],
  ['esm', 'esm'], // control
  ['cjs', 'cjs'], // control
];

describe('one context across the ESM and CommonJS entries', () => {
  it.each(
    PAIRS.flatMap(([p, k]) =>
      (Object.keys(HOOKS) as (keyof typeof HOOKS)[]).map((hook) => [p, k, hook] as const),
    ),
  )('GrayProvider from %s, %s from %s', (provider, hooks, hook) => {
    const file = join(dir, `${provider}-${hooks}-${hook}.mjs`);
    writeFileSync(file, script(provider, hooks, hook));
    expect(run(file)).toBe(EXPECTED[hook]);
  });

  it.each(['browser', 'node'] as const)(
    'an esbuild bundle (platform %s) of an ESM app over a CommonJS library',
    async (platform) => {
      // The library is CommonJS: esbuild resolves its require() with the "require" condition.
      writeFileSync(
        join(dir, 'lib.cjs'),
        `const { createElement: h } = require('react');\nconst { useGrayVersion } = require('@graylane/react');\nexports.Badge = () => h('b', null, useGrayVersion());\n`,
      );
      writeFileSync(
        join(dir, 'app.mjs'),
        `import { createElement as h } from 'react';\nimport { renderToString } from 'react-dom/server';\nimport { GrayProvider } from '@graylane/react';\nimport { Badge } from './lib.cjs';\nconst options = { versions: ['stable', 'beta'], default: 'stable' };\ntry { console.log(renderToString(h(GrayProvider, { options, serverVersion: 'beta' }, h(Badge)))); } catch (e) { console.log('THROW ' + (e && e.code)); }\n// React's browser scheduler keeps a MessageChannel open.\nprocess.exit(0);\n`,
      );
      const out = join(dir, `bundle-${platform}.mjs`);
      await build({
        entryPoints: [join(dir, 'app.mjs')],
        bundle: true,
        format: 'esm',
        platform,
        outfile: out,
        nodePaths: [join(CJS, '../../../../node_modules')],
        define: { 'process.env.NODE_ENV': '"production"' },
        banner: {
          js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
        },
        logLevel: 'silent',
      });
      expect(run(out)).toBe('<b>beta</b>');
    },
  );
});
