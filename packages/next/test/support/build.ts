import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const TEST_DIR = fileURLToPath(new URL('..', import.meta.url));
const APP = join(TEST_DIR, 'app');
/** The App Router app whose server-component layout renders `@graylane/react`'s provider. */
const REACT_APP = join(TEST_DIR, 'react-app');
/** A minimal app under `basePath: '/shop'` with the docs' proxy and matcher (review 65 D1). */
const BASEPATH_APP = join(TEST_DIR, 'basepath-app');
/** Inside the repo, so Turbopack's root covers the workspace's node_modules; `dist` keeps git, eslint and prettier out. */
const BUILDS = join(TEST_DIR, 'dist');
export const NEXT_BIN = join(dirname(require.resolve('next/package.json')), 'dist', 'bin', 'next');
/** `next build` on two shared cores: generous, but bounded. */
const BUILD_TIMEOUT_MS = 600_000;
/** One build at a time: two concurrent builds on two cores take longer than two in a row. */
const LOCK = join(BUILDS, '.lock');

/**
 * `proxy` = Next 16 `proxy.js` (Node runtime); `middleware` = `middleware.js` (edge runtime);
 * `react` = the `react-app` (its own `proxy.js`), whose layout imports `@graylane/react`;
 * `basepath` = the `basepath-app` (`basePath: '/shop'`, its own `proxy.js`).
 */
export type Variant = 'proxy' | 'middleware' | 'react' | 'basepath';

const sourceOf = (variant: Variant): string =>
  variant === 'react' ? REACT_APP : variant === 'basepath' ? BASEPATH_APP : APP;

/** Every input of the build: the app sources and the built packages it bundles. */
function sourceHash(variant: Variant): string {
  const hash = createHash('sha256').update(variant);
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      if (name === '.next' || name === 'node_modules') continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(relative(TEST_DIR, path)).update(readFileSync(path));
    }
  };
  walk(sourceOf(variant));
  for (const pkg of ['core', 'web', 'next', 'browser', 'react']) {
    const dist = join(dirname(require.resolve(`@graylane/${pkg}/package.json`)), 'dist');
    if (existsSync(dist)) walk(dist);
  }
  hash.update(readFileSync(require.resolve('next/package.json')));
  return hash.digest('hex').slice(0, 16);
}

/**
 * Builds the app for `variant` once per source hash (`next build`, telemetry off) and returns
 * its directory. A later run with the same sources reuses the `.next` output.
 */
export async function buildApp(
  variant: Variant,
): Promise<{ dir: string; cached: boolean; ms: number }> {
  await acquireLock();
  try {
    return await buildLocked(variant);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

async function buildLocked(
  variant: Variant,
): Promise<{ dir: string; cached: boolean; ms: number }> {
  const hash = sourceHash(variant);
  const dir = join(BUILDS, variant);
  const stamp = join(dir, '.graylane-build');
  if (
    existsSync(stamp) &&
    readFileSync(stamp, 'utf8') === hash &&
    existsSync(join(dir, '.next', 'BUILD_ID'))
  )
    return { dir, cached: true, ms: 0 };
  rmSync(dir, { recursive: true, force: true });
  const source = sourceOf(variant);
  cpSync(source, dir, { recursive: true, filter: (src) => !src.includes(`${source}/.next`) });
  if (variant === 'proxy' || variant === 'middleware') {
    const template = readFileSync(join(dir, 'proxy.template.js'), 'utf8');
    rmSync(join(dir, 'proxy.template.js'));
    writeFileSync(join(dir, `${variant}.js`), template.replace('__EXPORT__', variant));
  }
  const started = Date.now();
  const log = await run(process.execPath, [NEXT_BIN, 'build'], dir, BUILD_TIMEOUT_MS);
  if (!existsSync(join(dir, '.next', 'BUILD_ID')))
    throw new Error(`next build produced no BUILD_ID:\n${log}`);
  writeFileSync(stamp, hash);
  return { dir, cached: false, ms: Date.now() - started };
}

/** A directory lock with the holder's pid; a lock whose holder is gone is taken over. */
async function acquireLock(): Promise<void> {
  mkdirSync(BUILDS, { recursive: true });
  const deadline = Date.now() + BUILD_TIMEOUT_MS * 2;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return;
    } catch {
      if (!holderAlive()) rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`next build lock ${LOCK} held too long`);
      else await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

function holderAlive(): boolean {
  try {
    const pid = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive but not ours; a missing pid file: the holder is still writing it.
    return (
      (err as NodeJS.ErrnoException).code === 'EPERM' ||
      (err as NodeJS.ErrnoException).code === 'ENOENT'
    );
  }
}

/** The environment every Next process gets: no telemetry, nothing from the network. */
export const NEXT_ENV = { NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' };

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...NEXT_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(log);
      else reject(new Error(`${args.join(' ')} exited ${code}:\n${log.slice(-4000)}`));
    });
  });
}
