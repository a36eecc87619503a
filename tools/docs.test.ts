import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import { RE2JS } from 're2js';
import { createRe2Engine, validateConfig } from '@graylane/core';
import { describe, expect, it } from 'vitest';
import { codeBlocks, docPages, type Block } from './doc-blocks.js';

/**
 * Every code block in README.md and docs/: TypeScript/JavaScript must parse, and every name it
 * imports from a graylane package must really be exported there (values from the built module,
 * types from its .d.ts); JSON configs and rules must validate. Console transcripts of the CLI are
 * run by packages/cli/test/docs.test.ts; the demo's output by examples/full-link/test/demo.test.ts.
 */
const root = new URL('../', import.meta.url);
const files = docPages(root);
const regex = createRe2Engine(RE2JS);
const blocks = (): Block[] => codeBlocks(root, files);

const exportsCache = new Map<string, Set<string>>();
async function exportedNames(specifier: string): Promise<Set<string>> {
  const cached = exportsCache.get(specifier);
  if (cached) return cached;
  const [, pkg, sub] = /^@graylane\/([a-z]+)(?:\/([a-z-]+))?$/.exec(specifier) ?? [];
  // The file the package's `exports` name for the subpath (`./client` ships as `dist/browser`).
  const meta = JSON.parse(readFileSync(new URL(`packages/${pkg}/package.json`, root), 'utf8')) as {
    exports: Record<string, { import?: { default?: string } } | string>;
  };
  const entry = meta.exports[sub === undefined ? '.' : `./${sub}`];
  const file = typeof entry === 'string' ? entry : entry?.import?.default;
  const base = fileURLToPath(
    new URL(`packages/${pkg}/${(file ?? `dist/${sub ?? 'index'}.js`).replace(/\.js$/, '')}`, root),
  );
  const names = new Set<string>(Object.keys(await import(`${base}.js`)));
  const dts = readFileSync(`${base}.d.ts`, 'utf8');
  for (const m of dts.matchAll(/export \{([^}]*)\}/g)) {
    for (const part of (m[1] as string).split(',')) {
      const name = part
        .trim()
        .split(/\s+as\s+/)
        .pop()
        ?.replace(/^type\s+/, '');
      if (name) names.add(name);
    }
  }
  for (const m of dts.matchAll(
    /export (?:declare )?(?:function|const|class|interface|type) (\w+)/g,
  ))
    names.add(m[1] as string);
  exportsCache.set(specifier, names);
  return names;
}

const LOADERS: Record<string, 'ts' | 'tsx' | 'js' | 'jsx'> = {
  ts: 'ts',
  typescript: 'ts',
  tsx: 'tsx',
  js: 'js',
  javascript: 'js',
  jsx: 'jsx',
};

const all = blocks();
const code = all.filter((b) =>
  ['ts', 'typescript', 'js', 'javascript', 'tsx', 'jsx'].includes(b.lang),
);
const json = all.filter((b) => b.lang === 'json');

describe('docs code blocks', () => {
  it('finds code in the docs', () => {
    expect(code.length).toBeGreaterThan(15);
  });

  it.each(code.map((b) => [`${b.file}:${b.line}`, b] as const))(
    '%s parses and imports only real exports',
    async (_at, block) => {
      await transform(block.code, {
        loader: LOADERS[block.lang] ?? 'ts',
        format: 'esm',
      });
      for (const m of block.code.matchAll(
        /import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'(@graylane\/[a-z/-]+)'/g,
      )) {
        const names = await exportedNames(m[2] as string);
        for (const raw of (m[1] as string).split(',')) {
          const name = raw
            .trim()
            .replace(/^type\s+/, '')
            .split(/\s+as\s+/)[0];
          if (name) expect(names, `${name} from ${m[2]}`).toContain(name);
        }
      }
    },
  );

  it.each(json.map((b) => [`${b.file}:${b.line}`, b] as const))(
    '%s is a valid config or rule',
    (_at, block) => {
      let value: unknown;
      try {
        value = JSON.parse(block.code);
      } catch {
        return; // not JSON data (e.g. an annotated fragment); nothing to validate
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
      const doc =
        'versions' in value
          ? value
          : 'id' in value
            ? { versions: ['stable', 'beta'], default: 'stable', rules: [value] }
            : undefined;
      if (!doc) return;
      const result = validateConfig(doc, { regex });
      expect(result.ok ? [] : result.errors).toEqual([]);
    },
  );
});
