import { removeBaggageMember, setBaggageMember } from '@graylane/core';

/** Carrier names of one engine (lower-case header; `false` when a carrier is off). */
export interface CarrierNames {
  readonly header: string;
  readonly cookie: string | false;
  readonly query: string | false;
  readonly baggage: string | false;
}

/**
 * Builds the request a gateway sends on (GW-01, GW-02): every carrier graylane reads — the
 * marker header, the marker cookie pair, the `gray` baggage member, the query marker — is
 * removed, and when `version` is given the decided marker is written once (header and baggage).
 * So an untrusted, rejected or overridden client marker never travels on. The original request
 * is not touched; its body (if any) moves to the new one.
 */
export function rewriteCarriers(
  request: Request,
  names: CarrierNames,
  version: string | undefined,
  target?: string | URL,
  writeBaggage = true,
): Request {
  const url = new URL(target ?? request.url);
  if (names.query !== false) url.searchParams.delete(names.query);
  const headers = new Headers(request.headers);
  headers.delete(names.header);
  if (names.cookie !== false) {
    const rest = withoutCookie(headers.get('cookie'), names.cookie);
    if (rest === undefined) headers.delete('cookie');
    else headers.set('cookie', rest);
  }
  if (names.baggage !== false) {
    const existing = headers.get('baggage') ?? undefined;
    const next =
      version === undefined || !writeBaggage
        ? removeBaggageMember(existing, names.baggage)
        : setBaggageMember(existing, names.baggage, version);
    if (next === undefined) headers.delete('baggage');
    else headers.set('baggage', next);
  }
  if (version !== undefined) headers.set(names.header, version);
  const init: RequestInit & { duplex?: 'half' } = {
    method: request.method,
    headers,
    redirect: request.redirect,
    signal: request.signal,
  };
  if (request.body !== null) {
    init.body = request.body;
    init.duplex = 'half';
  }
  return new Request(url, init);
}

/** The `Cookie` header without any pair named `name` (every crumb is checked, CK-02). */
function withoutCookie(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  const kept = header
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p.length > 0 && cookieName(p) !== name);
  return kept.length > 0 ? kept.join('; ') : undefined;
}

function cookieName(pair: string): string {
  const eq = pair.indexOf('=');
  return (eq === -1 ? pair : pair.slice(0, eq)).trim();
}
