import { fail } from './options.js';
import { HTTP } from './allow.js';
import { keyed } from './same-options.js';

/**
 * Paths that never receive the header, for `initGray`'s `exclude` option: same-origin (or
 * allowlisted) paths your server forwards to a third party — an analytics ingest, a CDN, an image
 * service. An entry is a path prefix (`'/ingest/'`, on every allowed origin), a URL prefix
 * (`'https://api.example.com/public/'`, that origin only) or a RegExp tested against the path.
 * Every entry is judged on the path a server routes by, however the request spells it:
 * percent-decoded once, `//` and `\` as `/`, `;` parameters dropped, `.`/`..` resolved; prefixes
 * ignore case, and `/ingest/` names `/ingest` too. Throws `INVALID_OPTIONS` for anything else (a
 * relative path, a URL with a query, another scheme, a list that is not an array).
 *
 * @example
 * ```ts
 * initGray({ versions: ['stable', 'beta'], default: 'stable', exclude: excludePaths(['/ingest/']) });
 * ```
 */
export function excludePaths(entries: readonly (string | RegExp)[]): (url: URL) => boolean {
  const prefixes: string[] = [];
  const paths: RegExp[] = [];
  // A lone string would be taken letter by letter.
  if (!Array.isArray(entries)) fail('excludePaths: not a list');
  for (const e of entries)
    if (e instanceof RegExp) paths.push(RegExp(e.source, e.flags.replace(/[gy]/g, '')));
    else prefixes.push(prefix(e));
  // Equal lists are equal options for a repeated initGray (StrictMode renders twice).
  return keyed(
    ({ origin, pathname }: URL) => {
      const path = routed(pathname);
      // `/ingest/` also names `/ingest` itself: servers answer it with a redirect there (nginx's
      // `location /ingest/`) or route it there (Next's `/ingest/:path*`).
      const lower = path.toLowerCase() + '/';
      return (
        prefixes.some((p) => lower.startsWith(p) || (origin + lower).startsWith(p)) ||
        paths.some((re) => re.test(path))
      );
    },
    // A string and a RegExp of the same text are different entries.
    JSON.stringify(entries.map((e) => (e instanceof RegExp ? [e.source, e.flags] : e))),
  );
}

/**
 * The path a server may route by, whatever spelling reaches it: percent-decoded once (escape by
 * escape when it is not UTF-8), backslashes as slashes, repeated slashes as one, `;` parameters
 * dropped, `.`/`..` segments resolved (the URL parser resolves only those it sees: `..%2f` it
 * leaves).
 */
function routed(pathname: string): string {
  let p = pathname;
  try {
    p = decodeURIComponent(p);
  } catch {
    // Not UTF-8 (`/%69ngest/%FF`): a server still decodes each escape on its own (nginx), so
    // one bad byte must not leave the rest of the path encoded.
    p = p.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
  const out = [''];
  // A `;…` segment parameter (`/ingest;jsessionid=1/e`) is dropped: servers that route by the
  // path without it (Tomcat, Spring, Jetty) forward that request as `/ingest/e`.
  for (const seg of p
    .replace(/;[^/\\]*/g, '')
    .split(/[\\/]+/)
    .slice(1))
    if (seg == '..') {
      if (out.length > 1) out.pop();
    } else if (seg != '.') out.push(seg);
  return out.join('/') || '/';
}

/** An `exclude` string: a path (`/proxy/`) or an http(s) URL with a path, lowercased; else throws. */
function prefix(e: unknown): string {
  try {
    if (typeof e == 'string' && /^\/(?![\\/])/.test(e)) return routed(e).toLowerCase();
    const { protocol, origin, pathname, href } = new URL(e as string);
    if (HTTP.test(protocol) && href == origin + pathname)
      return (origin + routed(pathname)).toLowerCase();
  } catch {
    // Not a URL: reported below.
  }
  return fail(`exclude entry ${String(e)}: not a /path, a URL prefix or a RegExp`);
}
