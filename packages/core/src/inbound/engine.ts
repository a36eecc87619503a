import type { GrayConfig } from '../config/types.js';
import type { ConfigStore } from '../store/types.js';
import { decide } from '../rules/evaluate.js';
import { baggageMemberHeaders, mayHoldMember } from '../markers/baggage.js';
import { mayHoldCookie } from '../markers/cookie.js';
import { mayHoldKey } from '../markers/key-spelling.js';
import type { Decision, DecisionSource } from '../rules/types.js';
import type { DecisionReason, MarkerRejection, MarkerSource } from '../reasons.js';
import { constantTimeEqual } from '../signed/bytes.js';
import type { HmacSha256 } from '../signed/verify.js';
import type { InboundCarrier } from './carrier.js';
import { debugHeaderValue } from './debug.js';
import { extract, type Extraction, type MacCheck } from './extract.js';
import { carrierEdits, withBucketHeader, type CarrierEdits } from './normalize.js';
import { grayRequest, subjectCookieNames, type MintedSubjects } from './request.js';
import { resolveInboundOptions, type ResolvePlatform, type ResolvedInbound } from './resolve.js';
import { mustReevaluate } from './reevaluate.js';
import { stickyCookies, type PendingSignedCookie } from './sticky.js';
import { carrierNeeds, type CarrierNeeds } from './needs.js';
import { unmintedCookieSplits, unmintedCookieWarning } from './subject-check.js';
import { CarrierView, readHeader, readUrl, type KnownReads } from './view.js';
import { DEFAULT_MARKER_COOKIES } from './cookie-names.js';
import { DEFAULT_MARKER_KEY } from './defaults.js';
import { headerSpellings } from './header-spellings.js';
import { MAX_COOKIE_HEADER_BYTES, MAX_QUERY_BYTES, MAX_VERSION_LENGTH } from '../limits.js';
import type { InboundOptions, TrustMode } from './types.js';

/** Where the engine reports what it decided (metrics). Calls are made once per request. */
export interface InboundCounters {
  decision(version: string, reason: DecisionReason, source: DecisionSource): void;
  invalidMarker(source: MarkerSource, reason: MarkerRejection): void;
}

/** What a platform supplies to the engine. Everything else is pure and shared. */
export interface InboundPlatform extends ResolvePlatform {
  /**
   * Synchronous HMAC-SHA256 (Node's `createHmac`). Omit it where HMAC is async (Web Crypto):
   * then verify through {@link InboundEngine.prepare} / {@link InboundEngine.complete} and
   * sign the outcome's `pendingCookies`.
   */
  readonly hmacSha256?: HmacSha256 | undefined;
  /** A fresh random id for anonymous subject cookies (`crypto.randomUUID()`). */
  readonly randomId: () => string;
  /** Decision and invalid-marker counters. */
  readonly counters?: InboundCounters | undefined;
  /**
   * Configuration warnings, once per rule and config (a `cookie:` split nothing sets). Default:
   * none; Node and the Web engine pass `console.warn`.
   */
  readonly warn?: ((message: string) => void) | undefined;
  /**
   * False where a response carries no cookies (gRPC): `sticky` mints no subject id there (one
   * never persisted would bucket every call afresh) and a `cookie:` split keeps its warning,
   * whatever `sticky` says. Default true.
   */
  readonly setsCookies?: boolean | undefined;
}

/** What the engine decided for one request, and what the platform writes back. */
export interface InboundOutcome {
  readonly decision: Decision;
  /** `Set-Cookie` values (sticky cookies), possibly empty. */
  readonly setCookies: readonly string[];
  /** Signed sticky cookies still to be MAC'd (only when the platform has no sync HMAC). */
  readonly pendingCookies: readonly PendingSignedCookie[];
  /** The `X-Gray-Decision` value when `debugHeader` is on. */
  readonly debugHeader: string | undefined;
  /**
   * How the request was (or, without `carrier.edit`, must be) changed so the app and proxies see
   * only the decided version (GW-01/02); undefined when nothing needed changing.
   */
  readonly edits: CarrierEdits | undefined;
  /**
   * The trust this decision was made under: `edge` for an untrusted peer in edge mode, `open` for
   * a trusted one, else the mode. A platform that may decide twice on one request (two layers)
   * reuses a decision only when it was made under at least its own trust (GW-03).
   */
  readonly trust: TrustMode;
}

