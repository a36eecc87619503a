/**
 * How many of a header name's `-` and `_` are varied ({@link headerSpellings}): each one doubles
 * the lookups a request costs (`x-gray-id`: 3 more), so a name with more (a configured one; the
 * defaults have at most two) has only its first six varied.
 */
export const MAX_VARIED_SEPARATORS = 6;

/** Each name's other spellings, made once: the names are configuration, never request input. */
const made = new Map<string, readonly string[]>();

/**
 * @internal The other names a header arrives under that CGI-style readers take for `name`
 * (GW-02): each `-` as `_` and each `_` as `-`, in every combination. PHP (`$_SERVER`), WSGI
 * (Django's `request.META`, Flask), Rack and any CGI gateway file a header under `HTTP_` + its
 * name upper-cased with `-` as `_`, so a client's `X_Gray_Id: beta` is their `HTTP_X_GRAY_ID`,
 * the marker header, where Node, fetch and nginx see another header. Lower case (headers are
 * looked up in any case); `name` itself is not in the list.
 *
 * @example
 * ```ts
 * headerSpellings('x-gray-id'); // ['x_gray-id', 'x-gray_id', 'x_gray_id']
 * ```
 */
export function headerSpellings(name: string): readonly string[] {
  let list = made.get(name);
  if (list !== undefined) return list;
  const lower = name.toLowerCase();
  const at: number[] = [];
  for (let i = 0; i < lower.length && at.length < MAX_VARIED_SEPARATORS; i++)
    if (lower[i] === '-' || lower[i] === '_') at.push(i);
  const out: string[] = [];
  for (let mask = 1; mask < 1 << at.length; mask++) {
    const chars = lower.split('');
    at.forEach((i, bit) => {
      if (mask & (1 << bit)) chars[i] = chars[i] === '-' ? '_' : '-';
    });
    out.push(chars.join(''));
  }
  list = out;
  made.set(name, list);
  return list;
}
