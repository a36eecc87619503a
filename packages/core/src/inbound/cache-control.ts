/**
 * Directives that let a shared cache store a response or reuse it (RFC 9111 §5.2.2): removed
 * from a response that carries a visitor's sticky cookie. `private` is dropped too, and put back
 * bare: `private="set-cookie"` (qualified) still lets a shared cache store the rest.
 */
const SHARED = new Set(['public', 's-maxage', 'proxy-revalidate', 'private']);

/** `Cache-Control` of a response that sets a sticky cookie and had none (heuristic caching). */
const PRIVATE_CACHE_CONTROL = 'private';

/**
 * The `Cache-Control` a response must carry once graylane adds a visitor's sticky `Set-Cookie`:
 * no shared cache (CDN, proxy) may store it, so one visitor's anonymous id and lane never reach
 * another (RFC 9111 §3: `Set-Cookie` alone does not stop a shared cache; the server must say
 * so). `public`, `s-maxage`, `proxy-revalidate` and a qualified `private` go, a bare `private`
 * goes first, and the browser's own directives (`max-age`, `no-cache`, `immutable`…) stay.
 * Returns `undefined` when `value` already forbids shared storage (a bare `private`, or
 * `no-store` without `must-understand`, which makes a cache that implements it ignore
 * `no-store`): leave the header as it is. No header (or only empty ones) gives `private`: a
 * shared cache may otherwise store the response heuristically (`Last-Modified`). Several header
 * lines are read as one list and come back as one line. Never throws.
 *
 * @example
 * ```ts
 * privateCacheControl('public, max-age=60');  // 'private, max-age=60'
 * privateCacheControl('s-maxage=31536000');   // 'private'
 * privateCacheControl(undefined);             // 'private'
 * privateCacheControl('private, max-age=60'); // undefined (already private)
 * privateCacheControl('public, must-understand, no-store'); // 'private, must-understand, no-store'
 * ```
 */
export function privateCacheControl(
  value: string | number | readonly (string | number)[] | null | undefined,
): string | undefined {
  const kept: string[] = [];
  const names: string[] = [];
  try {
    const lines = value === undefined || value === null ? [] : [value].flat().map(String);
    for (const directive of lines.flatMap(splitDirectives)) {
      const name = directiveName(directive);
      if (name === 'private' && directive.length === 7) return undefined;
      names.push(name);
      if (!SHARED.has(name)) kept.push(directive);
    }
  } catch {
    // A value no header holds (plain JS): nothing of it is kept, and no shared cache may store.
    return PRIVATE_CACHE_CONTROL;
  }
  // RFC 9111 §5.2.2.3: a cache that implements `must-understand` and knows the status ignores
  // `no-store`, so `public, must-understand, no-store` is stored: `private` is put first (the
  // app's directives stay, so a browser reads them as before).
  if (names.includes('no-store') && !names.includes('must-understand')) return undefined;
  return [PRIVATE_CACHE_CONTROL, ...kept].join(', ');
}

/**
 * Targeted cache-control fields (RFC 9213 §2): each replaces `Cache-Control` for the caches it
 * targets — `CDN-Cache-Control` (any CDN), `<Vendor>-CDN-Cache-Control` (Cloudflare, Vercel,
 * Netlify…), `Surrogate-Control` (Fastly, Varnish, Akamai) and Akamai's `Edge-Control`. A CDN
 * that reads one ignores the private `Cache-Control` graylane wrote.
 */
const TARGETED = /^(?:.+-)?cdn-cache-control$|^(?:surrogate|edge)-control$/i;

/**
 * Whether the response header `name` is a targeted cache-control field (see {@link
 * targetedNoStore}), any casing. Never throws.
 *
 * @example
 * ```ts
 * isTargetedCacheControl('Cloudflare-CDN-Cache-Control'); // true
 * isTargetedCacheControl('Cache-Control');                // false
 * ```
 */
export function isTargetedCacheControl(name: unknown): boolean {
  return typeof name === 'string' && TARGETED.test(name);
}