/** One MAC an async platform must check before {@link InboundEngine.complete}. */
export interface SignatureCheck {
  readonly kid: string;
  /** The raw key bytes for `kid` (import once per kid, e.g. `crypto.subtle.importKey`). */
  readonly key: Uint8Array<ArrayBuffer>;
  /** The bytes the MAC covers. */
  readonly data: Uint8Array<ArrayBuffer>;
  /** The 32-byte MAC the client presented. */
  readonly signature: Uint8Array<ArrayBuffer>;
}

/** A request read and waiting for its signature checks (at most one per carrier, so ≤ 4). */
export interface PreparedInbound {
  readonly signatureChecks: readonly SignatureCheck[];
}

/** The platform-neutral inbound engine every adapter drives. */
export interface InboundEngine<R> {
  readonly options: ResolvedInbound<R>;
  /** Decides, counts and reports one request synchronously. Never throws (I1). */
  evaluate(carrier: InboundCarrier, req: R): InboundOutcome;
  /** Step 1 for async HMAC: reads the request and lists the MACs to check. Never throws. */
  prepare(carrier: InboundCarrier, req: R): PreparedInbound;
  /**
   * Step 2: `verified[i]` says whether `signatureChecks[i]` is a valid MAC. Missing or
   * non-`true` entries fail closed. Decides, counts and reports. Never throws.
   */
  complete(prepared: PreparedInbound, verified: readonly boolean[]): InboundOutcome;
}

interface RequestState<R> {
  readonly config: GrayConfig;
  readonly view: CarrierView;
  readonly req: R;
  readonly now: number;
  readonly honourClient: boolean;
  readonly subject: string | undefined;
}

/**
 * Builds the inbound engine for a platform. Throws only on bad options or an invalid config
 * (construction time); per request it never throws and never rejects (I1, I3).
 *
 * @example
 * ```ts
 * const engine = createInboundEngine({ config, trust: 'open', sticky: true }, {
 *   randomId: () => crypto.randomUUID(),
 * });
 * const outcome = engine.evaluate(fromFetchRequest(request), request);
 * outcome.decision.version; // 'stable' | 'beta' | …
 * ```
 */
