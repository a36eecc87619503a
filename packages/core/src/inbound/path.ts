/** One character RFC 3986 §2.3 calls unreserved: `A-Z a-z 0-9 - . _ ~`. */
const UNRESERVED = /^[\w.~-]$/;

/**
 * The path the rules match: the request's path under the equivalences some router applies
 * before it routes, so that no spelling of a path reaches the route while missing its `path`
 * rule (REQ-03; a pin such as `/checkout` → stable falling through to a split):
 *
 * - a percent-encoded unreserved character is that character (`/%61dmin` is `/admin`; RFC 3986
 *   §6.2.2.2; hono decodes before it routes);
 * - `\` is `/` (the WHATWG URL parser reads it so in http(s) URLs: hono, Next.js, Workers);
 * - `.` and `..` segments are removed (RFC 3986 §5.2.4; every WHATWG URL, so `/x/../admin` and
 *   `/%2e%2e/admin` are `/admin`).
 *
 * Every other byte stays as it came: other escapes (`%2F`, `%20`, non-ASCII), case and a trailing
 * slash — routers differ on those (express ignores case and a trailing slash by default, fastify
 * and hono do not): match them with a `regex` rule. A path with none of `%`, `\` or `/.` is
 * returned as it is, with no work.
 *
 * @example
 * ```ts
 * rulePath('/x/..%2f/%61dmin/./users'); // '/x/..%2f/admin/users'
 * ```
 */
export function rulePath(path: string): string {
  if (!/%|\\|\/\./.test(path)) return path;
  const decoded = unescapePath(path);
  if (!decoded.includes('/.')) return decoded;
  // RFC 3986 §5.2.4: `.` goes, `..` takes the segment before it (never above the root); a dot
  // segment at the end leaves the directory (`/a/.` is `/a/`).
  const segments = decoded.split('/');
  const out: string[] = [];
  segments.forEach((s, i) => {
    if (s === '.' || s === '..') {
      if (s === '..' && out.length > 1) out.pop();
      if (i === segments.length - 1) out.push('');
    } else out.push(s);
  });
  return out.join('/');
}

/**
 * @internal The first steps of {@link rulePath}: escaped unreserved characters decoded, `\` as
 * `/`; dot segments stay (a rule's path affix is checked against this form).
 */
export function unescapePath(path: string): string {
  return path
    .replace(/%[\da-f]{2}/gi, (escape) => {
      const c = String.fromCharCode(parseInt(escape.slice(1), 16));
      return UNRESERVED.test(c) ? c : escape;
    })
    .replaceAll('\\', '/');
}
