/**
 * @internal True in a page: `document` and `location` exist. False during SSR (Node, workerd,
 * React server components) and in workers, where graylane hands out an inert client and patches
 * nothing. Read at call time, never at import.
 */
export function hasPage(): boolean {
  return typeof document == 'object' && typeof location == 'object';
}