export function createInboundEngine<R>(
  options: InboundOptions<R>,
  platform: InboundPlatform,
): InboundEngine<R> {
  const opts = resolveInboundOptions(options, platform);
  const hmac = platform.hmacSha256;
  const cookieNames = opts.cookieNames;
  const counters = platform.counters;
  const prepared = new WeakMap<
    PreparedInbound,
    { state: RequestState<R>; checks: SignatureCheck[] }
  >();

  // A `cookie:` split whose cookie nothing sets serves the default to everyone: say so once per
  // rule, for the initial config and for every reload (never per request).
  const warned = new Set<string>();
  const setsCookies = platform.setsCookies !== false;
  /** The subject cookies sticky mints: none where no cookie can be written (review 133 D2). */
  const minting = (config: GrayConfig): ReadonlySet<string> | undefined =>
    setsCookies ? stickySubjects(opts, config) : undefined;
  const checkSubjects = (config: GrayConfig): void => {
    const warn = platform.warn;
    if (!warn) return;
    try {
      for (const id of unmintedCookieSplits(config, minting(config))) {
        if (warned.has(id)) continue;
        warned.add(id);
        const rule = config.rules.find((r) => r.id === id);
        const names = rule?.kind === 'split' ? rule.bucketChain.map((b) => b.name) : [];
        warn(unmintedCookieWarning(id, names, setsCookies));
      }
    } catch {
      // A warning never breaks construction or a reload.
    }
  };
  checkSubjects(opts.store.get().config);
  const onReload: ReloadCheck = { run: checkSubjects };
  subscribeWhileAlive(opts.store, onReload);

  // The last config's carrier needs: a reload changes the config, most requests do not.
  let needsOf: GrayConfig | undefined;
  let needs: CarrierNeeds | undefined;
  const begin = (carrier: InboundCarrier, req: R, known?: KnownReads): RequestState<R> => {
    let now: number;
    try {
      now = opts.now();
    } catch {
      now = Date.now();
    }
    const honourClient = opts.trust !== 'edge' || safePeer(opts.isTrustedProxy, carrier);
    const subject = opts.trust === 'signed' ? call(opts.subject, req) : undefined;
    const config = opts.store.get().config;
    if (config !== needsOf || needs === undefined) {
      needs = carrierNeeds(config, cookieNames);
      needsOf = config;
    }
    const view = new CarrierView(carrier, needs, cookieNames, known);
    return { config, view, req, now, honourClient, subject };
  };

  /** The rules' decision for a request (the marker decided nothing, or STK-03 asks). */
  const rulesDecision = (
    state: RequestState<R>,
    found: Extraction,
    minted: MintedSubjects,
  ): Decision =>
    decide(
      state.config,
      grayRequest(
        state.view,
        call(opts.attributes, state.req),
        state.now,
        minting(state.config),
        minted,
        platform.randomId,
      ),
      { rejected: found.rejected },
    );

  /** Counts the decision and tells the app; direct calls in try blocks, no closure per request. */
  const report = (d: Decision, req: R): void => {
    if (counters !== undefined) {
      try {
        counters.decision(d.version, d.reason, d.source);
      } catch {
        // Counters supplied by the platform must not break the request (I1).
      }
    }
    if (opts.onDecision) {
      try {
        opts.onDecision(d, req);
      } catch {
        // The app's callback must not break the request (I1).
      }
    }
  };

  const finish = (state: RequestState<R>, checkMac: MacCheck): InboundOutcome => {
    const { config, view, req, now, subject } = state;
    const carrier = view.carrier;
    let decision: Decision;
    let setCookies: readonly string[] = [];
    let pendingCookies: readonly PendingSignedCookie[] = [];
    let found: Extraction = NOTHING_FOUND;
    try {
      const trust = { honourClient: state.honourClient, subject, now, checkMac };
      found = extract(view, opts as ResolvedInbound<never>, config, trust);
      for (const r of found.rejections) countInvalid(counters, r.source, r.reason);
      // Subject ids minted by the rules (a map only when the rules run).
      let minted: MintedSubjects = NO_MINTED;
      let reevaluated = false;
      if (found.version !== undefined && found.source !== undefined) {
        decision = markerDecision(config, found.source, found.version);
        // STK-03: a sticky cookie a `reevaluate` rule could have written follows today's rules.
        if (found.source === 'cookie' && mustReevaluate(config, found.version)) {
          minted = new Map();
          const current = rulesDecision(state, found, minted);
          if (current.version !== found.version) {
            decision = current;
            reevaluated = true;
          }
        }
      } else {
        minted = new Map();
        decision = rulesDecision(state, found, minted);
      }
      const writes = stickyCookies(
        opts as ResolvedInbound<never>,
        { decision, found, minted, tls: arrivedOverTls(opts, carrier), subject, now, reevaluated },
        hmac,
      );
      setCookies = writes.setCookies;
      pendingCookies = writes.pending;
    } catch {
      decision = { version: config.default, reason: 'default', source: 'default' };
    }
    // The closed world (I2): a config's versions are all labels (checked when it was parsed).
    if (typeof decision.version !== 'string' || !config.hasVersion(decision.version)) {
      decision = { version: config.default, reason: 'default', source: 'default' };
    }
    const d = decision;
    let edits: CarrierEdits | undefined;
    try {
      edits = carrierEdits(
        view,
        opts as ResolvedInbound<never>,
        found,
        d,
        state.honourClient,
        cookieNames,
      );
      if (opts.bucketHeader) edits = withBucketHeader(edits, opts.bucketHeader, d, view);
      if (edits && carrier.edit) carrier.edit(edits);
    } catch {
      // A carrier that cannot be edited keeps what it has; the decision stands (I1).
    }
    report(d, req);
    return {
      decision: d,
      setCookies,
      pendingCookies,
      debugHeader: opts.debugHeader ? debugHeaderValue(d) : undefined,
      edits,
      trust: effectiveTrust(opts.trust, state.honourClient),
    };
  };

  const syncMac: MacCheck = (token, key, data) =>
    hmac !== undefined && constantTimeEqual(hmac(key, data), token.signature);

  /**
   * The two common requests decided without the general path's bookkeeping (issue 20), when no
   * carrier holds anything that could be rejected or edited:
   * - a trusted header marker, read first, that is exactly a declared version: the marker decides;
   * - no marker anywhere (the header absent, and no cookie, baggage or query text that could
   *   spell one): the rules decide, on the same view of the request the general path builds.
   * The outcome is the one {@link finish} computes for the same request; anything else takes the
   * general path, starting from the reads made here. Eligible only without sticky cookies (they write), a
   * bucket header or signed trust.
   */
  const fast =
    opts.trust !== 'signed' && opts.sticky === undefined && opts.bucketHeader === undefined;
  const headerFirst = opts.precedence[0] === 'header';
  const cookieCarriers = opts.cookie === false ? DEFAULT_MARKER_COOKIES : cookieNames;
  const baggageKey = opts.baggage === false ? DEFAULT_MARKER_KEY : opts.baggage;
  const queryKey = opts.query === false ? DEFAULT_MARKER_KEY : opts.query;
  const [jaegerMember, otMember] = baggageMemberHeaders(baggageKey);
  type Header = string | readonly string[] | undefined;
  /** The fast path's reads, for the view (made only when a view is). */
  const memberNames = [jaegerMember, otMember] as const;
  // The marker and member headers under their other spellings (`x_gray_id`, GW-02).
  const spellingNames = [opts.header, jaegerMember, otMember].flatMap(headerSpellings);
  const noneSpelled: readonly Header[] = spellingNames.map(() => undefined);
  const reads = (
    url: string | undefined,
    marker: Header,
    cookie: Header,
    baggage: Header,
    members?: readonly [Header, Header],
    spelled?: readonly Header[],
  ): KnownReads => ({
    url,
    markerHeader: opts.header,
    marker,
    cookie,
    baggage,
    memberNames,
    members,
    spellingNames,
    spelled,
  });
  /** The general path, starting from the fast path's reads (no closure per request). */
  const slow = (
    carrier: InboundCarrier,
    req: R,
    url: string | undefined,
    marker: Header,
    cookie: Header,
    baggage: Header,
    members?: readonly [Header, Header],
    spelled?: readonly Header[],
  ): InboundOutcome =>
    finish(begin(carrier, req, reads(url, marker, cookie, baggage, members, spelled)), syncMac);
  const quick = (carrier: InboundCarrier, req: R): InboundOutcome => {
    const config = opts.store.get().config;
    // Read as the view reads (a read that throws is absent); the general path starts from these
    // reads when a check below sends the request there (AMP-02: no carrier is read twice).
    const raw = readHeader(carrier, opts.header);
    const cookie = readHeader(carrier, 'cookie');
    const baggage = readHeader(carrier, 'baggage');
    const url = readUrl(carrier);
    const q = url === undefined ? -1 : url.indexOf('?');
    // Edge and signed mode: text after a `;` that could spell a marker to a hop splitting there
    // (reviews 113 D1, 116 D3).
    const semi = opts.trust !== 'open' && url !== undefined ? url.indexOf(';') : -1;
    // The general path for anything a carrier holds that could be rejected or edited: a header
    // marker that is not exactly a declared version read first, or cookie, baggage or query text
    // that could spell a marker (past its cap a query string reads `too_long`, a rejection), or a
    // `gray` member in a Jaeger or OT header.
    if (
      (raw !== undefined &&
        !(
          headerFirst &&
          typeof raw === 'string' &&
          raw.length <= MAX_VERSION_LENGTH &&
          config.hasVersion(raw)
        )) ||
      !cleanOf(cookie, cookieCarriers, MAX_COOKIE_HEADER_BYTES) ||
      (baggage !== undefined &&
        !(typeof baggage === 'string' && !mayHoldMember(baggage, baggageKey))) ||
      (url !== undefined &&
        q !== -1 &&
        (mayHoldKey(url, queryKey, q + 1) || (raw === undefined && tooLongQuery(url, q)))) ||
      (semi !== -1 && mayHoldKey(url as string, queryKey, semi + 1))
    )
      return slow(carrier, req, url, raw, cookie, baggage);
    // The member in another propagator's header of its own, which `carrierEdits` judges.
    const jaeger = readHeader(carrier, jaegerMember);
    const ot = readHeader(carrier, otMember);
    if (jaeger !== undefined || ot !== undefined)
      return slow(carrier, req, url, raw, cookie, baggage, [jaeger, ot]);
    // Those headers under another spelling (`x_gray_id`), which `carrierEdits` removes: a few
    // lookups, nothing allocated unless one is there.
    let spelled: Header[] | undefined;
    for (let i = 0; i < spellingNames.length; i++) {
      const value = readHeader(carrier, spellingNames[i] as string);
      if (value !== undefined) (spelled ??= [...noneSpelled])[i] = value;
    }
    if (spelled !== undefined)
      return slow(carrier, req, url, raw, cookie, baggage, NO_MEMBERS, spelled);
    let d: Decision;
    let trust = opts.trust;
    if (raw !== undefined) {
      if (trust === 'edge') {
        if (!safePeer(opts.isTrustedProxy, carrier))
          return slow(carrier, req, url, raw, cookie, baggage, NO_MEMBERS, noneSpelled);
        trust = 'open';
      }
      d = markerDecision(config, 'header', raw);
    } else {
      const state = begin(carrier, req, reads(url, raw, cookie, baggage, NO_MEMBERS, noneSpelled));
      trust = effectiveTrust(trust, state.honourClient);
      try {
        d = rulesDecision(state, NOTHING_FOUND, NO_MINTED);
      } catch {
        d = { version: config.default, reason: 'default', source: 'default' };
      }
      // The closed world (I2), as in `finish`.
      if (typeof d.version !== 'string' || !config.hasVersion(d.version))
        d = { version: config.default, reason: 'default', source: 'default' };
    }
    report(d, req);
    return {
      decision: d,
      setCookies: NO_STRINGS,
      pendingCookies: NO_PENDING,
      debugHeader: opts.debugHeader ? debugHeaderValue(d) : undefined,
      edits: undefined,
      trust,
    };
  };

  const engine: InboundEngine<R> = {
    options: opts,
    evaluate: (carrier, req) => (fast ? quick(carrier, req) : finish(begin(carrier, req), syncMac)),
    prepare(carrier, req) {
      const state = begin(carrier, req);
      const checks: SignatureCheck[] = [];
      if (opts.trust === 'signed' && state.honourClient) {
        try {
          const record: MacCheck = (token, key, data) => {
            checks.push({ kid: token.kid, key, data, signature: token.signature });
            return false;
          };
          const trust = {
            honourClient: true,
            subject: state.subject,
            now: state.now,
            checkMac: record,
          };
          extract(state.view, opts as ResolvedInbound<never>, state.config, trust);
        } catch {
          // Nothing to check: every signed marker fails closed in `complete`.
        }
      }
      const handle: PreparedInbound = { signatureChecks: checks };
      prepared.set(handle, { state, checks });
      return handle;
    },
    complete(handle, verified) {
      const entry = prepared.get(handle);
      if (!entry) return defaultOutcome(opts);
      prepared.delete(handle);
      let i = 0;
      const answered: MacCheck = (token, _key, data) => {
        const check = entry.checks[i];
        const ok = verified[i] === true;
        i++;
        return (
          ok &&
          check !== undefined &&
          check.kid === token.kid &&
          constantTimeEqual(check.signature, token.signature) &&
          constantTimeEqual(check.data, data)
        );
      };
      return finish(entry.state, answered);
    },
  };
  // The reload check lives as long as the engine, and no longer (see subscribeWhileAlive).
  reloadChecks.set(engine, onReload);
  return engine;
}

