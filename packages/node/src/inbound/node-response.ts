import { ServerResponse, validateHeaderValue } from 'node:http';
import type * as Http2 from 'node:http2';
import { isTargetedCacheControl, privateCacheControl, targetedNoStore } from '@graylane/core';
import { DEBUG_HEADER } from '../limits.js';
import { packageRequire } from '../package-require.js';
import type { InboundOutcome } from './engine.js';

/** The structural part of `ServerResponse` graylane writes to. */
export interface ServerResponseLike {
  readonly headersSent: boolean;
  getHeader(name: string): number | string | readonly string[] | undefined;
  setHeader(name: string, value: string | readonly string[]): unknown;
  removeHeader?(name: string): unknown;
  /** The names of the headers set so far, lower-cased (Node's; STK-06 reads targeted fields). */
  getHeaderNames?(): string[];
  /** Node's (and fastify's, SSE routes') way to send the head: graylane's cookies are kept there. */
  writeHead?(...args: never[]): unknown;
}

/** Where an adapter writes response headers. */
export interface ResponseSink {
  /** Adds one `Set-Cookie` value, keeping any already set. */
  appendCookie(value: string): void;
  setHeader(name: string, value: string): void;
  /** Removes a header set earlier (a stale debug header, GW-03). Optional for custom sinks. */
  removeHeader?(name: string): void;
  /**
   * Removes these `Set-Cookie` values, set earlier by a weaker layer whose decision a stricter
   * one replaced (GW-03); other cookies stay. Optional for custom sinks.
   */
  removeCookies?(values: readonly string[]): void;
}

/**
 * Writes the sticky cookies and the debug header through `sink`. With `replaced`, the outcome
 * of an earlier, weaker layer this one decided over: its cookies are removed and its debug
 * header is removed when this outcome has none (GW-03: neither describes a decision that was
 * replaced). Never throws: a response whose headers are gone just does not get them (I1).
 */
export function applyOutcome(
  sink: ResponseSink,
  outcome: InboundOutcome,
  replaced?: InboundOutcome,
): void {
  try {
    if (replaced !== undefined && replaced.setCookies.length > 0)
      sink.removeCookies?.(replaced.setCookies);
    for (const cookie of outcome.setCookies) sink.appendCookie(cookie);
    if (outcome.debugHeader !== undefined) sink.setHeader(DEBUG_HEADER, outcome.debugHeader);
    else if (replaced?.debugHeader !== undefined) sink.removeHeader?.(DEBUG_HEADER);
  } catch {
    // I1: never throw into the request.
  }
}

/** @internal A sink over Node's `ServerResponse` (set-cookie appended to what is already set). */
export function nodeSink(res: ServerResponseLike): ResponseSink {
  return new NodeSink(res);
}

/** @internal `target` as a sink: a Node response is wrapped only when something is written. */
export function asSink(target: ResponseSink | ServerResponseLike): ResponseSink {
  return 'appendCookie' in target ? target : new NodeSink(target);
}

