import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import { RE2JS } from 're2js';
import { createRe2Engine, validateConfig } from '@graylane/core';
import { describe, expect, it } from 'vitest';

/**
 * Every code block in README.md and docs/: TypeScript/JavaScript must parse, and every name it
 * imports from a graylane package must really be exported there (values from the built module,
 * types from its .d.ts); JSON configs and rules must validate. Console transcripts of the CLI are
 * run by packages/cli/test/docs.test.ts; the demo's output by examples/full-link/test/demo.test.ts.
 */
const root = new URL('../', import.meta.url);
const files = [
  'README.md',
  ...readdirSync(new URL('docs/', root))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  ...readdirSync(new URL('packages/', root)).map((p) => `packages/${p}/README.md`),
].filter((f) => existsSync(new URL(f, root)));
const regex = createRe2Engine(RE2JS);

interface Block {
  file: string;
  line: number;
  lang: string;
  code: string;
}
function blocks(): Block[] {
  const out: Block[] = [];
  for (const file of files) {
    const lines = readFileSync(new URL(file, root), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(\w*)/.exec(lines[i] as string);
      if (!open) continue;
      const start = i;
      const body: string[] = [];
      while (++i < lines.length && !(lines[i] as string).startsWith('```'))
        body.push(lines[i] as string);
      out.push({ file, line: start + 1, lang: open[1] ?? '', code: body.join('\n') });
    }
  }
  return out;
}

const exportsCache = new Map<string, Set<string>>();
async function exportedNames(specifier: string): Promise<Set<string>> {
  const cached = exportsCache.get(specifier);
  if (cached) return cached;
  const [, pkg, sub] = /^@graylane\/([a-z]+)(?:\/([a-z-]+))?$/.exec(specifier) ?? [];
  const base = fileURLToPath(new URL(`packages/${pkg}/dist/${sub ?? 'index'}`, root));
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