/** What an engine does when its store's rules change (warn about splits nothing mints). */
interface ReloadCheck {
  readonly run: (config: GrayConfig) => void;
}

/** Engine → its reload check: the only strong reference to the check. */
const reloadChecks = new WeakMap<object, ReloadCheck>();

/**
 * A weak reference to `check`; a strong one where the runtime has no `WeakRef` (Workers without
 * `enable_weak_ref`). Its own function, so no closure of the caller's captures `check`.
 */
function weakly(check: ReloadCheck): { deref(): ReloadCheck | undefined } {
  if (typeof WeakRef === 'function') return new WeakRef(check);
  return { deref: () => check };
}

/**
 * Unsubscribes the listeners of engines that were garbage-collected. Made on first use (a
 * module-level `new FinalizationRegistry` would keep this code in every browser bundle that
 * imports core); absent where the runtime has none (Workers without `enable_weak_ref`).
 */
let collector: FinalizationRegistry<() => void> | undefined;
function unsubscribeCollected(): FinalizationRegistry<() => void> | undefined {
  if (collector === undefined && typeof FinalizationRegistry === 'function')
    collector = new FinalizationRegistry<() => void>((off) => {
      try {
        off();
      } catch {
        // A store whose unsubscribe throws keeps a listener that does nothing.
      }
    });
  return collector;
}

