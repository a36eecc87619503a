import { OutgoingMessage, validateHeaderValue } from 'node:http';
import type { Allowlist } from '@graylane/core';
import { currentStore, type GrayStore } from '../context/storage.js';
import { nodeArrayHeaders } from './header-list.js';
import {
  applyHop,
  cleanHop,
  clientRequestOps,
  objectOps,
  type ClientRequestLike,
  type HeaderOps,
} from './hop-headers.js';
import { isUrl } from './http-target.js';
import { judgeBare, judgeHop, planCall } from './plan.js';

export type { ClientRequestLike } from './hop-headers.js';

type Target = () => string | readonly string[] | undefined;

/** A `ClientRequest` as Node builds it: the head is rendered by `_implicitHeader`. */
interface HeadLike extends ClientRequestLike {
  _implicitHeader?: unknown;
}

/** The methods that render the head of an `OutgoingMessage` (through `_implicitHeader`). */
const FLUSHES = ['write', 'end', 'flushHeaders'] as const;

/**
 * @internal What graylane did to the arguments of an `http.request` call whose head Node renders
 * in the ClientRequest constructor (Node 20–24 `lib/_http_client.js`: array-form `headers`, or a
 * truthy `Expect` header), before the request is built.
 */
export interface PreparedRequest {
  /** The arguments to build the request with: the caller's, or copies (never mutated). */
  readonly args: unknown[];
  /** The hop is judged and counted already (a later judgement of a re-rendered head is not). */
  readonly judged: boolean;
  /**
   * The `Expect` header held back so that Node does not render the head in the constructor: the
   * request is judged once built, like any other, then the header is restored and the head
   * rendered at once, as the constructor would have.
   */
  readonly expect?: { readonly name: string; readonly value: unknown };
}

/**
 * @internal Prepares one `http.request` call whose head Node would render in the ClientRequest
 * constructor, where nothing can be changed afterwards (I8: the caller's marker, or a `gray`
 * member, would leave for any host as written). In a lane or not: with no lane only the removal
 * half applies (`cleanHop`), judged on installGlobal's own `allowHosts` (none given: nothing to
 * judge with, the call is left as written):
 * - object `headers` with a truthy `Expect` (any case; the last such key, as `setHeader` keeps
 *   it): when `held` (Node's own ClientRequest is in place), the header is held back in a copy
 *   and the request is judged once built, on Node's own resolution of the target, with what
 *   every wrapper below added (OpenTelemetry's propagator, OTB-01); see `injectClientRequest`;
 * - array-form `headers` (pairs or a flat list), and `Expect` when a library replaced
 *   `http.ClientRequest` (nock, @mswjs/interceptors: its stand-in may read `Expect` when it is
 *   built — nock 13 answers `100 Continue` from it — and never render a head, so the header is
 *   not held back): judged now on `target` (the target Node will resolve, or undefined:
 *   refused) and applied to a copy of the headers: the marker and one `gray` member for an
 *   allowlisted host (a marker the caller set is kept there), neither for any other.
 * Returns undefined when there is nothing to prepare (the head is rendered later and judged
 * then). Never throws: on any doubt the call proceeds with the caller's arguments.
 */
export function prepareRequest(
  args: readonly unknown[],
  target: Target,
  allow: Allowlist | undefined,
  held: boolean,
): PreparedRequest | undefined {
  try {
    // With no lane the hop is still judged when installGlobal has allowHosts of its own:
    // outside them it loses any marker (I8).
    const store = currentStore();
    if (store === undefined && allow === undefined) return undefined;
    const found = findHeaders(args);
    if (found === undefined) return undefined;
    const { headers, rebuild } = found;
    if (Array.isArray(headers)) {
      const { copy, ops } = nodeArrayHeaders(headers);
      return judgeNow(args, copy, ops, rebuild, target, allow, store);
    }
    const expect = expectKey(headers);
    if (expect === undefined) return undefined;
    const copy: Options = { ...headers };
    if (!held) return judgeNow(args, copy, objectOps(copy), rebuild, target, allow, store);
    // Node's constructor sets (validates) every header before it renders; a blanked copy is
    // never validated. An invalid value is left to Node, which throws as it would without
    // graylane, before any connection (nothing is sent, so nothing to judge).
    if (!expectsValid(copy)) return undefined;
    const value = copy[expect];
    for (const name of Object.keys(copy)) if (name.toLowerCase() === 'expect') copy[name] = '';
    return { args: rebuild(copy), judged: false, expect: { name: expect, value } };
  } catch {
    return undefined;
  }
}

