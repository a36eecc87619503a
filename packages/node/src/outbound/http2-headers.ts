import { flatOps, objectOps, type HeaderOps } from './hop-headers.js';

/**
 * Node accepts the raw `[name, value, name, value, …]` form of `ClientHttp2Session.request()`'s
 * headers from v22.17.0 and v24.0.0 (nodejs/node#57917). Earlier versions read an array as an
 * object (`0: name`, `1: value`): such headers are left as the caller wrote them.
 */
const RAW_ARRAYS_FROM: Readonly<Record<number, number>> = { 22: 17 };
const RAW_ARRAYS_MAJOR = 24;

/**
 * @internal A copy-on-write view of the headers one `request()` call was given: read from the
 * caller's object until graylane changes something, then from a copy, so the caller's object
 * (reused for many requests, often) is never touched. Own symbol keys are copied with the rest
 * (`http2.sensitiveHeaders`).
 */
export interface Http2HeaderView {
  readonly ops: HeaderOps;
  /** What to pass to Node: the caller's headers when nothing changed, else the copy. */
  result(): unknown;
  /** Whether graylane changed anything. */
  changed(): boolean;
}

/**
 * @internal The view of `headers` as `request()` takes them: an object (any key case, array
 * values), nothing (Node starts from `{}`), or a raw array where this Node accepts one. Anything
 * else (null, a string, an array on an older Node) is undefined: Node throws for it, or sends it
 * as written, without graylane. Never throws.
 */
export function http2HeaderView(
  headers: unknown,
  version: string = process.versions.node,
): Http2HeaderView | undefined {
  if (headers === undefined) return view<Record<string, unknown>>({}, copyObject, objectOps, true);
  if (Array.isArray(headers))
    return acceptsRawArrays(version) ? view(headers, copyArray, flatOps, false) : undefined;
  if (typeof headers !== 'object' || headers === null) return undefined;
  return view(headers as Record<string, unknown>, copyObject, objectOps, false);
}

function view<T extends object>(
  headers: T,
  copy: (h: T) => T,
  opsOf: (h: T) => HeaderOps,
  fresh: boolean,
): Http2HeaderView {
  let current = headers;
  let copied = false;
  const writable = (): HeaderOps => {
    if (!copied) {
      current = copy(current);
      copied = true;
    }
    return opsOf(current);
  };
  return {
    ops: {
      values: (name) => opsOf(current).values(name),
      set: (name, value) => writable().set(name, value),
      remove: (name) => writable().remove(name),
    },
    result: () => (copied || !fresh ? current : undefined),
    changed: () => copied,
  };
}

/** Own enumerable keys, symbols included (what Node's `Object.assign` of the headers reads). */
function copyObject(headers: Record<string, unknown>): Record<string, unknown> {
  return { ...headers };
}

function copyArray(headers: unknown[]): unknown[] {
  const copy = headers.slice();
  for (const key of Object.getOwnPropertySymbols(headers))
    (copy as unknown as Record<symbol, unknown>)[key] = (
      headers as unknown as Record<symbol, unknown>
    )[key];
  return copy;
}

/** @internal Whether Node `version` takes raw header arrays in `request()`. */
export function acceptsRawArrays(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major >= RAW_ARRAYS_MAJOR) return true;
  const from = RAW_ARRAYS_FROM[major];
  return from !== undefined && minor >= from;
}