/** What a targeted field says on a response carrying a sticky cookie. */
const NO_STORE = 'no-store';

/**
 * The targeted fields a response carrying sticky cookies gets when what it will carry is not
 * known (Next's proxy runs before the page): the names CDNs document, each `no-store`.
 */
export const TARGETED_CACHE_CONTROL_FIELDS: readonly string[] = [
  'CDN-Cache-Control',
  'Cloudflare-CDN-Cache-Control',
  'Vercel-CDN-Cache-Control',
  'Netlify-CDN-Cache-Control',
  'Surrogate-Control',
  'Edge-Control',
];

/**
 * The value a targeted cache-control field (see {@link isTargetedCacheControl}) must carry once
 * graylane adds a visitor's sticky `Set-Cookie`: `no-store`. A CDN that reads the field ignores
 * `Cache-Control` (RFC 9213 §2.1; Cloudflare, Vercel and Netlify rank their own field first,
 * Fastly prefers `Surrogate-Control`), so the private `Cache-Control` alone would let it store one
 * visitor's id and lane for everyone. The field is replaced, not removed: every cache that uses a
 * targeted field must honour `no-store` (RFC 9213 §2.1), and Akamai falls back to its property
 * settings, not to `Cache-Control`, when `Edge-Control` is gone (and `!no-store` there overrides
 * `Cache-Control: no-store`). Returns `undefined` when `value` is one line that says only
 * `no-store` (any casing): leave it. Never throws.
 *
 * @example
 * ```ts
 * targetedNoStore('max-age=3600');         // 'no-store'
 * targetedNoStore('!no-store, max-age=1'); // 'no-store'
 * targetedNoStore('No-Store');             // undefined
 * ```
 */
export function targetedNoStore(
  value: string | number | readonly (string | number)[] | null | undefined,
): string | undefined {
  const line: unknown = Array.isArray(value) && value.length === 1 ? value[0] : value;
  return typeof line === 'string' && line.trim().toLowerCase() === NO_STORE ? undefined : NO_STORE;
}

/** The part of a Fetch `Headers` {@link privateHeaderFields} reads. */
export interface FetchHeadersLike {
  get(name: string): string | null;
  getSetCookie?(): string[];
  [Symbol.iterator](): IterableIterator<[string, string]>;
}

/**
 * @internal STK-06 for a Fetch `Headers` (`@graylane/web`, hono): once one of `cookies`
 * (graylane's sticky `Set-Cookie` values) is among its `Set-Cookie` lines, the fields to set so
 * that no shared cache stores the response — `Cache-Control` by {@link privateCacheControl}, each
 * targeted field by {@link targetedNoStore}; none when it carries none of them or is private
 * already. Reads only: the caller sets them (a `Headers` must not change while iterated).
 */
export function privateHeaderFields(
  headers: FetchHeadersLike,
  cookies: readonly string[],
): [string, string][] {
  if (cookies.length === 0) return [];
  const sent = headers.getSetCookie?.() ?? [];
  if (!cookies.some((cookie) => sent.includes(cookie))) return [];
  const out: [string, string][] = [];
  const value = privateCacheControl(headers.get('cache-control') ?? undefined);
  if (value !== undefined) out.push(['cache-control', value]);
  for (const [name, v] of headers) {
    const noStore = isTargetedCacheControl(name) ? targetedNoStore(v) : undefined;
    if (noStore !== undefined) out.push([name, noStore]);
  }
  return out;
}

/** The comma-separated directives of one header line, trimmed, empty ones dropped (quotes kept whole). */
function splitDirectives(line: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i <= line.length; i++) {
    const c = line.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c)
        i++; // a quoted-pair: the next character is literal
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x2c || i === line.length) {
      const directive = line.slice(start, i).trim();
      if (directive !== '') out.push(directive);
      start = i + 1;
    }
  }
  return out;
}

/** A directive's name, lower-cased (names are case-insensitive, RFC 9111 §5.2). */
function directiveName(directive: string): string {
  const eq = directive.indexOf('=');
  return (eq < 0 ? directive : directive.slice(0, eq)).trim().toLowerCase();
}
