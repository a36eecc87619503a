import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { codeBlocks, docPages } from './doc-blocks.js';

/**
 * Every complete TypeScript snippet in README.md, docs/ and the package READMEs type-checks in a
 * consumer-shaped project (issue 15): `strict`, `module`/`moduleResolution` `node16` (what a
 * plain Node ESM project and `tsc --init` style setups use), the published packages resolved
 * through their `exports` and `.d.ts` as a user's project resolves them. Next.js pages use the
 * `bundler` resolution Next's own tsconfig sets.
 *
 * A snippet is complete when it has an `import` or names its file; fragments without one (a line of `app.use(…)`)
 * are checked for syntax and imported names by tools/docs.test.ts. Snippets of one page form one
 * project: a block whose first line is `// config.ts` is that file, so the next block's
 * `import { config } from './config.js'` resolves. Pages whose examples run in their runtime
 * (Workers, Vercel Edge, Deno, Bun: packages/web/test/docs-examples.test.ts) are not repeated.
 */
const rootUrl = new URL('../', import.meta.url);
const root = fileURLToPath(rootUrl);
const RUN_ELSEWHERE = new Set([
  'docs/cloudflare-workers.md',
  'docs/vercel-edge.md',
  'docs/deno.md',
  'docs/bun.md',
]);
const BUNDLER_PAGES = new Set(['docs/nextjs.md']);

/**
 * Names the docs use for the reader's own code (their analytics, payment call, auth middleware…):
 * declared loosely so a snippet type-checks everything graylane's API decides.
 */
const PLACEHOLDERS = `
declare global {
  /** The reader's own code, referred to by name in the docs. */
  const analytics: { track(event: string, props?: Record<string, unknown>): void };
  function charge(...args: unknown[]): Promise<void>;
  function chargeV2(...args: unknown[]): Promise<void>;
  function authenticate(req: unknown, res: unknown, next: () => void): void;
  function runJob(...args: unknown[]): Promise<unknown>;
  function callThirdParty(...args: unknown[]): Promise<unknown>;
  const doc: unknown;
}
export {};
`;

interface Snippet {
  readonly page: string;
  readonly line: number;
  readonly file: string;
  readonly code: string;
}

function snippets(page: string): Snippet[] {
  const out: Snippet[] = [];
  for (const b of codeBlocks(rootUrl, [page])) {
    if (!/^(ts|typescript|tsx|js|javascript)$/.test(b.lang)) continue;
    const named = /^\/\/ ([\w./-]+\.(?:tsx?|js))\s*$/.exec(b.code.split('\n')[0] ?? '')?.[1];
    // Excerpts quoted from tested files (checked line by line elsewhere) are not programs.
    if (b.before.includes('<!-- checked:')) continue;
    if (named === undefined && !/^\s*import\s/m.test(b.code)) continue;
    const ext = b.lang === 'tsx' ? 'tsx' : b.lang.startsWith('j') ? 'js' : 'ts';
    out.push({ page, line: b.line, file: named ?? `block-${b.line}.${ext}`, code: b.code });
  }
  return out;
}

const work = join(root, 'node_modules', '.cache', 'graylane-docs-typecheck');

function project(name: string, bundler: boolean, all: Snippet[]): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const byPage = new Map<string, Snippet[]>();
  for (const s of all) byPage.set(s.page, [...(byPage.get(s.page) ?? []), s]);
  for (const [page, list] of byPage) {
    const pageDir = join(dir, page.replace(/[^\w]+/g, '_'));
    mkdirSync(pageDir, { recursive: true });
    for (const s of list) {
      const path = join(pageDir, s.file);
      mkdirSync(join(path, '..'), { recursive: true });
      // One source line per snippet line: tsc's line numbers map back to the page.
      writeFileSync(path, `${s.code}\nexport {};\n`);
    }
  }
  writeFileSync(join(dir, 'placeholders.d.ts'), PLACEHOLDERS);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: bundler ? 'esnext' : 'node16',
        moduleResolution: bundler ? 'bundler' : 'node16',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        resolveJsonModule: true,
        jsx: 'react-jsx',
        allowJs: true,
        checkJs: false,
        lib: ['es2022', 'dom', 'dom.iterable'],
        types: ['node'],
      },
      include: ['**/*.ts', '**/*.tsx', '**/*.js'],
    }),
  );
  return dir;
}

/** tsc's errors, each mapped back to `page:line`. */
function typecheck(dir: string, all: Snippet[]): string[] {
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], {
      encoding: 'utf8',
      stdio: 'pipe',
    });
    return [];
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? err);
    return out
      .split('\n')
      .filter((l) => l.includes('error TS'))
      .map((l) => {
        const m = /^([^(]+)\((\d+),\d+\): (.*)$/.exec(l);
        if (!m) return l;
        const [, file, line, message] = m;
        const hit = all.find((s) =>
          (file as string).endsWith(`${s.page.replace(/[^\w]+/g, '_')}/${s.file}`),
        );
        return hit
          ? `${hit.page}:${hit.line + Number(line)} (${hit.file}): ${message}`
          : `${file}:${line}: ${message}`;
      });
  }
}

describe('docs snippets type-check in a consumer-shaped project (strict, node16)', () => {
  const all = docPages(rootUrl)
    .filter((f) => !RUN_ELSEWHERE.has(f))
    .flatMap(snippets);
  const node16 = all.filter((s) => !BUNDLER_PAGES.has(s.page));
  const bundler = all.filter((s) => BUNDLER_PAGES.has(s.page));

  it('finds the complete snippets (a page that lost its examples fails here)', () => {
    expect(node16.length).toBeGreaterThan(30);
    expect(bundler.length).toBeGreaterThan(0);
  });

  it.each([
    ['node16', node16, false],
    ['bundler (Next.js pages)', bundler, true],
  ] as const)(
    '%s: no type errors',
    (name, list, isBundler) => {
      const errors = typecheck(project(name.split(' ')[0] as string, isBundler, list), list);
      expect(errors).toEqual([]);
    },
    120_000,
  );
});
