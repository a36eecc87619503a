import type { Allowlist } from '@graylane/core';
import { flatAccess } from './header-list.js';
import { planInjection } from './plan.js';

/** The part of undici's internal `Request` published on `undici:request:create` (undici 5–7). */
export interface UndiciRequestLike {
  readonly origin?: string | URL;
  headers?: unknown;
  addHeader?(name: string, value: string): unknown;
}

/**
 * @internal Handles `undici:request:create`: Node's bundled undici (global `fetch`) and any npm
 * undici publish it synchronously, in the caller's async context, before the headers are
 * written — measured on Node 20.20.2 (bundled undici 6.24.1) and undici 7.
 */
export function onUndiciRequest(message: unknown, allow: Allowlist | undefined): void {
  try {
    const request = (message as { request?: UndiciRequestLike } | undefined)?.request;
    if (!request || typeof request.addHeader !== 'function') return;
    const headers = request.headers;
    // undici ≥ 6: a flat [name, value, …] array; undici 5: a raw "name: value\r\n" string.
    const list = Array.isArray(headers) ? (headers as unknown[]) : undefined;
    const access = list ? flatAccess(list) : rawAccess(typeof headers === 'string' ? headers : '');
    const plan = planInjection(
      request.origin === undefined ? undefined : String(request.origin),
      access,
      allow,
    );
    if (!plan) return;
    request.addHeader(plan.header, plan.version);
    if (plan.baggage === undefined) return;
    if (!access.has('baggage')) {
      request.addHeader('baggage', plan.baggage);
      return;
    }
    // Replace the existing baggage in place so `gray` appears exactly once (OUT-01).
    if (list) replaceAll(list, 'baggage', plan.baggage);
  } catch {
    // I1: the request proceeds untouched.
  }
}

function replaceAll(list: unknown[], name: string, value: string): void {
  let first = true;
  for (let i = 0; i + 1 < list.length; i += 2) {
    const n = list[i];
    if (typeof n !== 'string' || n.toLowerCase() !== name) continue;
    if (first) {
      list[i + 1] = value;
      first = false;
    } else {
      list.splice(i, 2);
      i -= 2;
    }
  }
}

function rawAccess(raw: string): {
  has(name: string): boolean;
  get(name: string): string[] | undefined;
} {
  const lines = raw.split('\r\n');
  const values = (name: string): string[] => {
    const out: string[] = [];
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name)
        out.push(line.slice(colon + 1).trim());
    }
    return out;
  };
  return {
    has: (name) => values(name).length > 0,
    get: (name) => {
      const v = values(name);
      return v.length === 0 ? undefined : v;
    },
  };
}
