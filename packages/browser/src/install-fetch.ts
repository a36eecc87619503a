import { hasPage } from './env.js';
import { withGray, type WithGrayOptions } from './with-gray.js';

let uninstall: (() => void) | undefined;

/**
 * Opt-in: replaces `globalThis.fetch` with {@link withGray} around the current one. Installs at
 * most once: a second call returns the same uninstall function. Uninstalling restores the
 * original when nobody wrapped fetch after us; otherwise our wrapper turns into a pass-through.
 * Without a page (SSR: Node, workerd, React server components) it patches nothing and returns a
 * no-op uninstaller, so a server's own `fetch` is never touched.
 *
 * @example
 * ```ts
 * initGray({ versions: ['stable', 'beta'], default: 'stable' });
 * const uninstall = installFetch();
 * // … later, e.g. in a test
 * uninstall();
 * ```
 */
export function installFetch(options?: WithGrayOptions): () => void {
  if (!hasPage()) return () => undefined;
  if (uninstall) return uninstall;
  const original = globalThis.fetch;
  const gray = withGray(original, options);
  let active = true;
  const patched: typeof fetch = (input, init) =>
    active ? gray(input, init) : original(input, init);
  globalThis.fetch = patched;
  const remove = (): void => {
    if (uninstall !== remove) return;
    active = false;
    uninstall = undefined;
    if (globalThis.fetch === patched) globalThis.fetch = original;
  };
  return (uninstall = remove);
}
