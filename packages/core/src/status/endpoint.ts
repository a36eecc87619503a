import { GraylaneError } from '../errors.js';
import { bearerMatches, checkToken, isLoopbackAddress, isLoopbackHost } from './auth.js';
import { renderStatusPage } from './html.js';
import {
  STATUS_DEFAULT_PATH,
  STATUS_JSON_SUFFIX,
  STATUS_POLL_DEFAULT_MS,
  STATUS_POLL_MAX_MS,
  STATUS_POLL_MIN_MS,
} from './limits.js';
import { createStatusModel, type StatusModelOptions } from './model.js';
import type { StatusReport } from './types.js';

/** Options of {@link createStatusEndpoint}: the model's, plus access and page options. */
export interface StatusEndpointOptions extends StatusModelOptions {
  /** Off by default: a disabled endpoint matches nothing, as if it were not mounted. */
  readonly enabled?: boolean | undefined;
  /**
   * A bearer token (16–512 `b64token` characters). With a token, every request needs exactly one
   * `Authorization: Bearer <token>`, from any address. Without one, only loopback peers that
   * came through no proxy and name a loopback `Host` are served.
   */
  readonly token?: string | undefined;
  /** Where the page lives; the JSON is `${path}/status.json`. Default `/graylane/status`. */
  readonly path?: string | undefined;
  /** How often the page polls its JSON. Default 2000 ms, 500–60000. */
  readonly pollMs?: number | undefined;
  /** Page title. Default `graylane status`. */
  readonly title?: string | undefined;
  /** A fresh CSP nonce per page (platform randomness: `randomBytes(16)`, `getRandomValues`). */
  readonly randomNonce: () => string;
}

/** One request, as the platform adapter read it. */
export interface StatusRequest {
  readonly method: string;
  /** The full request path, without the query string (`/graylane/status/status.json`). */
  readonly path: string;
  /** The socket peer; `undefined` where the platform cannot tell (edge runtimes). */
  readonly remoteAddress: string | undefined;
  /** Every `Authorization` value received, uncombined (duplicates are refused). */
  readonly authorization: readonly string[];
  /** True when the request carries proxy headers (`Forwarded`, `X-Forwarded-For`, …). */
  readonly proxied: boolean;
  /**
   * The `Host` header (HTTP/2: `:authority`). Without a token, only a loopback name is served
   * (`localhost`, `*.localhost`, `127.x.x.x`, `[::1]`, any port): a DNS-rebinding page reaches the
   * loopback socket under the attacker's name. Undefined: refused. (A required key: a custom
   * integration written before this check fails to compile rather than answer 404 silently.)
   */
  readonly host: string | undefined;
  /** The app's CSP nonce for this response, if it has one; a function is called only for the page. */
  readonly nonce?: string | (() => string | undefined) | undefined;
}

/** The answer, for the adapter to write. `body` is empty for HEAD. */
export interface StatusResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The platform-neutral endpoint: route, authorize, render. */
export interface StatusEndpoint {
  /**
   * True when `path` (no query string) is the page or its JSON and the endpoint is enabled. A
   * cheap check adapters run first, so other requests cost one comparison and nothing else.
   */
  matches(path: string): boolean;
  /** `undefined` when the request is not for the status page (call the next handler). Never throws. */
  handle(request: StatusRequest): StatusResponse | undefined;
  report(): StatusReport;
  /** Stops listening to the store. Idempotent. */
  close(): void;
}