/** @internal A header value as Node or fastify hold it (one, several, none) as a list of strings. */
export function headerValues(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

/** A class, so a request costs one small object and no closures. */
class NodeSink implements ResponseSink {
  constructor(private readonly res: ServerResponseLike) {}
  appendCookie(value: string): void {
    const res = this.res;
    if (res.headersSent) return;
    res.setHeader('set-cookie', [...headerValues(res.getHeader('set-cookie')), value]);
    keptCookies(res)?.push(value);
  }
  setHeader(name: string, value: string): void {
    if (!this.res.headersSent) this.res.setHeader(name, value);
  }
  removeHeader(name: string): void {
    if (!this.res.headersSent) this.res.removeHeader?.(name);
  }
  removeCookies(values: readonly string[]): void {
    const res = this.res;
    if (res.headersSent) return;
    const kept = KEPT.get(res);
    if (kept) kept.splice(0, kept.length, ...kept.filter((v) => !values.includes(v)));
    const prev = headerValues(res.getHeader('set-cookie'));
    if (prev.length === 0) return;
    const list = prev.filter((v) => !values.includes(v));
    if (list.length > 0) res.setHeader('set-cookie', list);
    else res.removeHeader?.('set-cookie');
  }
}

/** The cookies graylane wrote on a response, by response (only responses it wrote cookies on). */
const KEPT = new WeakMap<object, string[]>();

type WriteHead = (...args: unknown[]) => unknown;

/**
 * The list of graylane's cookies on `res`, created with the first cookie: graylane writes when
 * it decides, and the app writes later. Its `setHeader('set-cookie', …)` or
 * `writeHead(status, { 'set-cookie': … })` replaced graylane's cookies (every new visitor drew
 * the split again), and on Node 20 any earlier `setHeader` made `writeHead(status, [name,
 * value, …])` keep only the last of its own duplicates. When the head goes out, graylane's
 * cookies go back (see {@link restoreCookies}) — unless the app sent a cookie of the same name,
 * or no `Set-Cookie` at all (a response stripped of cookies to be cached keeps none). A head
 * that carries one of graylane's cookies goes out private (see {@link privateHead}). Both run
 * in {@link guardHead}'s `writeHead`, after every hook that wrapped it.
 */
function keptCookies(res: ServerResponseLike): string[] | undefined {
  let kept = KEPT.get(res);
  if (kept !== undefined || typeof res.writeHead !== 'function') return kept;
  kept = [];
  KEPT.set(res, kept);
  const list = kept;
  guardHead(res, (args) => privateHead(res, list, restoreCookies(res, list, args)));
  return kept;
}

/**
 * @internal STK-06 for a Node response graylane's cookies reach by another way than its sink
 * (hono on `@hono/node-server` writes the head from the `Response` the chain built): when the
 * head goes out with one of `cookies`, its `Cache-Control` forbids shared storage, whatever an
 * outer middleware set after graylane. Once per response; never throws.
 */
export function privateWhenSent(res: ServerResponseLike, cookies: readonly string[]): void {
  try {
    if (cookies.length === 0 || typeof res.writeHead !== 'function' || GUARDED.has(res)) return;
    GUARDED.add(res);
    guardHead(res, (args) => privateHead(res, cookies, args));
  } catch {
    // I1: a response that cannot be wrapped goes out as the app made it.
  }
}

const GUARDED = new WeakSet<object>();

/** What graylane does to `writeHead`'s arguments of one response (its cookies, STK-06). */
type HeadFix = (args: unknown[]) => unknown[];

/** Marks a prototype whose `writeHead` graylane wrapped (every copy of the package reads it). */
const HEAD_GUARD = Symbol.for('@graylane/node.headGuard.v1');
/** The fix of each response graylane wrote cookies on, shared by every copy in the process. */
const HEADS_KEY = Symbol.for('@graylane/node.heads.v1');

let heads: WeakMap<object, HeadFix> | undefined;
let installed = false;

function headFixes(): WeakMap<object, HeadFix> {
  if (heads !== undefined) return heads;
  const g = globalThis as { [HEADS_KEY]?: WeakMap<object, HeadFix> };
  return (heads = g[HEADS_KEY] ??= new WeakMap());
}

/**
 * @internal Wraps `writeHead` of Node's `ServerResponse` and of HTTP/2's compat
 * `Http2ServerResponse` once per process (a second copy of the package finds the mark): every
 * response of every framework (express and fastify keep Node's prototype in the chain) calls it
 * last, after any hook an app or a library put on the instance — `on-headers` (compression,
 * express-session, express-cache-controller) captures `res.writeHead` per request, before or
 * after graylane ran — and `res.write`, `end` and `flushHeaders` go through it too. A response
 * graylane wrote no cookie on costs one `WeakMap` lookup. Called when an adapter is created
 * (before any request); never throws (I1).
 */
export function installHeadGuard(): void {
  if (installed) return;
  installed = true;
  const fixes = headFixes();
  guardPrototype(ServerResponse.prototype, fixes);
  try {
    const http2 = packageRequire()('node:http2') as typeof Http2;
    guardPrototype(http2.Http2ServerResponse.prototype, fixes);
  } catch {
    // No HTTP/2 in this runtime: nothing to guard there.
  }
}

function guardPrototype(proto: object, fixes: WeakMap<object, HeadFix>): void {
  try {
    if (Object.prototype.hasOwnProperty.call(proto, HEAD_GUARD)) return;
    const p = proto as { writeHead?: unknown; writeHeader?: unknown };
    const original = p.writeHead;
    if (typeof original !== 'function') return;
    const writeHead = function writeHead(this: object): unknown {
      const fix = fixes.get(this);
      // `arguments`, not a rest list: a response without graylane's cookies allocates nothing.
      // eslint-disable-next-line prefer-rest-params
      if (fix === undefined) return original.apply(this, arguments);
      // eslint-disable-next-line prefer-rest-params
      return original.apply(this, fix(Array.prototype.slice.call(arguments)));
    };
    Object.defineProperty(writeHead, 'length', { value: original.length });
    p.writeHead = writeHead;
    // Node's deprecated alias of the same function.
    if (p.writeHeader === original) p.writeHeader = writeHead;
    Object.defineProperty(proto, HEAD_GUARD, { value: true });
  } catch {
    // A frozen prototype: the instance guard below covers graylane's own responses.
  }
}

/**
 * Runs `fix` on `res`'s head: in the prototype's `writeHead` (see {@link installHeadGuard}), else
 * (an object that does not inherit it) in a wrapper on the instance. A second fix on the same
 * response runs after the first.
 */
function guardHead(res: ServerResponseLike, fix: HeadFix): void {
  const fixes = headFixes();
  if (!(HEAD_GUARD in res)) installHeadGuard();
  if (HEAD_GUARD in res) {
    const first = fixes.get(res);
    fixes.set(res, first === undefined ? fix : (args) => fix(first(args)));
    return;
  }
  const writeHead = res.writeHead as WriteHead;
  (res as unknown as { writeHead: WriteHead }).writeHead = function graylaneWriteHead(
    this: unknown,
    ...args: unknown[]
  ) {
    return writeHead.apply(this, fix(args));
  };
}

/**
 * `writeHead`'s arguments with `kept` put back. Node still applies and validates everything (the
 * status first, then each name and value, with its own errors): graylane never sets the app's
 * headers itself. When `writeHead` is given `Set-Cookie`, the missing cookies join that value;
 * otherwise they go back onto the response. A list that names `Set-Cookie` twice is passed
 * with its values together: on Node 20 any earlier `setHeader` made `writeHead` keep only the
 * last value of a name given twice. Every other header goes on as the app gave it.
 */
function restoreCookies(res: ServerResponseLike, kept: readonly string[], args: unknown[]) {
  if (res.headersSent || kept.length === 0) return args;
  try {
    // Node's reading: `writeHead(status, reason?, headers?)`, the headers second when no reason.
    const at = typeof args[1] === 'string' || args[2] != null ? 2 : 1;
    const given = givenHeaders(args[at]);
    const sent = given?.cookies ?? headerValues(res.getHeader('set-cookie'));
    // No `Set-Cookie` at all: stripped on purpose (a response to be cached) — none of ours either.
    const names = new Set(sent.map((v) => cookieName(String(v))));
    const missing = sent.length === 0 ? [] : kept.filter((v) => !names.has(cookieName(v)));
    if (given?.cookies === undefined && missing.length > 0)
      res.setHeader('set-cookie', [...(sent as string[]), ...missing]);
    if (given === undefined || (!given.grouped && (given.cookies === undefined || !missing.length)))
      return args;
    const out = args.slice();
    out[at] = given.rebuild(given.cookies === undefined ? [] : missing);
    return out;
  } catch {
    // I1: the head goes out as the app wrote it.
  }
  return args;
}

/**
 * STK-06: `writeHead`'s arguments (`restoreCookies`' output) such that a head carrying one of
 * graylane's sticky cookies forbids shared caches to store it, whatever `Cache-Control` the app,
 * a framework or a static file server set, before the cookie or after it: a CDN that stored the
 * response would hand one visitor's anonymous id, and so its lane, to every new visitor (RFC
 * 9111 §3). The `Cache-Control` Node will send — the one given to `writeHead` when it names one
 * (it replaces the response's), else the response's — is rewritten by core's
 * `privateCacheControl`, and every targeted field (`CDN-Cache-Control`, `Surrogate-Control`…,
 * which a CDN reads instead of `Cache-Control`, RFC 9213) becomes core's `targetedNoStore`, on
 * the response or in what `writeHead` is given, whichever Node sends. A head without graylane's
 * cookies (a returning visitor, a cookie the app replaced) is left alone. Never throws (I1).
 */
function privateHead(res: ServerResponseLike, kept: readonly string[], args: unknown[]) {
  if (res.headersSent || kept.length === 0) return args;
  try {
    const at = typeof args[1] === 'string' || args[2] != null ? 2 : 1;
    const given = givenHeaders(args[at]);
    const sent = given?.cookies ?? headerValues(res.getHeader('set-cookie'));
    if (!sent.some((v) => kept.includes(String(v)))) return args;
    // A value Node refuses stays for Node to refuse, as it does for a returning visitor.
    if (given !== undefined && refused(res, given.raw)) return args;
    // Fields `writeHead` names replace the response's of the same name: rewritten there.
    const fields = given?.fields ?? new Map<string, unknown[]>();
    const replace = new Map<string, string>();
    const cc = fields.get('cache-control');
    const lines = (cc ?? headerValues(res.getHeader('cache-control'))).map(String);
    // HTTP/2's compat API takes a value no field holds (CR, LF, NUL…), and the wire drops the
    // field: none of it is kept.
    const value = lines.some(notFieldValue) ? 'private' : privateCacheControl(lines);
    if (value !== undefined) {
      if (cc === undefined) res.setHeader('Cache-Control', value);
      else replace.set('cache-control', value);
    }
    for (const name of res.getHeaderNames?.() ?? []) {
      if (!isTargetedCacheControl(name) || fields.has(name.toLowerCase())) continue;
      const noStore = targeted(headerValues(res.getHeader(name)));
      if (noStore !== undefined) res.setHeader(name, noStore);
    }
    for (const [name, values] of fields) {
      if (!isTargetedCacheControl(name)) continue;
      // An object naming a field twice: which one Node sends depends on the response; rewritten.
      const noStore = given!.repeated.has(name) ? 'no-store' : targeted(values.map(String));
      if (noStore !== undefined) replace.set(name, noStore);
    }
    if (replace.size === 0) return args;
    const out = args.slice();
    out[at] = given!.rebuild([], replace);
    return out;
  } catch {
    // I1: the head goes out as the app wrote it.
  }
  return args;
}

/** A value with a character no field value holds (RFC 9110 §5.5; Node's HTTP/1 refuses it). */
const notFieldValue = (line: string): boolean => /[^\t\x20-\x7e\x80-\xff]/.test(line);

/** core's `targetedNoStore`, and `no-store` for a value no field holds (see {@link notFieldValue}). */
const targeted = (lines: string[]): string | undefined =>
  lines.some(notFieldValue) ? 'no-store' : targetedNoStore(lines);

/**
 * Whether Node's `writeHead` throws for a `Cache-Control` or targeted field among `raw` (what
 * it was given, by lower-cased name): `undefined`, or a character no field holds, on HTTP/1;
 * `undefined` or `null` on HTTP/2's compat API (which passes other values on). graylane must not
 * turn such a value into one Node sends on a first visit only.
 */
function refused(res: ServerResponseLike, raw: ReadonlyMap<string, unknown[]>): boolean {
  const h1 = res instanceof ServerResponse;
  for (const [name, values] of raw) {
    if (name !== 'cache-control' && !isTargetedCacheControl(name)) continue;
    for (const value of values) {
      if (!h1) {
        if (value === undefined || value === null) return true;
        continue;
      }
      try {
        // Node's own check, as its `writeHead` makes it on a response with headers set already
        // (graylane's cookies): the whole value, as `setHeader` / `appendHeader` take it.
        (validateHeaderValue as (name: string, value: unknown) => void)(name, value);
      } catch {
        return true;
      }
    }
  }
  return false;
}

/** The headers given to `writeHead` (object, flat list or list of pairs), as far as graylane reads them. */
interface Given {
  /** The `Set-Cookie` values they set (undefined: they set none). */
  readonly cookies: unknown[] | undefined;
  /** The values of each name they set, by lower-cased name (an object: its last key's). */
  readonly fields: ReadonlyMap<string, unknown[]>;
  /** Every value given for each name (lower-cased), as given: one per key or list entry. */
  readonly raw: ReadonlyMap<string, unknown[]>;
  /** Lower-cased names an object gives under more than one key. */
  readonly repeated: ReadonlySet<string>;
  /** A list that names `Set-Cookie` twice (passed on with its values together). */
  readonly grouped: boolean;
  /**
   * The same headers, with `extra` cookies after the given ones and each field of `replace`
   * (lower-cased name → value) given once, with that value, in place of the given ones.
   */
  rebuild(extra: readonly string[], replace?: ReadonlyMap<string, string>): unknown;
}

const lowerName = (name: unknown): string | undefined =>
  typeof name === 'string' ? name.toLowerCase() : undefined;

function givenHeaders(headers: unknown): Given | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  if (!Array.isArray(headers)) {
    // Node sets each key in order: the last `Set-Cookie` key wins.
    const key = Object.keys(headers)
      .filter((k) => k.toLowerCase() === 'set-cookie')
      .pop();
    const record = headers as Record<string, unknown>;
    const cookies = key === undefined ? undefined : [record[key]].flat();
    const fields = new Map<string, unknown[]>();
    const raw = new Map<string, unknown[]>();
    const repeated = new Set<string>();
    for (const k of Object.keys(record)) {
      const lower = k.toLowerCase();
      if (fields.has(lower)) repeated.add(lower);
      fields.set(lower, [record[k]].flat());
      raw.set(lower, [...(raw.get(lower) ?? []), record[k]]);
    }
    return {
      cookies,
      fields,
      raw,
      repeated,
      grouped: false,
      rebuild: (extra, replace) => {
        const out: Record<string, unknown> = { ...record };
        if (key !== undefined) out[key] = [...cookies!, ...extra];
        for (const [lower, value] of replace ?? []) {
          const names = Object.keys(out).filter((n) => n.toLowerCase() === lower);
          for (const name of names) delete out[name];
          out[names.pop() ?? lower] = value;
        }
        return out;
      },
    };
  }
  // A list of pairs (HTTP/2's compat API) or Node's flat `[name, value, …]`; anything else is
  // Node's to refuse.
  const pairs = headers.length > 0 && headers.every((h) => Array.isArray(h));
  if (!pairs && headers.length % 2 !== 0) return undefined;
  const entries: [unknown, unknown][] = [];
  let cookies: unknown[] | undefined;
  // Node removes a listed name from the response, then appends each of its values: all count.
  const fields = new Map<string, unknown[]>();
  const raw = new Map<string, unknown[]>();
  let first = -1;
  let grouped = false;
  for (let i = 0; i < headers.length; i += pairs ? 1 : 2) {
    const [name, value] = pairs ? (headers[i] as unknown[]) : [headers[i], headers[i + 1]];
    const lower = lowerName(name);
    if (lower !== undefined) {
      fields.set(lower, [...(fields.get(lower) ?? []), ...[value].flat()]);
      raw.set(lower, [...(raw.get(lower) ?? []), value]);
    }
    // Only `Set-Cookie` is joined; every other name goes on as given, for Node to judge.
    if (lower === 'set-cookie') {
      if (cookies === undefined) first = entries.length;
      else grouped = true;
      (cookies ??= []).push(...[value].flat());
      if (first !== entries.length) continue;
    }
    entries.push([name, value]);
  }
  return {
    cookies,
    fields,
    raw,
    repeated: new Set(),
    grouped,
    rebuild: (extra, replace) => {
      let out = entries.slice();
      if (cookies !== undefined) out[first] = [out[first]![0], [...cookies, ...extra]];
      for (const [lower, value] of replace ?? []) {
        const name = out.filter(([n]) => lowerName(n) === lower).pop()?.[0] ?? lower;
        out = [...out.filter(([n]) => lowerName(n) !== lower), [name, value]];
      }
      return pairs ? out : out.flat();
    },
  };
}

/** @internal A `Set-Cookie` value's cookie name. */
export function cookieName(value: string): string {
  const eq = value.indexOf('=');
  return (eq < 0 ? value : value.slice(0, eq)).trim();
}
