import { subscribe } from 'node:diagnostics_channel';
import {
  DEFAULT_MARKER_KEY,
  removeBaggageMember,
  setBaggageMember,
  type Allowlist,
} from '@graylane/core';
import type { GrayStore } from '../context/storage.js';
import { countOutbound } from '../metrics/stats.js';
import { bindRequestCallbacks } from './bind.js';
import { wrapGlobalDispatcher } from './global-dispatcher.js';
import { flatAccess, listToRaw, rawToList } from './header-list.js';
import { guardConnection, noteCreated, watchConnections } from './hop-connection.js';
import {
  alignMember,
  applyHop,
  cleanHop,
  dropMember,
  flatOps,
  memberHeaders,
  setMemberHeaders,
  type HeaderOps,
} from './hop-headers.js';
import { requestOrigin, type Origin } from './origin.js';
import { judgeBare, judgeHop, planCall, type HopPlan } from './plan.js';
import { outboundState } from './state.js';
import { undiciTarget } from './targets.js';

const CHANNEL = 'undici:request:create';

/** The part of undici's internal `Request` published on `undici:request:create` (undici 5–7). */
interface UndiciRequestLike {
  readonly origin?: unknown;
  readonly path?: unknown;
  readonly method?: unknown;
  headers?: unknown;
}

/**
 * Subscribes graylane's listener to `undici:request:create` once per process (state shared by
 * every ESM/CJS copy). Node's bundled undici (global `fetch`) and npm undici publish it
 * synchronously for every request — every hop of a redirect chain too — before the head is
 * written. Called when an outbound integration is first set up, never on import.
 */
export function ensureHopGuard(): void {
  const state = outboundState();
  if (state.guard) return;
  state.guard = true;
  subscribe(CHANNEL, onRequestCreate);
  watchConnections();
}

/**
 * For each undici request, from the context of the code that made the call (its origin, see
 * origin.ts — not necessarily the context undici creates it in, I7):
 * 1. its callbacks run in that context (CTX-12; redirects re-dispatched from them are then
 *    created in the caller's context too);
 * 2. inside a wrapper-level call (`withGray`, `grayInterceptor`): a hop whose target is not
 *    allowlisted loses the marker that call added and any `gray` member (RDR-01/02). Removal
 *    only: the marker itself was added where the decision was made — except for a
 *    `grayInterceptor` dispatch with no `origin` (a Client's or Pool's own, known only here):
 *    judged on the request's origin, the marker added when the caller is proven;
 * 3. with `installGlobal()`: a hop no graylane hook judged at dispatch is judged on its own
 *    target — the marker added only when the caller's context is proven, removed always;
 * 4. the `baggage` header(s) (OpenTelemetry's undici instrumentation appends its own) become one,
 *    with `gray` at most once (OUT-01) and, on a hop not provably this caller's, none that
 *    OpenTelemetry copied from the context undici created it in (I7, OTB-01);
 * 5. written on a connection that does not prove it reaches the request's origin (a `connect`
 *    function of the caller's, a `socketPath`: hop-connection.ts), it loses the marker and any
 *    `gray` member before the head is written (CTX-13).
 * Listeners run in subscription order: subscribed after OpenTelemetry's SDK, this one sees what
 * its instrumentation added (OTB-01). Never throws.
 */
function onRequestCreate(message: unknown): void {
  try {
    const request = (message as { request?: UndiciRequestLike } | undefined)?.request;
    if (typeof request !== 'object' || request === null) return;
    const state = outboundState();
    if (state.install?.undici) wrapGlobalDispatcher();
    const origin = requestOrigin(request);
    for (const listener of state.onCreate) listener(request, origin);
    bindRequestCallbacks(request, origin);
    // undici < 6.7 (npm 5.x, 6.0–6.6; the undici of Node 20 releases before it) keeps the head
    // as one "name: value\r\n" string: judged as a list like undici ≥ 6.7's, written back.
    const raw = typeof request.headers === 'string' ? request.headers : undefined;
    const list = Array.isArray(request.headers)
      ? (request.headers as unknown[])
      : raw === undefined
        ? undefined
        : rawToList(raw);
    noteCreated(request, origin, list);
    judgeRequest(request, origin, list);
    if (raw !== undefined && list !== undefined) {
      const next = listToRaw(list);
      if (next !== raw) request.headers = next;
    }
    guardConnection(request);
  } catch {
    // I1: the request proceeds as undici built it.
  }
}

