/**
 * @internal `localStorage` that never throws: storage is off in sandboxed frames, full, or
 * disabled by the user; graylane then simply remembers nothing across page views.
 */
export const storage = {
  get(key: string): string | undefined {
    try {
      return localStorage.getItem(key) ?? undefined;
    } catch {
      return undefined;
    }
  },
  set(key: string, value: string | undefined): void {
    try {
      if (value === undefined) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch {
      // Quota or sandbox: the cache is a convenience, the page works without it.
    }
  },
};
