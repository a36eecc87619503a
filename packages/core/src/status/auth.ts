import { GraylaneError } from '../errors.js';
import { STATUS_MAX_TOKEN_LENGTH, STATUS_MIN_TOKEN_LENGTH } from './limits.js';

/** RFC 6750 `b64token`: the characters a bearer token may use. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Checks a configured token at construction: long enough, and sendable as a bearer token. */
export function checkToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  if (
    typeof token !== 'string' ||
    token.length < STATUS_MIN_TOKEN_LENGTH ||
    token.length > STATUS_MAX_TOKEN_LENGTH ||
    !B64TOKEN.test(token)
  ) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `status token must be ${STATUS_MIN_TOKEN_LENGTH}–${STATUS_MAX_TOKEN_LENGTH} characters of ` +
        'A–Z a–z 0–9 - . _ ~ + / (padding = allowed), e.g. 32 random bytes in base64url',
    );
  }
  return token;
}

/**
 * True when exactly one `Authorization` value is present and it is `Bearer <token>` (scheme
 * case-insensitive, RFC 7235). Two values — even two equal ones — are refused. The comparison
 * takes time that depends only on the configured token's length, never on how much matched.
 */
export function bearerMatches(values: readonly string[], token: string): boolean {
  if (values.length !== 1) return false;
  const value = values[0] as string;
  if (value.length > STATUS_MAX_TOKEN_LENGTH + 16) return false;
  const m = /^bearer +(\S+) *$/i.exec(value);
  return m !== null && constantTimeStringEqual(m[1] as string, token);
}

function constantTimeStringEqual(given: string, expected: string): boolean {
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) {
    diff |= (given.charCodeAt(i % Math.max(1, given.length)) || 0) ^ expected.charCodeAt(i);
  }
  return diff === 0;
}

/**
 * True for loopback peers: `127.0.0.0/8`, `::1`, and IPv4-mapped `::ffff:127.x.x.x` (how a
 * dual-stack listener reports an IPv4 loopback peer).
 *
 * @example
 * ```ts
 * isLoopbackAddress(req.socket.remoteAddress); // true for 127.0.0.1, ::1, ::ffff:127.0.0.1
 * ```
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (typeof address !== 'string') return false;
  const a = address.toLowerCase();
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

/**
 * True when a `Host` header (or an HTTP/2 `:authority`) names this machine: `localhost` or a
 * name under `.localhost` (RFC 6761: resolved to loopback by the resolver and browsers, never by
 * DNS), an address in `127.0.0.0/8`, or `[::1]` (also IPv4-mapped `[::ffff:127.0.0.1]` and the
 * `[::ffff:7f00:1]` a browser writes for it), each with or without a port. Case-insensitive; a trailing dot, userinfo, or anything else is refused. The loopback-only
 * status page needs it: a DNS-rebinding page (`http://rebind.attacker.example:8080` re-resolved to
 * 127.0.0.1) reaches a loopback socket, but its browser still sends the attacker's name as `Host`.
 *
 * @example
 * ```ts
 * isLoopbackHost('127.0.0.1:8080'); // true
 * isLoopbackHost('rebind.attacker.example:8080'); // false
 * ```
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (typeof host !== 'string' || host.length > 300) return false;
  const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::\d{1,5})?$/i.exec(host);
  if (m === null) return false;
  if (m[1] !== undefined) return isLoopbackAddress(m[1]) || MAPPED_HEX.test(m[1]);
  const name = (m[2] as string).toLowerCase();
  if (name === 'localhost') return true;
  if (name.endsWith('.localhost')) return LABELS.test(name);
  return isLoopbackAddress(name);
}

/** IPv4-mapped `127.x.x.x` as the WHATWG URL serialiser writes it (`::ffff:7f00:1`). */
const MAPPED_HEX = /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/i;

/** Non-empty DNS labels of letters, digits and inner hyphens (`app.localhost`, not `.localhost`). */
const LABELS = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+localhost$/;

/**
 * Request headers that mean a proxy forwarded the request, so the socket peer is the proxy and
 * says nothing about the client. Loopback-only access refuses requests that carry any of them.
 * The headers proxies and CDNs add to say who the client was or how it came: RFC 7239
 * `Forwarded`, the `X-Forwarded-*` family (nginx, HAProxy, Apache, Traefik, AWS/GCP load
 * balancers; `-Client-Cert` is Envoy's), `Via`, `X-Real-IP`, ingress-nginx's
 * `X-Original-Forwarded-For` and `X-Forwarded-Scheme`, CDNs' client-IP headers (Cloudflare,
 * Akamai `True-Client-IP`, Fastly, Azure Front Door), Envoy's `X-Envoy-External-Address`,
 * `X-Cluster-Client-IP` and RFC 8586 `CDN-Loop`. Headers a client sends on its own
 * (`X-Request-ID`, `traceparent`) are not among them: they say nothing about a hop.
 *
 * @example
 * ```ts
 * const proxied = STATUS_PROXY_HEADERS.some((name) => req.headers[name] !== undefined);
 * ```
 */
export const STATUS_PROXY_HEADERS: readonly string[] = [
  'forwarded',
  'forwarded-for',
  'x-forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-forwarded-prefix',
  'x-forwarded-scheme',
  'x-forwarded-ssl',
  'x-forwarded-client-cert',
  'x-original-forwarded-for',
  'x-original-host',
  'x-real-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'cf-connecting-ip',
  'cf-connecting-ipv6',
  'true-client-ip',
  'fastly-client-ip',
  'x-azure-clientip',
  'x-azure-socketip',
  'x-envoy-external-address',
  'cdn-loop',
  'via',
];
