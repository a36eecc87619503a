import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll } from 'vitest';

const DOCS = fileURLToPath(new URL('../../../../docs/', import.meta.url));
const RESOLVE_FROM = fileURLToPath(new URL('.', import.meta.url));
/** The placeholder API the docs call; tests point it at a loopback service. */
const PLACEHOLDER_ORIGIN = 'https://api.example.internal';
const PLACEHOLDER_HOST = 'api.example.internal';

/** The temp dirs this test file made, removed after its tests (a run leaves /tmp as it was). */
const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The ```ts block of `page` whose first line is `// <file>`: the example the page promises works. */
export function docExample(page: string, file: string): string {
  const text = readFileSync(join(DOCS, page), 'utf8');
  const re = /```ts\n([\s\S]*?)```/g;
  for (const m of text.matchAll(re)) {
    const code = m[1] as string;
    if (code.startsWith(`// ${file}\n`)) return code;
  }
  throw new Error(`docs/${page} has no \`\`\`ts block starting with "// ${file}"`);
}

/**
 * Bundles a docs example as its reader would deploy it (esbuild, the built `@graylane/web`),
 * with the placeholder API replaced by `origin`. `node:*` stays external: the runtime provides it.
 */
export async function bundleExample(
  code: string,
  origin: string,
  format: 'esm' | 'iife',
): Promise<{ dir: string; file: string; code: string }> {
  const host = new URL(origin).host;
  const source = code.replaceAll(PLACEHOLDER_ORIGIN, origin).replaceAll(PLACEHOLDER_HOST, host);
  const out = await build({
    stdin: { contents: source, loader: 'ts', resolveDir: RESOLVE_FROM, sourcefile: 'example.ts' },
    bundle: true,
    format,
    ...(format === 'iife' ? { globalName: 'Example' } : {}),
    platform: 'neutral',
    mainFields: ['module', 'main'],
    external: ['node:*'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const dir = mkdtempSync(join(tmpdir(), 'graylane-doc-'));
  made.push(dir);
  const bundled = out.outputFiles?.[0]?.text ?? '';
  const file = join(dir, 'example.mjs');
  writeFileSync(file, bundled);
  return { dir, file, code: bundled };
}
