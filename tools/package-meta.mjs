#!/usr/bin/env node
// Derives the release metadata of every published package (issue 15) from what the package
// already says, so it cannot drift:
//
//   typesVersions   node10 resolution of each subpath, from `exports` (the `require` types,
//                   or the JSON file a JSON subpath points to)
//   publishConfig   { access: "public" }
//   repository      git URL + `directory: packages/<name>`
//   homepage, bugs  the package's folder on GitHub, the issue tracker
//   files           keeps what is there, adds LICENSE (and dist, README.md)
//   scripts         prepack (build before packing), check:package (publint + attw, default profile)
//
//   node tools/package-meta.mjs            rewrite packages/*/package.json where out of sync
//   node tools/package-meta.mjs --check    exit 1 and name every field that is out of sync
//   --root DIR                             operate on another checkout (tests)
//   --only NAME[,NAME]                     limit to these packages/<NAME> folders
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPOSITORY_URL = 'git+https://github.com/graylane/graylane.git';
export const GITHUB = 'https://github.com/graylane/graylane';
/** A clean build: tsup does not clean `dist` during development, so a tarball never ships stale chunks. */
export const PREPACK =
  "node -e \"require('fs').rmSync('dist',{recursive:true,force:true})\" && npm run build";
/**
 * attw's default profile ("strict") includes node10, which is the point of typesVersions. attw
 * runs a plain `npm pack`, which would run `prepack` (delete dist, rebuild) in every package at
 * once under turbo, while the packages that import it build their types from that dist; the check
 * runs after `build` (turbo.json), so it packs without scripts. publint already does.
 */
export const CHECK_PACKAGE = 'publint --strict && npm_config_ignore_scripts=true attw --pack .';
const REQUIRED_FILES = ['dist', 'README.md', 'LICENSE'];

/**
 * What a CommonJS (node10) consumer's TypeScript should resolve for one `exports` entry, if any:
 * the `require` types, or a JSON file (`@graylane/core/schema.json` with `resolveJsonModule`).
 */
function requireTypes(target) {
  if (typeof target === 'string') return target.endsWith('.json') ? target : undefined;
  if (target === null || typeof target !== 'object') return undefined;
  const branch = target.require ?? target.default ?? target.import;
  if (typeof branch === 'string')
    return branch.endsWith('.d.ts') || branch.endsWith('.d.cts') ? branch : undefined;
  if (branch && typeof branch === 'object')
    return typeof branch.types === 'string' ? branch.types : undefined;
  return typeof target.types === 'string' ? target.types : undefined;
}

/** `typesVersions` for every typed subpath of `exports`; undefined when there are none. */
export function deriveTypesVersions(exportsField) {
  if (!exportsField || typeof exportsField !== 'object') return undefined;
  const paths = {};
  for (const [subpath, target] of Object.entries(exportsField)) {
    // `./package.json` is a real file at that path: node10 finds it without a mapping.
    if (subpath === '.' || subpath === './package.json' || !subpath.startsWith('./')) continue;
    const types = requireTypes(target);
    if (types) paths[subpath.slice(2)] = [types];
  }
  return Object.keys(paths).length > 0 ? { '*': paths } : undefined;
}

/** The package.json `pkg` (folder `dir` under packages/) should have. Pure; key order kept. */
export function derive(pkg, dir) {
  const files = [...(pkg.files ?? [])];
  for (const f of REQUIRED_FILES) if (!files.includes(f)) files.push(f);
  const fields = {
    repository: { type: 'git', url: REPOSITORY_URL, directory: `packages/${dir}` },
    homepage: `${GITHUB}/tree/main/packages/${dir}#readme`,
    bugs: { url: `${GITHUB}/issues` },
    typesVersions: deriveTypesVersions(pkg.exports),
    files,
    publishConfig: { ...pkg.publishConfig, access: 'public' },
    scripts: { ...pkg.scripts, prepack: PREPACK, 'check:package': CHECK_PACKAGE },
  };
  // New keys go after an anchor so the files read in the usual order.
  const anchors = {
    repository: 'license',
    homepage: 'repository',
    bugs: 'homepage',
    typesVersions: 'exports',
    publishConfig: 'files',
  };
  const out = {};
  const emit = (key, value) => {
    if (value === undefined) return;
    out[key] = value;
    for (const [field, anchor] of Object.entries(anchors)) {
      if (anchor === key && !(field in pkg)) emit(field, fields[field]);
    }
  };
  for (const [key, value] of Object.entries(pkg)) emit(key, key in fields ? fields[key] : value);
  for (const [key, value] of Object.entries(fields)) if (!(key in out)) emit(key, value);
  return out;
}

/** Published packages: every packages/<dir>/package.json that is not private. */
export function publishedPackages(root) {
  const base = join(root, 'packages');
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(base, d.name, 'package.json')))
    .map((d) => {
      const file = join(base, d.name, 'package.json');
      const text = readFileSync(file, 'utf8');
      return { dir: d.name, file, text, pkg: JSON.parse(text) };
    })
    .filter((p) => p.pkg.private !== true);
}

/** Top-level fields whose serialisation differs between two package objects. */
export function differingFields(a, b) {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const differ = [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  // Same content, different key order: name the order.
  if (differ.length === 0 && JSON.stringify(a) !== JSON.stringify(b)) differ.push('(key order)');
  return differ;
}

export function run(argv) {
  const check = argv.includes('--check');
  const i = argv.indexOf('--root');
  const root = i === -1 ? join(fileURLToPath(new URL('.', import.meta.url)), '..') : argv[i + 1];
  const j = argv.indexOf('--only');
  const only = j === -1 ? undefined : new Set(argv[j + 1]?.split(','));
  const stale = [];
  for (const { dir, file, text, pkg } of publishedPackages(root)) {
    if (only && !only.has(dir)) continue;
    const want = derive(pkg, dir);
    const wantText = JSON.stringify(want, null, 2) + '\n';
    if (wantText === text) continue;
    stale.push(`packages/${dir}: ${differingFields(pkg, want).join(', ') || '(formatting)'}`);
    if (!check) writeFileSync(file, wantText);
  }
  if (stale.length === 0) {
    console.log('package metadata in sync');
    return 0;
  }
  console.log(`${check ? 'out of sync' : 'rewrote'}:\n  ${stale.join('\n  ')}`);
  if (check) console.log('run `node tools/package-meta.mjs` and commit the package.json files');
  return check ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = run(process.argv.slice(2));
}
