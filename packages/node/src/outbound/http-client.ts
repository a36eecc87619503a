import type { Allowlist } from '@graylane/core';
import { planInjection } from './plan.js';

/** The part of `http.ClientRequest` graylane touches. */
export interface ClientRequestLike {
  readonly headersSent: boolean;
  getHeader(name: string): number | string | readonly string[] | undefined;
  setHeader(name: string, value: string): unknown;
}

interface RequestOptionsLike {
  protocol?: string | null;
  hostname?: string | null;
  host?: string | null;
  port?: number | string | null;
  defaultPort?: number | string | null;
}

/**
 * @internal The real target of `http.request(url?, options?, cb?)`, as Node resolves it
 * (options override the URL; `hostname` beats `host`). The `Host` header is never trusted for
 * the allowlist: it can name another host than the one connected to.
 */
export function targetOf(
  args: readonly unknown[],
  defaultProtocol: 'http:' | 'https:',
): string | undefined {
  try {
    const [first, second] = args;
    let url: URL | undefined;
    let opts: RequestOptionsLike | undefined;
    if (typeof first === 'string') url = new URL(first);
    else if (first instanceof URL) url = first;
    else if (typeof first === 'object' && first !== null) opts = first as RequestOptionsLike;
    if (url && typeof second === 'object' && second !== null) opts = second as RequestOptionsLike;
    const protocol = opts?.protocol ?? url?.protocol ?? defaultProtocol;
    let host = opts?.hostname ?? opts?.host ?? url?.hostname ?? 'localhost';
    if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
    const port =
      opts?.port ??
      (opts?.hostname || opts?.host ? opts?.defaultPort : undefined) ??
      url?.port ??
      '';
    return `${protocol}//${host}${port === '' || port === null ? '' : `:${String(port)}`}`;
  } catch {
    return undefined;
  }
}

/** @internal Adds the marker to a ClientRequest whose headers are still mutable. Never throws. */
export function injectClientRequest(
  req: ClientRequestLike,
  target: string | undefined,
  allow: Allowlist | undefined,
): void {
  try {
    // Array-form `headers` options flush the head in the constructor: nothing can be added then.
    if (req.headersSent) return;
    const plan = planInjection(
      target,
      {
        has: (name) => req.getHeader(name) !== undefined,
        get: (name) => {
          const v = req.getHeader(name);
          return v === undefined ? undefined : Array.isArray(v) ? v.map(String) : String(v);
        },
      },
      allow,
    );
    if (!plan) return;
    req.setHeader(plan.header, plan.version);
    if (plan.baggage !== undefined) req.setHeader('baggage', plan.baggage);
  } catch {
    // I1: the request proceeds untouched.
  }
}