/**
 * Subscribes `check` to `store`'s change events for as long as the engine holding it lives. A
 * store usually outlives the engines built on it (one store shared by several layers, an engine
 * per test or per router): a listener holding the engine would keep every engine, its options and
 * its counters alive for as long as the store. The listener holds the check weakly, is removed
 * once the engine is collected (and at the latest on the next event), and is made here, outside
 * `createInboundEngine`, so it captures nothing of the engine's scope.
 */
function subscribeWhileAlive(store: ConfigStore, check: ReloadCheck): void {
  try {
    const ref = weakly(check);
    let off: (() => void) | undefined;
    const unsubscribe = store.subscribe((event) => {
      const live = ref.deref();
      if (live === undefined) {
        unsubscribeCollected()?.unregister(ref);
        const stop = off;
        off = undefined;
        stop?.();
        return;
      }
      if (event.type === 'change') live.run(event.snapshot.config);
    });
    if (typeof unsubscribe === 'function') {
      off = unsubscribe;
      unsubscribeCollected()?.register(check, unsubscribe, ref);
    }
  } catch {
    // A store without events gets the initial check only.
  }
}

function defaultOutcome(opts: ResolvedInbound<never>): InboundOutcome {
  const config = opts.store.get().config;
  return {
    decision: { version: config.default, reason: 'default', source: 'default' },
    setCookies: [],
    pendingCookies: [],
    debugHeader: undefined,
    edits: undefined,
    trust: opts.trust,
  };
}