/** Plain path segments only: no empty, `.` or `..` segment, nothing a client would normalize. */
const PATH = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._~-]+)+$/;
const NONCE = /^[A-Za-z0-9+/_-]{16,128}={0,2}$/;
const COMMON: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * Creates the status endpoint every platform adapter drives (Node's `createStatusHandler`, the
 * Web engine's). Throws only on bad options.
 *
 * @example
 * ```ts
 * const endpoint = createStatusEndpoint({ store, enabled: true, randomNonce });
 * const answer = endpoint.handle({ method: 'GET', path: '/graylane/status', remoteAddress: '127.0.0.1', host: 'localhost:8080', authorization: [], proxied: false });
 * ```
 */
export function createStatusEndpoint(options: StatusEndpointOptions): StatusEndpoint {
  const path = checkPath(options.path ?? STATUS_DEFAULT_PATH);
  const token = checkToken(options.token);
  const pollMs = checkPoll(options.pollMs);
  const model = createStatusModel(options);
  const jsonPath = path + STATUS_JSON_SUFFIX;

  const answer = (
    request: StatusRequest,
    status: number,
    headers: Record<string, string>,
    body: string,
  ): StatusResponse => ({
    status,
    headers: { ...COMMON, ...headers },
    body: request.method === 'HEAD' ? '' : body,
  });

  const serve = (request: StatusRequest, json: boolean): StatusResponse => {
    // Access first: someone who may not see the page learns nothing, not even which methods exist.
    const denied = deny(request, token);
    if (denied) return answer(request, denied.status, denied.headers, denied.body);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return answer(
        request,
        405,
        { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' },
        'method not allowed\n',
      );
    }
    const report = model.report();
    if (json) {
      return answer(
        request,
        200,
        {
          'content-type': 'application/json; charset=utf-8',
          'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
        },
        JSON.stringify(report),
      );
    }
    const given = appNonce(request.nonce);
    const nonce = given !== undefined && NONCE.test(given) ? given : options.randomNonce();
    const html = renderStatusPage(report, {
      jsonUrl: jsonPath,
      nonce,
      pollMs,
      title: options.title,
    });
    return answer(
      request,
      200,
      { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': pageCsp(nonce) },
      html,
    );
  };

  const route = (requestPath: string): 'page' | 'json' | undefined => {
    if (options.enabled !== true) return undefined;
    const p =
      requestPath.length > 1 && requestPath.endsWith('/') ? requestPath.slice(0, -1) : requestPath;
    return p === path ? 'page' : p === jsonPath ? 'json' : undefined;
  };

  return {
    matches: (requestPath) => route(requestPath) !== undefined,
    handle(request) {
      const target = route(request.path);
      if (target === undefined) return undefined;
      try {
        return serve(request, target === 'json');
      } catch {
        // Only a broken collaborator (a randomNonce that throws) gets here: fail closed.
        return answer(
          request,
          500,
          { 'content-type': 'text/plain; charset=utf-8' },
          'status unavailable\n',
        );
      }
    },
    report: () => model.report(),
    close: () => model.close(),
  };
}

function deny(
  request: StatusRequest,
  token: string | undefined,
): { status: number; headers: Record<string, string>; body: string } | undefined {
  const text = { 'content-type': 'text/plain; charset=utf-8' };
  if (token !== undefined) {
    if (bearerMatches(request.authorization, token)) return undefined;
    return {
      status: 401,
      headers: { ...text, 'www-authenticate': 'Bearer realm="graylane-status"' },
      body: 'unauthorized\n',
    };
  }
  // Loopback-only: a proxy on the same host makes every peer look local, so proxied requests
  // are refused too; so is a Host that is not loopback (DNS rebinding: the socket is local, the
  // page is the attacker's). Answer as if nothing were here.
  if (isLoopbackAddress(request.remoteAddress) && !request.proxied && isLoopbackHost(request.host))
    return undefined;
  return { status: 404, headers: text, body: 'not found\n' };
}

function appNonce(nonce: StatusRequest['nonce']): string | undefined {
  if (typeof nonce !== 'function') return nonce;
  try {
    return nonce();
  } catch {
    // A broken nonce callback gets a fresh random nonce; the page still renders.
    return undefined;
  }
}

function pageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function checkPath(path: string): string {
  if (typeof path !== 'string' || !PATH.test(path)) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `status path must look like /graylane/status (letters, digits, - . _ ~ segments), got ${JSON.stringify(path)}`,
    );
  }
  return path;
}

function checkPoll(ms: number | undefined): number {
  if (ms === undefined) return STATUS_POLL_DEFAULT_MS;
  if (!Number.isInteger(ms) || ms < STATUS_POLL_MIN_MS || ms > STATUS_POLL_MAX_MS) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `status pollMs must be an integer from ${STATUS_POLL_MIN_MS} to ${STATUS_POLL_MAX_MS}, got ${String(ms)}`,
    );
  }
  return ms;
}
