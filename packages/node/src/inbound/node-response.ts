import { DEBUG_HEADER } from '../limits.js';
import type { InboundOutcome } from './engine.js';

/** The structural part of `ServerResponse` graylane writes to. */
export interface ServerResponseLike {
  readonly headersSent: boolean;
  getHeader(name: string): number | string | readonly string[] | undefined;
  setHeader(name: string, value: string | readonly string[]): unknown;
  removeHeader?(name: string): unknown;
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
 * The list of graylane's cookies on `res`, created with a `writeHead` wrapper on the first
 * cookie: graylane writes when it decides, and the app writes later. Its
 * `setHeader('set-cookie', …)` or `writeHead(status, { 'set-cookie': … })` replaced graylane's
 * cookies (every new visitor drew the split again), and on Node 20 any earlier `setHeader` made
 * `writeHead(status, [name, value, …])` keep only the last of its own duplicates. When the head
 * goes out, the headers passed to `writeHead` are merged as Node 22 does (later names replace,
 * duplicates in a list stay) and graylane's cookies go back — unless the app sent a cookie of the
 * same name, or no `Set-Cookie` at all (a response stripped of cookies to be cached keeps none).
 */
function keptCookies(res: ServerResponseLike): string[] | undefined {
  let kept = KEPT.get(res);
  if (kept !== undefined || typeof res.writeHead !== 'function') return kept;
  kept = [];
  KEPT.set(res, kept);
  const list = kept;
  const writeHead = res.writeHead as WriteHead;
  (res as unknown as { writeHead: WriteHead }).writeHead = function graylaneWriteHead(
    this: unknown,
    ...args: unknown[]
  ) {
    return writeHead.apply(this, restoreCookies(res, list, args));
  };
  return kept;
}

/** `writeHead`'s arguments after merging its headers into `res` and putting `kept` back. */
function restoreCookies(res: ServerResponseLike, kept: readonly string[], args: unknown[]) {
  if (res.headersSent || kept.length === 0) return args;
  // Node's reading: `writeHead(status, reason?, headers?)`, the headers second when no reason.
  const reason = typeof args[1] === 'string';
  const headers = reason || args[2] != null ? args[2] : args[1];
  if (typeof headers === 'object' && headers !== null) {
    // An odd list is Node's to refuse; an invalid name or value throws Node's error from here,
    // with nothing of these headers applied.
    if (!mergeHeaders(res, headers)) return args;
    args = args.slice(0, reason ? 2 : 1);
  }
  try {
    const sent = headerValues(res.getHeader('set-cookie'));
    if (sent.length === 0) return args;
    const names = new Set(sent.map(cookieName));
    const missing = kept.filter((v) => !names.has(cookieName(v)));
    if (missing.length > 0) res.setHeader('set-cookie', [...sent, ...missing]);
  } catch {
    // I1: the head goes out as the app wrote it.
  }
  return args;
}

/**
 * Sets `headers` (an object, or Node's flat `[name, value, …]` list, whose names each replace
 * what is set and whose duplicates all stay, as on Node 22) on `res`: all, or none and Node's
 * error thrown (the app's invalid header; Node 20 applied the names before it).
 */
function mergeHeaders(res: ServerResponseLike, headers: object): boolean {
  const entries: [string, unknown][] = [];
  if (Array.isArray(headers)) {
    if (headers.length % 2 !== 0) return false;
    const byName = new Map<string, [string, unknown[]]>();
    for (let i = 0; i < headers.length; i += 2) {
      if (!headers[i]) continue; // Node skips an empty name
      const name = String(headers[i]);
      const key = name.toLowerCase();
      let entry = byName.get(key);
      if (entry === undefined) byName.set(key, (entry = [name, []]));
      entry[1].push(...[headers[i + 1]].flat());
    }
    for (const [name, values] of byName.values())
      entries.push([name, values.length === 1 ? values[0] : values]);
  } else {
    for (const name of Object.keys(headers)) entries.push([name, (headers as never)[name]]);
  }
  const before = entries.map(([name]) => [name, res.getHeader(name)] as const);
  try {
    for (const [name, value] of entries) res.setHeader(name, value as string);
    return true;
  } catch (err) {
    for (const [name, value] of before)
      if (value === undefined) res.removeHeader?.(name);
      else res.setHeader(name, value as string);
    throw err;
  }
}

/** @internal A `Set-Cookie` value's cookie name. */
export function cookieName(value: string): string {
  const eq = value.indexOf('=');
  return (eq < 0 ? value : value.slice(0, eq)).trim();
}