function judgeRequest(
  request: UndiciRequestLike,
  origin: Origin,
  list: unknown[] | undefined,
): void {
  const install = outboundState().install;
  const { store, note } = origin;
  if (store === undefined && note === undefined) {
    if (!list) return;
    // With `installGlobal({ allowHosts })`, a hop outside them gets no marker, lane or not (I8):
    // the `gray` member OpenTelemetry copied from a context graylane did not make (an OTel-only
    // hop, a job under `setGrayBaggage`) included. Without allowHosts of its own installGlobal
    // has no allowlist for a call with no lane (its default is the deciding middleware's).
    const allow = install?.undici ? install.allow : undefined;
    if (allow !== undefined) cleanHop(flatOps(list), () => judgeBare(allow, targetOf(request)));
    // A caller with no lane whose call was created later, from another request's context (a
    // call queued on a connection-limited pool): OpenTelemetry's undici instrumentation copied
    // that context's `gray` member onto it (I7). Created inside the caller's own dispatch, the
    // baggage is the caller's and stays.
    if (origin.proof !== 'none' && outboundState().dispatching !== origin)
      dropMember(flatOps(list), DEFAULT_MARKER_KEY);
    return;
  }
  const target = targetOf(request);
  let plan: HopPlan | undefined;
  let allowed = false;
  const proven = origin.proof !== 'none';
  if (note?.atCreate === true) {
    // A dispatch with no origin (a Client's or Pool's own): judged here, on the request's.
    plan = note;
    allowed = judgeHop(note, target, proven);
    if (list) applyHop(note, allowed, flatOps(list), proven);
  } else if (note !== undefined) {
    plan = note;
    allowed = judgeHop(note, target, false);
    if (list) removeOutside(note, allowed, list);
  }
  if (install?.undici && store !== undefined && !origin.judged) {
    const global = globalHop(list, store, install.allow, target, proven);
    // A wrapper-level call's plan is the more specific one: installGlobal then sees the marker
    // that call added as the caller's.
    if (global && (note === undefined || !global.plan.callerOwns)) ({ plan, allowed } = global);
  }
  if (list && plan) mergeBaggage(list, plan, allowed, proven, plan === note);
}

/** Where `request`'s head goes (a `CONNECT`'s: nowhere the marker may, targets.ts). */
function targetOf(request: UndiciRequestLike): string | readonly string[] | undefined {
  return undiciTarget(request.origin, request.path, request.method);
}

/** How many requests of each wrapper-level call the listener has seen (for counting). */
const sightings = new WeakMap<HopPlan, number>();

/**
 * Step 2: a hop outside the allowlist loses the marker. Counted per hop like everywhere else,
 * except a call's first request: that one was counted where the call was planned.
 */
function removeOutside(note: HopPlan, allowed: boolean, list: unknown[]): void {
  const ops = flatOps(list);
  const carried = !note.callerOwns && ops.values(note.header).length > 0;
  applyHop(note, allowed, ops, false);
  const seen = (sightings.get(note) ?? 0) + 1;
  sightings.set(note, seen);
  if (seen > 1 && carried) countOutbound(allowed ? 'injected' : 'skipped_host');
}

/**
 * Step 3. `proven`: the store is the caller's, so an allowlisted hop gets the marker; otherwise
 * the store may be another request's (a queued call created from its context): the hop is only
 * cleaned for a target that is not allowlisted, and counted `skipped_context`.
 */
function globalHop(
  list: unknown[] | undefined,
  store: GrayStore,
  allow: Allowlist | undefined,
  target: string | readonly string[] | undefined,
  proven: boolean,
): { plan: HopPlan; allowed: boolean } | undefined {
  const plan = planCall(allow, flatAccess(list ?? []), store);
  if (!plan) return undefined;
  const allowed = judgeHop(plan, target, proven);
  if (!proven && !plan.callerOwns) countOutbound(allowed ? 'skipped_context' : 'skipped_host');
  if (list) applyHop(plan, allowed, flatOps(list), proven);
  return { plan, allowed };
}