function judgeNow(
  args: readonly unknown[],
  copy: unknown,
  ops: HeaderOps,
  rebuild: (headers: unknown) => unknown[],
  target: Target,
  allow: Allowlist | undefined,
  store: GrayStore | undefined,
): PreparedRequest {
  let changed = false;
  const tracked: HeaderOps = {
    values: (name) => ops.values(name),
    set: (name, value) => ((changed = true), ops.set(name, value)),
    remove: (name) => ((changed = true), ops.remove(name)),
  };
  if (store === undefined) cleanHop(tracked, () => judgeBare(allow, target()));
  else {
    const plan = planCall(allow, { has: (name) => ops.values(name).length > 0 }, store);
    if (plan) applyHop(plan, judgeHop(plan, target()), tracked);
  }
  return { args: changed ? rebuild(copy) : [...args], judged: true };
}

type Options = Record<string, unknown>;

/**
 * The `headers` Node reads for these arguments (the merge of `requestOptions` in http-target.ts:
 * an options argument's own `headers` beats a URL-like first argument's), and how to pass
 * another value in their place without touching the caller's objects.
 */
function findHeaders(
  args: readonly unknown[],
): { headers: object; rebuild: (headers: unknown) => unknown[] } | undefined {
  const [first, second, ...rest] = args;
  const own = (o: unknown): o is Options =>
    typeof o === 'object' && o !== null && Object.prototype.propertyIsEnumerable.call(o, 'headers');
  const object = (h: unknown): h is object => typeof h === 'object' && h !== null;
  if (typeof first !== 'string' && !isUrl(first)) {
    if (!own(first) || !object(first.headers)) return undefined;
    return { headers: first.headers, rebuild: (h) => [{ ...first, headers: h }, ...args.slice(1)] };
  }
  const options = typeof second === 'object' && second !== null ? (second as Options) : undefined;
  const headers = own(options) ? options.headers : own(first) ? first.headers : undefined;
  if (!object(headers)) return undefined;
  // A callback in the options' place stays the callback; an absent options argument is replaced.
  const after = typeof second === 'function' ? [second, ...rest] : rest;
  return {
    headers,
    rebuild: (h) => [first, { ...options, headers: h }, ...(options ? rest : after)],
  };
}

/**
 * Whether Node's `setHeader` accepts every `Expect` key's value (`validateHeaderValue`, the check
 * it runs: undefined, CR/LF or a character above U+00FF, in an array's values too). The names
 * need no check: each is `expect` in some case, a valid token.
 */
function expectsValid(headers: Options): boolean {
  try {
    // Typed for strings, but it checks whatever setHeader is given (undefined, arrays, numbers).
    for (const name of Object.keys(headers))
      if (name.toLowerCase() === 'expect') validateHeaderValue(name, headers[name] as string);
    return true;
  } catch {
    return false;
  }
}

/** The key whose value Node's `getHeader('expect')` returns after setting every key, if truthy. */
function expectKey(headers: object): string | undefined {
  let key: string | undefined;
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'expect') key = name;
  return key !== undefined && (headers as Options)[key] ? key : undefined;
}

/**
 * @internal Judges one `http`/`https` request (one hop: clients that follow redirects, such as
 * follow-redirects under axios, call `http.request` once per hop), in the context of the code
 * that created it, on the headers and the path it is sent with:
 * - right before Node renders the head (`_implicitHeader`, which the first `write`, `end` and
 *   `flushHeaders` call, Node 20–24), so headers a client sets after `http.request()` returns
 *   are judged too (superagent sets every header that way, and copies the previous hop's on a
 *   redirect), and so is a path an agent rewrote (a forward proxy, see http-target.ts). A marker
 *   present then is the caller's (graylane has added nothing yet);
 * - also right before a `write`, `end` or `flushHeaders` that is not Node's own (nock 13 and
 *   older @mswjs/interceptors replace them and never render a head: they read the headers);
 * - at once where Node has no such step (a request-like object that is not Node's);
 * - a head whose `Expect` header `prepareRequest` held back: judged now, then the header is
 *   restored and the head rendered, as the constructor would have.
 * Runs after every wrapper below it, OpenTelemetry's included, so what they added is judged too
 * (OTB-01). A head rendered again (http-proxy-agent re-renders it after rewriting the path) is
 * judged again, counted once. A request made with no lane is judged the same way, for removal
 * only, when installGlobal has `allowHosts` of its own: outside them it loses any marker
 * (`cleanHop`, I8). Never throws.
 */
