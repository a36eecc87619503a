import type { CompiledCondition } from '../config/types.js';
import type { GrayRequest, RequestLookup } from './types.js';

/** Reads one keyed value; own keys only (a `__proto__` lookup finds nothing), never throws. */
export function lookup(
  source: RequestLookup | GrayRequest['attrs'],
  name: string,
  scalars = false,
): string | undefined {
  if (source === undefined) return undefined;
  if (typeof source === 'function') {
    try {
      const v = source(name);
      return typeof v === 'string' ? v : undefined;
    } catch {
      return undefined;
    }
  }
  // A getter or proxy of the caller's that throws is an absent value, not a failed decision.
  try {
    if (!Object.hasOwn(source, name)) return undefined;
    const v: unknown = (source as Record<string, unknown>)[name];
    if (typeof v === 'string') return v;
    // Only caller-supplied attributes may be numbers or booleans (`userId: 42`); wire values are strings.
    if (scalars && ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean'))
      return String(v);
    if (Array.isArray(v)) return v.every((x) => typeof x === 'string') ? v.join(', ') : undefined;
    return undefined;
  } catch {
    return undefined;
  }
}

/** Builds the reader for one condition once, at compile time: no per-request dispatch. */
export function conditionReader(
  kind: CompiledCondition['kind'],
  name: string | undefined,
): (req: GrayRequest) => string | undefined {
  const key = name ?? '';
  switch (kind) {
    case 'path':
      return (req) => str(req.path);
    case 'host':
      return (req) => str(req.host);
    case 'method':
      return (req) => str(req.method);
    case 'header':
      return (req) => lookup(req.headers, key);
    case 'cookie':
      return (req) => lookup(req.cookies, key);
    case 'query':
      return (req) => lookup(req.query, key);
    case 'attr':
      return (req) => lookup(req.attrs, key, true);
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
