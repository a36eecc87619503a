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
 * ```
 */
export function privateCacheControl(
  value: string | number | readonly (string | number)[] | null | undefined,
): string | undefined {
  const kept: string[] = [];
  try {
    const lines = value === undefined || value === null ? [] : [value].flat().map(String);
    for (const directive of lines.flatMap(splitDirectives)) {
      const name = directiveName(directive);
      if (name === 'no-store' || (name === 'private' && directive.length === 7)) return undefined;
      if (!SHARED.has(name)) kept.push(directive);
    }
  } catch {
    // A value no header holds (plain JS): nothing of it is kept, and no shared cache may store.
    return PRIVATE_CACHE_CONTROL;
  }
  return [PRIVATE_CACHE_CONTROL, ...kept].join(', ');
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