export function injectClientRequest(
  req: ClientRequestLike,
  target: Target,
  allow: Allowlist | undefined,
  prepared?: PreparedRequest,
): void {
  try {
    // A head rendered in the constructor was prepared (prepareRequest), or is outside a lane
    // with no allowHosts of installGlobal's own to judge it on.
    if (req.headersSent) return;
    const store = currentStore();
    if (store !== undefined || allow !== undefined)
      watch(req, target, allow, store, prepared?.judged === true);
  } catch {
    // I1: the request proceeds untouched.
  }
  if (prepared?.expect) renderHeld(req, prepared.expect);
}

function watch(
  req: ClientRequestLike,
  target: Target,
  allow: Allowlist | undefined,
  store: GrayStore | undefined,
  counted: boolean,
): void {
  let judged = counted ? 1 : 0;
  const judgeOnce = (): void => judge(req, target, allow, store, judged++ === 0);
  const head = req as HeadLike & Record<string, unknown>;
  const render = head._implicitHeader;
  if (typeof render !== 'function') return judgeOnce();
  head._implicitHeader = function graylaneImplicitHeader(this: unknown, ...args: unknown[]) {
    judgeOnce();
    return (render as (...a: unknown[]) => unknown).apply(this, args);
  };
  for (const name of FLUSHES) {
    const flush = head[name];
    if (typeof flush !== 'function' || flush === OutgoingMessage.prototype[name]) continue;
    head[name] = function graylaneFlush(this: unknown, ...args: unknown[]) {
      judgeOnce();
      return (flush as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
}

/**
 * Restores the held `Expect` header (validated by prepareRequest) and renders the head now,
 * through the judging wrapper, as Node's constructor would have: `headersSent` is true when
 * `http.request()` returns, whatever a wrapper below did to `write`/`end` (a caller that waits
 * for 'continue' before writing the body would wait forever for an unsent head, I1).
 */
function renderHeld(req: ClientRequestLike, expect: NonNullable<PreparedRequest['expect']>): void {
  try {
    if (req.headersSent) return;
    req.setHeader(expect.name, expect.value as string);
    const render = (req as HeadLike)._implicitHeader;
    const nodes =
      builtByNode(req) || (req as { end?: unknown }).end === OutgoingMessage.prototype.end;
    if (typeof render === 'function' && nodes && !req.headersSent)
      (render as () => unknown).call(req);
  } catch {
    // I1: the request proceeds with whatever head it has.
  }
}

/**
 * Whether Node's ClientRequest constructor built this request (it sets `upgradeOrConnect` on
 * every request, Node 20–24 lib/_http_client.js), so it would have rendered an `Expect` head
 * whatever a wrapper did to `end` since. A stand-in built otherwise (an OutgoingMessage with
 * ClientRequest's prototype, as nock 13's) with an `end` of its own renders its head, or never
 * does, when it wants.
 */
function builtByNode(req: ClientRequestLike): boolean {
  return Object.prototype.hasOwnProperty.call(req, 'upgradeOrConnect');
}

function judge(
  req: ClientRequestLike,
  target: Target,
  allow: Allowlist | undefined,
  store: GrayStore | undefined,
  count: boolean,
): void {
  try {
    if (req.headersSent) return;
    // No lane (installGlobal only): a hop outside the allowlist loses any marker (I8).
    if (store === undefined)
      return cleanHop(clientRequestOps(req), () => judgeBare(allow, target()));
    const plan = planCall(
      allow,
      { has: (name) => req.getHeader(name) !== undefined },
      store,
      count,
    );
    if (plan) applyHop(plan, judgeHop(plan, target(), count), clientRequestOps(req));
  } catch {
    // I1: the request proceeds as the client built it.
  }
}
