import {
  GraylaneError,
  createStatusEndpoint,
  statusRequestFromFetch,
  type ConfigStore,
  type SourceStatus,
  type StatusEndpointOptions,
  type StatusReport,
  type StatusStatsLike,
} from '@graylane/core';

/** Options of {@link createStatusHandler}. */
export interface WebStatusHandlerOptions extends Omit<
  StatusEndpointOptions,
  'store' | 'stats' | 'sources' | 'randomNonce'
> {
  /**
   * The engine whose config, counters and edge rule source the page shows:
   * `createGraylane(...)` from `@graylane/web`, or any `{ store, stats?, sourceStatus? }`.
   */
  readonly graylane: {
    readonly store: ConfigStore;
    stats?: (() => StatusStatsLike) | undefined;
    sourceStatus?: (() => SourceStatus | undefined) | undefined;
  };
  /**
   * The socket peer, where the runtime knows it (Deno's `info.remoteAddr.hostname`, Bun's
   * `server.requestIP(request)?.address`). Without it no request is loopback, so only a `token`
   * grants access — the usual case at the edge. With it and no token, a loopback peer is served
   * only when the `Host` (else the URL's authority) is loopback too, and no proxy header is
   * present (DNS rebinding).
   */
  readonly remoteAddress?: ((request: Request) => string | undefined) | undefined;
  /** The app's CSP nonce for this response; default: a fresh random nonce per page. */
  readonly nonce?: ((request: Request) => string | undefined) | undefined;
}

/** What {@link createStatusHandler} returns. */
export interface WebStatusHandler {
  /** True when the request is for the page or its JSON (and the page is enabled): one comparison. */
  matches(request: Request): boolean;
  /** The status answer, or `undefined` when the request is not for the page. Never throws. */
  handle(request: Request): Response | undefined;
  /** The report the JSON endpoint serves. */
  report(): StatusReport;
  /** Stops listening to the store. Idempotent. */
  close(): void;
}

/**
 * The status page for Web-standard runtimes (Workers, Vercel Edge, Deno, Bun, Next.js route
 * handlers): JSON at `${path}/status.json`, the HTML page with the live traffic chart at `path`
 * (default `/graylane/status`). Off by default; when on, a bearer `token` is required unless the
 * runtime tells a loopback peer through `remoteAddress`. Same report, page and access rules as
 * `@graylane/node/status`. Throws only on bad options.
 *
 * @example
 * ```ts
 * import { createGraylane, createStatusHandler } from '@graylane/web';
 * const gray = createGraylane({ config: { versions: ['stable', 'beta'], default: 'stable', rules: [] } });
 * const status = createStatusHandler({ graylane: gray, enabled: true, token: 'replace-with-a-long-random-token' });
 * export default {
 *   fetch: (request: Request) =>
 *     status.handle(request) ?? gray.handle(request, (_req, { decision }) => new Response(decision.version)),
 * };
 * ```
 */
export function createStatusHandler(options: WebStatusHandlerOptions): WebStatusHandler {
  if (typeof options?.graylane !== 'object' || options.graylane === null)
    throw new GraylaneError('INVALID_OPTIONS', 'createStatusHandler: graylane is required');
  const { graylane, remoteAddress, nonce, ...rest } = options;
  const stats = graylane.stats;
  const sourceStatus = graylane.sourceStatus;
  const endpoint = createStatusEndpoint({
    ...rest,
    store: graylane.store,
    stats: stats ? () => stats.call(graylane) : undefined,
    sources: sourceStatus
      ? {
          status: () => {
            const status = sourceStatus.call(graylane);
            return status === undefined
              ? { state: 'ready', sources: [] }
              : { state: status.state, sources: [{ name: 'edge', status }] };
          },
        }
      : undefined,
    randomNonce,
  });
  const pathOf = (request: Request): string => {
    try {
      return new URL(request.url).pathname;
    } catch {
      return '';
    }
  };
  return {
    matches: (request) => endpoint.matches(pathOf(request)),
    handle(request) {
      try {
        if (!endpoint.matches(pathOf(request))) return undefined;
        const peer = remoteAddress ? safe(() => remoteAddress(request)) : undefined;
        const appNonce = nonce ? safe(() => nonce(request)) : undefined;
        const answer = endpoint.handle(statusRequestFromFetch(request, peer, appNonce));
        if (answer === undefined) return undefined;
        return new Response(answer.body === '' ? null : answer.body, {
          status: answer.status,
          headers: answer.headers,
        });
      } catch {
        return new Response('status unavailable', {
          status: 500,
          headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
        });
      }
    },
    report: () => endpoint.report(),
    close: () => endpoint.close(),
  };
}

function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
