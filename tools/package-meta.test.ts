import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
// @ts-expect-error -- a plain .mjs tool without type declarations
import { CHECK_PACKAGE, PREPACK, derive, deriveTypesVersions, run } from './package-meta.mjs';

const typed = (name: string) => ({
  import: { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` },
  require: { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` },
});

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  vi.restoreAllMocks();
});

function fixtureRepo(packages: Record<string, object>): string {
  const root = mkdtempSync(join(tmpdir(), 'graylane-meta-'));
  roots.push(root);
  for (const [dir, pkg] of Object.entries(packages)) {
    mkdirSync(join(root, 'packages', dir), { recursive: true });
    writeFileSync(join(root, 'packages', dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  }
  return root;
}

const quiet = () => vi.spyOn(console, 'log').mockImplementation(() => undefined);

describe('tools/package-meta.mjs', () => {
  it('typesVersions maps every typed or JSON subpath for node10; none without subpaths', () => {
    expect(
      deriveTypesVersions({
        '.': typed('index'),
        './express': typed('express'),
        './esm-only': { import: { types: './dist/e.d.ts', default: './dist/e.js' } },
        './schema.json': './schema/s.json',
        './package.json': './package.json',
      }),
    ).toEqual({
      '*': {
        express: ['./dist/express.d.cts'],
        'esm-only': ['./dist/e.d.ts'],
        // node10 looks for a file named schema.json at the package root: map it to the real one.
        'schema.json': ['./schema/s.json'],
      },
    });
    // An untyped JS subpath gets no mapping (there are no types to point at).
    expect(deriveTypesVersions({ '.': typed('index'), './raw': './dist/raw.js' })).toBe(undefined);
    expect(deriveTypesVersions({ '.': typed('index'), './package.json': './package.json' })).toBe(
      undefined,
    );
  });

  it('derives repository, homepage, bugs, publishConfig, files, prepack and check:package', () => {
    const out = derive(
      {
        name: '@graylane/x',
        license: 'Apache-2.0',
        exports: { '.': typed('index'), './sub': typed('sub') },
        files: ['dist', 'schema'],
        publishConfig: { provenance: true },
        scripts: { build: 'tsup', 'check:package': 'attw --pack . --profile node16' },
      },
      'x',
    );
    expect(out).toMatchObject({
      repository: {
        type: 'git',
        url: 'git+https://github.com/graylane/graylane.git',
        directory: 'packages/x',
      },
      homepage: 'https://github.com/graylane/graylane/tree/main/packages/x#readme',
      bugs: { url: 'https://github.com/graylane/graylane/issues' },
      typesVersions: { '*': { sub: ['./dist/sub.d.cts'] } },
      files: ['dist', 'schema', 'README.md', 'LICENSE'],
      publishConfig: { provenance: true, access: 'public' },
      scripts: { build: 'tsup', prepack: PREPACK, 'check:package': CHECK_PACKAGE },
    });
    expect(CHECK_PACKAGE).not.toMatch(/--profile/); // attw's default profile includes node10
    // attw's own `npm pack` must not run prepack (it deletes dist that other packages build from).
    expect(CHECK_PACKAGE).toMatch(/npm_config_ignore_scripts=true attw --pack \./);
    expect(Object.keys(out).slice(0, 5)).toEqual([
      'name',
      'license',
      'repository',
      'homepage',
      'bugs',
    ]);
  });

  it('--check fails on a stale repo, write mode fixes it, private packages are left alone', () => {
    const priv = { name: 'example', private: true, exports: { './a': typed('a') } };
    const root = fixtureRepo({
      a: { name: '@graylane/a', license: 'Apache-2.0', exports: { '.': typed('index') } },
      b: priv,
    });
    quiet();
    expect(run(['--check', '--root', root])).toBe(1);
    expect(run(['--root', root])).toBe(0);
    expect(run(['--check', '--root', root])).toBe(0);
    const a = JSON.parse(readFileSync(join(root, 'packages/a/package.json'), 'utf8'));
    expect(a.publishConfig).toEqual({ access: 'public' });
    expect(a.typesVersions).toBeUndefined();
    expect(JSON.parse(readFileSync(join(root, 'packages/b/package.json'), 'utf8'))).toEqual(priv);
    // A hand edit that drifts is caught again.
    writeFileSync(
      join(root, 'packages/a/package.json'),
      JSON.stringify({ ...a, publishConfig: { access: 'restricted' } }, null, 2) + '\n',
    );
    const log = quiet();
    expect(run(['--check', '--root', root])).toBe(1);
    expect(log.mock.calls.flat().join('\n')).toContain('packages/a: publishConfig');
  });

  it('every published package in this repository is in sync (the lead runs the write mode)', () => {
    const log = quiet();
    const status = run(['--check']);
    expect(status, log.mock.calls.flat().join('\n')).toBe(0);
  });
});
