import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll } from 'vitest';

const FIXTURE = fileURLToPath(new URL('../fixtures/app.ts', import.meta.url));

/** The temp dirs this test file made, removed after its tests (a run leaves /tmp as it was). */
const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * Bundles the fixture app with esbuild as a user's build would (the public `@graylane/web`
 * entry, resolved from the built package), into a fresh temp dir. `format: 'iife'` produces a
 * script for edge-runtime. Fails on any `node:` import: the Web entry must have none.
 */
export async function bundleApp(
  format: 'esm' | 'iife',
): Promise<{ dir: string; file: string; code: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'graylane-web-'));
  made.push(dir);
  const code = await bundleWorker({ entry: FIXTURE }, format, 'GraylaneApp');
  if (/\bfrom\s*["']node:|require\(["']node:/.test(code))
    throw new Error('the Web bundle imports node:*');
  const file = join(dir, format === 'esm' ? 'app.bundle.mjs' : 'app.bundle.js');
  writeFileSync(file, code);
  copyFileSync(
    fileURLToPath(new URL('../fixtures/host.mjs', import.meta.url)),
    join(dir, 'host.mjs'),
  );
  return { dir, file, code };
}

/**
 * Bundles a worker (a file, or source text resolved from `resolveDir`) for the Web runtimes as a
 * user's build would: platform neutral, ES2022, `@graylane/web` from the built package; `iife`
 * exposes it as `globalName` (edge-runtime).
 */
export async function bundleWorker(
  input: { readonly entry: string } | { readonly contents: string; readonly resolveDir: string },
  format: 'esm' | 'iife',
  globalName: string,
): Promise<string> {
  const out = await build({
    ...('entry' in input
      ? { entryPoints: [input.entry] }
      : {
          stdin: { contents: input.contents, resolveDir: input.resolveDir, loader: 'js' as const },
        }),
    bundle: true,
    format,
    ...(format === 'iife' ? { globalName } : {}),
    platform: 'neutral',
    mainFields: ['module', 'main'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles?.[0]?.text ?? '';
}
