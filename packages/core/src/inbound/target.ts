/**
 * The request target as the Node middleware and `graylane explain` read it: one place, so the
 * rules' `path` and the query markers are read the same way by the server and by the tool that
 * explains its decisions.
 */

/**
 * A request target as the widest of its readers reads it. RFC 9112 has no fragment in a request
 * target and browsers never send one, but Node accepts a `#` there, and readers disagree about
 * it: fastify's find-my-way starts the query at the first `?` or `#` and reads a later `#` as a
 * character of it; express, koa and the WHATWG `URL` start it at the first `?` and end it at a
 * `#`; a proxy that splits at the first `?` (@fastify/reply-from) forwards `/p#x?gray=beta` as
 * `/p?gray=beta`; `URLSearchParams` given what follows that `?` drops one more leading `?`
 * (`/p??gray=beta`). graylane reads every parameter any of them could find, so what could be
 * taken for a marker is judged and, when it must go, removed (GW-02): the query starts at the
 * first `?` or `#`; every later `#`, the first `?` when a `#` came before it, and a `?` right
 * after the first `?` separate parameters like `&` (a value ends at a `#`, as in a fragment:
 * `?gray=beta#frag` names `beta`, QS-06). Any other `?` is a character of a value under every
 * reading (`?next=/a?b=1`) and stays one. Unchanged without a `#` or a `??`.
 */
export function routerTarget(url: string): string {
  const q = url.indexOf('?');
  const hash = url.indexOf('#');
  const doubled = q !== -1 && url.charCodeAt(q + 1) === 0x3f;
  if (hash === -1 && !doubled) return url;
  const start = hash !== -1 && (q === -1 || hash < q) ? hash : q;
  let rest = url.slice(start + 1);
  for (const at of [q, doubled ? q + 1 : -1])
    if (at > start) rest = `${rest.slice(0, at - start - 1)}&${rest.slice(at - start)}`;
  return `${url.slice(0, start)}?${rest.replaceAll('#', '&')}`;
}

/** `scheme://` at the start of an absolute-form request target (RFC 3986 scheme, any case). */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * The origin form of a request target. Node hands an absolute-form target (`GET http://h/admin`,
 * what a forward proxy is sent, and what any client may send) to the app as it came, and
 * express, koa, fastify and hono all route it by its path (`/admin`), as RFC 9112 §3.2.2 has an
 * origin server do; the rules' `path` (and the query) must be read from the same place, or a
 * `path` rule is skipped for a request the router serves on that path. The scheme and authority
 * go (up to the first `/`, `?` or `#`, as the WHATWG `URL` and `url.parse` end them); the rest is
 * kept byte for byte, with a `/` in front when the path was empty. Anything else is unchanged.
 */
export function originForm(url: string): string {
  if (url.charCodeAt(0) === 0x2f) return url;
  const scheme = ABSOLUTE_FORM.exec(url);
  if (scheme === null) return url;
  const from = scheme[0].length;
  let end = url.length;
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x2f || c === 0x3f || c === 0x23) {
      end = i;
      break;
    }
  }
  const rest = url.slice(end);
  return rest.charCodeAt(0) === 0x2f ? rest : `/${rest}`;
}