/**
 * The `baggage` header(s) of a hop — ours, the app's, and the one OpenTelemetry's undici
 * instrumentation appends — become one list: identical members once (W3C: producers SHOULD
 * avoid duplicate keys), and on an allowlisted hop the marker exactly once, first (OUT-01). Not
 * provably this caller's (a call undici may have created from another request's context): no
 * `gray` member from an appended instrumentation value (I7, OTB-01) — one value alone too, which
 * may be nothing but OpenTelemetry's copy of that other request's baggage. The first value of a
 * wrapper-level call (`firstIsOurs`) is the one `withGray` wrote in the caller's context and
 * `removeOutside` judged for this hop: it stays as written (a `Request` input, planned for the
 * listener, lost its member, OTB-04). Alone, it is taken for `withGray`'s only beside the marker
 * header `withGray` writes with it: otherwise it is OpenTelemetry's (`withGray` wrote none).
 * A value with nothing to merge or clean is left as written.
 */
function mergeBaggage(
  list: unknown[],
  plan: HopPlan,
  allowed: boolean,
  proven: boolean,
  firstIsOurs: boolean,
): void {
  const ops = flatOps(list);
  mergeValues(ops, plan, allowed, proven, firstIsOurs);
  // A caller's marker and the `gray` member OpenTelemetry appended beside it say one version.
  if (allowed && plan.callerOwns && plan.baggageKey !== false)
    alignMember(ops, plan.header, plan.baggageKey);
}

function mergeValues(
  ops: HeaderOps,
  plan: HopPlan,
  allowed: boolean,
  proven: boolean,
  firstIsOurs: boolean,
): void {
  // The member switched off (`markers: { baggage: false }`): none under its default name, on
  // any hop (see `applyHop`), OpenTelemetry's appended one included.
  const off = plan.baggageKey === false;
  const key = plan.baggageKey === false ? DEFAULT_MARKER_KEY : plan.baggageKey;
  const keepOurs = allowed && proven && !plan.callerOwns && !off;
  // Outside the allowlist no `gray` member passes, not even one beside the caller's marker (I8).
  const drop = off || !allowed || (!keepOurs && !plan.callerOwns);
  // The member in a header of its own (Jaeger's, OT's): the decided version, or none.
  if (keepOurs) setMemberHeaders(ops, key, plan.version);
  else if (drop) for (const name of memberHeaders(key)) ops.remove(name);
  const values = ops.values('baggage');
  if (values.length === 0) return;
  if (values.length === 1 && !keepOurs && !drop) return;
  // One value that cannot hold the member (neither its key nor an escape): nothing to drop.
  if (values.length === 1 && !keepOurs && !values[0]!.includes(key) && !values[0]!.includes('%'))
    return;
  // The common allowlisted hop: one value, already the marker first and only (nothing to do).
  if (values.length === 1 && keepOurs && alreadyOurs(values[0]!, `${key}=${plan.version}`)) return;
  // withGray writes no member when it is switched off: the first value is not ours then.
  const ours = !off && firstIsOurs && (values.length > 1 || ops.values(plan.header).length > 0);
  const parts = values.map((v, i) =>
    drop && !(ours && i === 0) ? (removeBaggageMember([v], key) ?? '') : v,
  );
  const members = [...new Set(parts.flatMap((v) => v.split(',')).map((m) => m.trim()))].filter(
    (m) => m.length > 0,
  );
  if (keepOurs) ops.set('baggage', setBaggageMember(members, key, plan.version));
  else if (members.length > 0) ops.set('baggage', members.join(','));
  else ops.remove('baggage');
}

/** `value` is `member` alone, or `member` first with no other member of that key after it. */
function alreadyOurs(value: string, member: string): boolean {
  if (value === member) return true;
  if (!value.startsWith(`${member},`)) return false;
  const key = member.slice(0, member.indexOf('='));
  const rest = value.slice(member.length + 1);
  // An escaped key may spell it (`%67ray`): only a rest with no `%` is judged by its text.
  return (
    !rest.includes('%') &&
    !rest.split(',').some((m) => {
      const t = m.trimStart();
      return t.startsWith(key) && /^(?:[\s=;]|$)/.test(t.slice(key.length));
    })
  );
}
