import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { safeLogger, type SourceLogger } from '@graylane/core';
import { compileOutbound, type OutboundOptions } from '../outbound/options.js';
import { http2State } from '../outbound/state.js';
import {
  onHttp2Created,
  onHttp2Request,
  onHttpCreated,
  onHttpStart,
  onUndiciCreate,
  onUndiciSendHeaders,
} from './departures.js';
import { coverageState, type CoverageInstall } from './state.js';

/** Options of {@link installCoverage}. */
export interface CoverageOptions extends OutboundOptions {
  /**
   * Where a call that left without the marker is reported, once per call site (`warn`).
   * Default: the console.
   */
  readonly logger?: SourceLogger | undefined;
  /**
   * Count (and log) calls made with no lane bound while an inbound request is in flight:
   * `unbound`. Default `true`. Turn it off in a process that also calls itself with no lane
   * (a demo or a test driving its own servers), where such calls are expected.
   */
  readonly unbound?: boolean | undefined;
}

/** The diagnostics channels coverage listens to, and what it does on each. */
const CHANNELS: readonly (readonly [string, (message: unknown) => void])[] = [
  // node:http(s) and every client built on it (axios, got, follow-redirects, …). `created` is
  // Node ≥ 22.13: it gives the call site; `start` (every version) is published with the final head.
  ['http.client.request.created', onHttpCreated],
  ['http.client.request.start', onHttpStart],
  // Global fetch (Node's bundled undici) and npm undici: every request, each redirect hop too.
  ['undici:request:create', onUndiciCreate],
  ['undici:client:sendHeaders', onUndiciSendHeaders],
  // node:http2 client streams (gRPC included): Node publishes `created` on the 22 and 24
  // releases that have it; installGlobal's HTTP/2 patch announces what it judged on every Node.
  ['http2.client.stream.created', onHttp2Created],
  // Inbound requests in flight: an outbound call with no lane bound meanwhile is `unbound`.
  ['http.server.request.start', onServerRequest],
];

/**
 * Propagation coverage: watches every outbound HTTP request the process makes — wrapped by
 * graylane or not — through Node's diagnostics channels, and counts, per destination, the calls
 * made inside a lane that `carried` the marker, that left an allowlisted destination without it
 * (`missing`: the lane broke there; logged once per call site with the app's frames), and that
 * were correctly `withheld` from a destination that is not allowlisted. A call made with no lane
 * bound while a request is in flight counts as `unbound` (a callback that lost its context).
 *
 * "Allowlisted" is judged by the allowlist of the graylane call that made the request
 * (`withGray`, `grayInterceptor`), else `allowHosts` here, else `installGlobal`'s, else the
 * middleware's. Off by default; nothing happens on import. Installs at most once per process —
 * a second call returns a no-op — and the returned function uninstalls it (idempotent); the
 * counts stay readable in {@link coverageStats}. Throws only on a bad `allowHosts` entry.
 *
 * @example
 * ```ts
 * import { coverageStats, installCoverage } from '@graylane/node';
 *
 * const uninstall = installCoverage({ allowHosts: ['orders.internal'] });
 * // … later: where did the lane break?
 * for (const row of coverageStats().destinations)
 *   if (row.missing > 0) console.log(row.destination, row.missing, row.lastMissingSite);
 * uninstall();
 * ```
 */
export function installCoverage(options: CoverageOptions = {}): () => void {
  const state = coverageState();
  if (state.install) return function graylaneCoverageAlreadyInstalled() {};
  const install: CoverageInstall = {
    allow: compileOutbound(options),
    logger: safeLogger(options.logger),
    unbound: options.unbound !== false,
    uninstall: function graylaneCoverageUninstall(): void {
      if (state.install !== install) return;
      for (const [name, listener] of channels) unsubscribe(name, listener);
      http2State().onRequest.delete(onHttp2Request);
      state.install = undefined;
    },
  };
  const channels = install.unbound ? CHANNELS : CHANNELS.filter(([, l]) => l !== onServerRequest);
  state.install = install;
  for (const [name, listener] of channels) subscribe(name, listener);
  http2State().onRequest.add(onHttp2Request);
  return install.uninstall;
}

function onServerRequest(message: unknown): void {
  try {
    const response = (message as { response?: { once?: unknown } } | undefined)?.response;
    if (typeof response?.once !== 'function') return;
    coverageState().inFlight++;
    (response as { once(event: string, fn: () => void): void }).once('close', requestClosed);
  } catch {
    // I1
  }
}

function requestClosed(): void {
  const state = coverageState();
  state.inFlight = Math.max(0, state.inFlight - 1);
}
