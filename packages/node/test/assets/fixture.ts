/**
 * A throwaway asset-lane layout in a temp folder: `stable` and `beta` builds, a `canary` lane
 * that is a symlink to a release folder (an `ln -sfn` deploy), no `gamma` build, and traps:
 * symlinks out of the build, a dotfile, a FIFO, and a secret next to the root.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Marks every byte that must never be served. */
export const SECRET = 'TOP-SECRET-7f3a';

/** The hashed bundle name per lane (esbuild's `[hash]`: 8 characters of base32 A-Z2-7). */
export const BUNDLE: Readonly<Record<'stable' | 'beta' | 'canary', string>> = {
  stable: 'main-5TAB3E22.js',
  beta: 'main-BE7A2222.js',
  canary: 'main-CANA4Y22.js',
};

export interface Layout {
  readonly dir: string;
  readonly root: string;
  remove(): void;
}

const html = (lane: string): string =>
  `<!doctype html><html><head><title>${lane}</title></head><body><div id="app">${lane} build</div>` +
  `<script type="module" src="/assets/${BUNDLE[lane as keyof typeof BUNDLE]}"></script></body></html>`;

/** Creates the layout; `remove()` deletes it. */
export function createLayout(): Layout {
  const dir = mkdtempSync(join(tmpdir(), 'graylane-assets-'));
  const root = join(dir, 'web');
  const put = (rel: string, body: string): void => {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, body);
  };
  put('secret.txt', SECRET);
  put('outside/secret.txt', SECRET);
  put('web/.env', SECRET);
  for (const lane of ['stable', 'beta'] as const) {
    put(`web/${lane}/index.html`, html(lane));
    put(`web/${lane}/assets/${BUNDLE[lane]}`, `window.BUILD=${JSON.stringify(lane)};`);
    put(`web/${lane}/robots.txt`, `${lane} robots`);
    put(`web/${lane}/docs/index.html`, `<html><head></head><body>${lane} docs</body></html>`);
    put(`web/${lane}/site.webmanifest`, `{"name":"${lane}"}`);
    put(`web/${lane}/.env`, SECRET);
    put(`web/${lane}/.git/config`, SECRET);
  }
  // Only stable has this hashed chunk: other lanes must still get it (content-addressed).
  put('web/stable/assets/shared-2C2FFEE2.js', 'window.SHARED=1;');
  // canary: the lane folder is a symlink to a release outside the root (allowed).
  put('releases/canary-42/index.html', html('canary'));
  put(`releases/canary-42/assets/${BUNDLE.canary}`, 'window.BUILD="canary";');
  symlinkSync(join(dir, 'releases/canary-42'), join(root, 'canary'));
  // Traps inside the stable build.
  symlinkSync(join(dir, 'secret.txt'), join(root, 'stable/leak.txt'));
  symlinkSync('../../secret.txt', join(root, 'stable/leak-relative.txt'));
  symlinkSync(join(dir, 'outside'), join(root, 'stable/leakdir'));
  symlinkSync('/etc/passwd', join(root, 'stable/passwd.txt'));
  symlinkSync(join(root, 'beta/robots.txt'), join(root, 'stable/other-lane.txt'));
  symlinkSync('robots.txt', join(root, 'stable/inner-link.txt'));
  symlinkSync('/nonexistent/x', join(root, 'stable/dangling.js'));
  execFileSync('mkfifo', [join(root, 'stable/fifo.js')]);
  return { dir, root, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
