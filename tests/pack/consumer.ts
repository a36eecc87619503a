import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error -- a plain .mjs tool without type declarations
import { publishedPackages } from '../../tools/package-meta.mjs';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const rootRequire = createRequire(join(ROOT, 'package.json'));
export const TSC = rootRequire.resolve('typescript/bin/tsc');

/** One published package as its package.json describes it. */
export interface Published {
  readonly dir: string;
  readonly pkg: {
    name: string;
    exports?: Record<string, unknown>;
    main?: string;
    module?: string;
    types?: string;
    typesVersions?: Record<string, Record<string, string[]>>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  };
}

export const published = (): Published[] => publishedPackages(ROOT) as Published[];

/** A packed tarball: its file name and the paths inside it (without `package/`). */
export interface Packed {
  readonly name: string;
  readonly tarball: string;
  readonly files: ReadonlySet<string>;
}

export interface Exec {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command without a shell; never rejects (callers assert on the code and output). */
export function exec(cmd: string, args: string[], cwd: string, timeoutMs = 300_000): Promise<Exec> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Packs the built packages once (`npm pack --ignore-scripts`: CI built them; prepack would
 * rebuild each one) into `dest`.
 */
export async function pack(names: readonly string[], dest: string): Promise<Packed[]> {
  const r = await exec(
    'npm',
    [
      'pack',
      ...names.flatMap((n) => ['-w', n]),
      '--ignore-scripts',
      '--json',
      '--pack-destination',
      dest,
    ],
    ROOT,
  );
  if (r.code !== 0) throw new Error(`npm pack failed\n${r.stderr}`);
  const out = JSON.parse(r.stdout) as Array<{
    name: string;
    filename: string;
    files: { path: string }[];
  }>;
  return out.map((p) => ({
    name: p.name,
    tarball: join(dest, p.filename),
    files: new Set(p.files.map((f) => f.path)),
  }));
}

/** The version installed at the repository root, so a consumer install hits the npm cache. */
export function rootVersion(name: string): string {
  const dir = join(ROOT, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(dir, 'utf8')) as { version: string }).version;
}

/** Writes `files` (path → content; objects as JSON) under `dir`. */
export function writeTree(dir: string, files: Record<string, string | object>): void {
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
}

export function copyFixture(name: string, dir: string): void {
  cpSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), join(dir, name));
}

export function remove(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Every string target of an `exports` value (conditions flattened). */
export function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(exportTargets);
}
