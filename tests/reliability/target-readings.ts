/** GW-02: how readers of a request target find a query parameter. */

/**
 * Where a reader could find the marker in `url`: at `?` up to a `#` (WHATWG, parseurl), at the
 * first `?` or `#` to the end (find-my-way), or at the first `?` to the end, a `#` before it
 * dropped (@fastify/reply-from, a proxy splitting at `?`).
 */
export function markerIn(url: string): string[] {
  const found: string[] = [];
  const target = url.replace(/^[a-z]+:\/\/[^/]+/i, '');
  const whatwg = new URL(target, 'http://h');
  if (whatwg.searchParams.has('gray')) found.push(`WHATWG query of ${url}`);
  const q = target.search(/[?#]/);
  if (q !== -1 && new URLSearchParams(target.slice(q + 1)).has('gray'))
    found.push(`find-my-way query of ${url}`);
  const first = target.indexOf('?');
  if (first !== -1 && new URLSearchParams(target.slice(first + 1)).has('gray'))
    found.push(`first-? query of ${url}`);
  return found;
}
