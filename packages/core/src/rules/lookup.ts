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
  if (!Object.hasOwn(source, name)) return undefined;
  const v: unknown = (source as Record<string, unknown>)[name];
  if (typeof v === 'string') return v;
  // Only caller-supplied attributes may be numbers or booleans (`userId: 42`); wire values are strings.
  if (scalars && ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean'))
    return String(v);
  if (Array.isArray(v)) return v.every((x) => typeof x === 'string') ? v.join(', ') : undefined;
  return undefined;
}

/** The request value a condition tests. */
export function conditionValue(c: CompiledCondition, req: GrayRequest): string | undefined {
  switch (c.kind) {
    case 'path':
      return str(req.path);
    case 'host':
      return str(req.host);
    case 'method':
      return str(req.method);
    case 'header':
      return lookup(req.headers, c.name as string);
    case 'cookie':
      return lookup(req.cookies, c.name as string);
    case 'query':
      return lookup(req.query, c.name as string);
    case 'attr':
      return lookup(req.attrs, c.name as string, true);
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