/** The empty minted-subject map: never written (only the rules' request mints). */
const NO_MINTED: MintedSubjects = new Map();

/**
 * The decision for a marker that named `version` on `source`, one frozen object per config,
 * source and version (a header-marker request allocates no decision of its own, issue 20).
 * Versions outside the config are not cached (the caller replaces them with the default).
 */
function markerDecision(config: GrayConfig, source: MarkerSource, version: string): Decision {
  if (!config.hasVersion(version)) return { version, reason: source, source };
  let bySource = lastConfig === config ? lastBySource : markerDecisions.get(config);
  if (bySource === undefined) markerDecisions.set(config, (bySource = new Map()));
  lastConfig = config;
  lastBySource = bySource;
  let byVersion = bySource.get(source);
  if (byVersion === undefined) bySource.set(source, (byVersion = new Map()));
  let d = byVersion.get(version);
  if (d === undefined) {
    d = Object.freeze({ version, reason: source, source });
    byVersion.set(version, d);
  }
  return d;
}

const markerDecisions = new WeakMap<GrayConfig, Map<MarkerSource, Map<string, Decision>>>();
/** The config in force is the same for request after request: skip the `WeakMap` for it. */
let lastConfig: GrayConfig | undefined;
let lastBySource: Map<MarkerSource, Map<string, Decision>> | undefined;

