import { decide, isVersionLabel, type Decision, type GrayConfig } from '@graylane/core';
import { GrayStore } from '../context/storage.js';
import { DecisionCounters, type GraylaneStats } from '../metrics/stats.js';
import { signMarker } from '../signing/sign.js';
import type { InboundCarrier } from './carrier.js';
import { formatSetCookie, isSafeCookieValue } from './cookies.js';
import { extract, type Extraction } from './extract.js';
import { grayRequest, subjectCookieNames, type MintedSubjects } from './request.js';
import { resolveOptions, type EngineOptions, type ResolvedOptions } from './resolve.js';

/** What the engine decided for one request, and what the adapter writes back. */
export interface InboundOutcome {
  readonly decision: Decision;
  /** The context to bind around the handler. */
  readonly store: GrayStore;
  /** `Set-Cookie` values (sticky cookies), possibly empty. */
  readonly setCookies: readonly string[];
  /** The `X-Gray-Decision` value when `debugHeader` is on. */
  readonly debugHeader: string | undefined;
}

/** The framework-neutral inbound engine every adapter drives. */
export interface InboundEngine<R> {
  readonly options: ResolvedOptions<R>;
  /** Decides, counts and reports one request. Never throws (I1). */
  evaluate(carrier: InboundCarrier, req: R): InboundOutcome;
  stats(): GraylaneStats;
}

/** @internal Builds the engine; throws only on bad options or config (construction time). */
export function createEngine<R>(options: EngineOptions<R>): InboundEngine<R> {
  const opts = resolveOptions(options);
  const counters = new DecisionCounters();

  const evaluate = (carrier: InboundCarrier, req: R): InboundOutcome => {
    const config = opts.store.get().config;
    let decision: Decision;
    let setCookies: string[] = [];
    try {
      const now = opts.now();
      const honourClient = opts.trust !== 'edge' || isTrustedPeer(opts, carrier);
      const subject = opts.trust === 'signed' ? call(opts.subject, req) : undefined;
      const found = extract(carrier, opts, config, { honourClient, subject, now });
      for (const r of found.rejections) counters.invalidMarker(r.source, r.reason);
      // Edge mode: strip the client's header so proxies behind us never forward it (HDR-14).
      if (!honourClient && carrier.strip) safe(() => carrier.strip?.(opts.header));
      const minted: MintedSubjects = new Map();
      decision =
        found.version !== undefined && found.source !== undefined
          ? { version: found.version, reason: found.source, source: found.source }
          : decide(
              config,
              grayRequest(
                carrier,
                call(opts.attributes, req),
                now,
                stickySubjects(opts, config),
                minted,
              ),
              { rejected: found.rejected },
            );
      setCookies = stickyCookies(opts, decision, found, minted, carrier.secure, subject, now);
    } catch {
      decision = { version: config.default, reason: 'default', source: 'default' };
    }
    if (!isVersionLabel(decision.version) || !config.hasVersion(decision.version)) {
      decision = { version: config.default, reason: 'default', source: 'default' };
    }
    counters.decision(decision.version, decision.reason, decision.source);
    if (opts.onDecision) safe(() => opts.onDecision?.(decision, req));
    return {
      decision,
      store: new GrayStore(decision, opts.allow, opts.header, opts.baggage),
      setCookies,
      debugHeader: opts.debugHeader ? debugValue(decision) : undefined,
    };
  };

  return { options: opts, evaluate, stats: () => counters.snapshot() };
}

function isTrustedPeer(opts: ResolvedOptions<never>, carrier: InboundCarrier): boolean {
  const addr = carrier.remoteAddress;
  return addr !== undefined && opts.trustedProxies.has(addr);
}

function stickySubjects(
  opts: ResolvedOptions<never>,
  config: GrayConfig,
): ReadonlySet<string> | undefined {
  const sticky = opts.sticky;
  if (!sticky || sticky.subjectCookie === false) return undefined;
  const names = subjectCookieNames(config);
  if (typeof sticky.subjectCookie === 'string') {
    return names.has(sticky.subjectCookie) ? new Set([sticky.subjectCookie]) : undefined;
  }
  return names.size > 0 ? names : undefined;
}

/**
 * Sticky cookies: minted subject ids, and the version cookie after a weighted assignment or
 * when the client's cookie marker was ignored (PREC-03: rewritten on the next response). A
 * marker from a header or the query is never persisted (QS-02: this request only).
 */
function stickyCookies(
  opts: ResolvedOptions<never>,
  decision: Decision,
  found: Extraction,
  minted: MintedSubjects,
  tls: boolean,
  subject: string | undefined,
  now: number,
): string[] {
  const sticky = opts.sticky;
  if (!sticky) return [];
  const out: string[] = [];
  for (const [name, id] of minted) out.push(formatSetCookie(name, id, sticky, tls));
  const cookieRejected = found.rejections.some((r) => r.source === 'cookie');
  const persist = decision.reason === 'weight' || (cookieRejected && found.source !== 'cookie');
  if (sticky.cookie && opts.cookie !== false && opts.trust !== 'edge' && persist) {
    const value =
      opts.trust === 'signed'
        ? signedCookie(opts, decision.version, sticky.maxAgeSeconds, subject, now)
        : decision.version;
    if (value !== undefined && isSafeCookieValue(value))
      out.push(formatSetCookie(opts.cookie, value, sticky, tls));
  }
  return out;
}

/** Signed mode: the version cookie holds a signed token; undefined when it cannot be signed. */
function signedCookie(
  opts: ResolvedOptions<never>,
  version: string,
  ttlSeconds: number,
  subject: string | undefined,
  now: number,
): string | undefined {
  if (!opts.signingKey || !opts.signingKid) return undefined;
  try {
    return signMarker(version, {
      key: opts.signingKey,
      kid: opts.signingKid,
      ttlSeconds,
      ...(subject === undefined ? {} : { subject }),
      now: () => now,
    });
  } catch {
    return undefined;
  }
}

/** `version=beta; reason=weight; source=rules; rule=ramp; bucket=42` — closed sets and rule ids only. */
function debugValue(d: Decision): string {
  let v = `version=${d.version}; reason=${d.reason}; source=${d.source}`;
  if (d.ruleId !== undefined) v += `; rule=${d.ruleId}`;
  if (d.bucket !== undefined) v += `; bucket=${d.bucket}`;
  return v;
}

function call<R, T>(fn: ((req: R) => T) | undefined, req: R): T | undefined {
  if (!fn) return undefined;
  try {
    return fn(req);
  } catch {
    return undefined;
  }
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // Callbacks supplied by the app must not break the request (I1).
  }
}
