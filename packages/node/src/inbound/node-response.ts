import { DEBUG_HEADER } from '../limits.js';
import type { InboundOutcome } from './engine.js';

/** The structural part of `ServerResponse` graylane writes to. */
export interface ServerResponseLike {
  readonly headersSent: boolean;
  getHeader(name: string): number | string | readonly string[] | undefined;
  setHeader(name: string, value: string | readonly string[]): unknown;
  removeHeader?(name: string): unknown;
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
    const prev = headerValues(res.getHeader('set-cookie'));
    if (prev.length === 0) return;
    const list = prev.filter((v) => !values.includes(v));
    if (list.length > 0) res.setHeader('set-cookie', list);
    else res.removeHeader?.('set-cookie');
  }
}