const NO_STRINGS: readonly string[] = [];
/** Neither member header was on the request (read by the fast path). */
const NO_MEMBERS = [undefined, undefined] as const;
const NO_PENDING: readonly PendingSignedCookie[] = [];

/** True when the query string after `?` at `q` is over the cap the query readers enforce. */
function tooLongQuery(url: string, q: number): boolean {
  return url.length - q - 1 > MAX_QUERY_BYTES;
}

/**
 * True when a cookie header is absent, or a string within the byte cap that could hold no
 * spelling of `names` (`mayHoldCookie`: `GRAY=beta` is a marker to nginx and ASP.NET Core,
 * `gray[0]=beta` to PHP, which `carrierEdits` removes: CK-10, GW-02; past the cap every marker
 * cookie reads `too_long`, which the general path removes).
 */
function cleanOf(
  header: string | readonly string[] | undefined,
  names: readonly string[],
  cap: number,
): boolean {
  if (header === undefined) return true;
  if (typeof header !== 'string' || header.length > cap) return false;
  return !mayHoldCookie(header, names);
}

const NOTHING_FOUND: Extraction = {
  version: undefined,
  source: undefined,
  token: undefined,
  rejected: undefined,
  rejections: [],
};

/**
 * True when the client's request came over TLS: to this server, or to a TLS-terminating proxy in
 * `trustedProxies` that says so in `X-Forwarded-Proto` (its last value, the one that peer set or
 * appended). Decides `Secure` and
 * the `__Host-` name of sticky cookies, so a site behind a load balancer writes the cookie the
 * browser SDK writes on the same https origin. From any other peer the header is ignored.
 */
function arrivedOverTls(
  opts: { isTrustedProxy: (a: string | undefined) => boolean },
  carrier: InboundCarrier,
): boolean {
  if (carrier.secure) return true;
  try {
    const raw = carrier.header('x-forwarded-proto');
    const value = typeof raw === 'string' ? raw : raw?.[0];
    if (value === undefined || value.length > 256) return false;
    // The last value: the one the trusted peer set or appended (a client may send its own first).
    const last = value
      .slice(value.lastIndexOf(',') + 1)
      .trim()
      .toLowerCase();
    return last === 'https' && safePeer(opts.isTrustedProxy, carrier);
  } catch {
    return false;
  }
}

function safePeer(
  isTrusted: (addr: string | undefined) => boolean,
  carrier: InboundCarrier,
): boolean {
  try {
    return isTrusted(carrier.remoteAddress);
  } catch {
    return false;
  }
}

function effectiveTrust(mode: TrustMode, honourClient: boolean): TrustMode {
  return mode === 'edge' && honourClient ? 'open' : mode;
}

function stickySubjects(
  opts: ResolvedInbound<never>,
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

function call<R, T>(fn: ((req: R) => T) | undefined, req: R): T | undefined {
  if (!fn) return undefined;
  try {
    return fn(req);
  } catch {
    return undefined;
  }
}

function countInvalid(
  counters: InboundCounters | undefined,
  source: MarkerSource,
  reason: MarkerRejection,
): void {
  try {
    counters?.invalidMarker(source, reason);
  } catch {
    // Counters supplied by the platform must not break the request (I1).
  }
}
