import { flatOps, type HeaderOps } from './hop-headers.js';

/**
 * undici request headers in any of the shapes undici 6, 7 and 8 accept: a record (undici 8 types
 * it as Node's `OutgoingHttpHeaders`, so a value may be a number), a flat
 * `[name, value, name, value]` array, or an iterable of `[name, value]` pairs. Declared here, not
 * imported: it must stay wider than every supported undici's `DispatchOptions['headers']`, or
 * TypeScript cannot fit `grayInterceptor()` to that undici's `compose`.
 */
export type UndiciHeaders =
  | Readonly<Record<string, string | number | readonly string[] | undefined>>
  | readonly string[]
  | Iterable<readonly [string, string | number | readonly string[] | undefined]>
  | null
  | undefined;

/** @internal Flattens undici headers into a fresh `[name, value, …]` list (the input is not touched). */
export function toFlatList(headers: UndiciHeaders): string[] {
  const out: string[] = [];
  if (headers === null || headers === undefined) return out;
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown as (readonly [string, unknown])[])
        push(out, pair[0], pair[1]);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) push(out, headers[i], headers[i + 1]);
    }
    return out;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<readonly [string, unknown]>) push(out, pair[0], pair[1]);
    return out;
  }
  for (const name of Object.keys(headers))
    push(out, name, (headers as Record<string, unknown>)[name]);
  return out;
}

function push(out: string[], name: unknown, value: unknown): void {
  if (typeof name !== 'string' || value === undefined || value === null) return;
  if (Array.isArray(value)) for (const v of value) out.push(name, String(v));
  else out.push(name, String(value));
}

/** @internal Read access over a flat list (case-insensitive names). */
export function flatAccess(list: readonly unknown[]): {
  has(name: string): boolean;
  get(name: string): string[] | undefined;
} {
  const values = (name: string): string[] => {
    const found: string[] = [];
    for (let i = 0; i + 1 < list.length; i += 2) {
      const n = list[i];
      if (typeof n === 'string' && n.toLowerCase() === name) found.push(String(list[i + 1]));
    }
    return found;
  };
  return {
    has: (name) => values(name).length > 0,
    get: (name) => {
      const v = values(name);
      return v.length === 0 ? undefined : v;
    },
  };
}

/**
 * @internal Ops over a copy of `http.request`'s array-form `headers`, in the shape given (Node
 * 20–24 `_storeHeader`): `[name, value]` pairs when the first entry is an array, else a flat
 * `[name, value, …]` list. A value may be an array (one header line each). Entries are replaced
 * whole, never edited; the input is not touched.
 */
export function nodeArrayHeaders(headers: readonly unknown[]): {
  readonly copy: unknown[];
  readonly ops: HeaderOps;
} {
  const copy = headers.slice();
  if (!Array.isArray(copy[0])) return { copy, ops: flatOps(copy) };
  const named = (entry: unknown, name: string): entry is readonly unknown[] =>
    Array.isArray(entry) && typeof entry[0] === 'string' && entry[0].toLowerCase() === name;
  const remove = (name: string): void => {
    for (let i = copy.length - 1; i >= 0; i--) if (named(copy[i], name)) copy.splice(i, 1);
  };
  return {
    copy,
    ops: {
      values(name) {
        const out: string[] = [];
        for (const entry of copy)
          if (named(entry, name)) {
            const v = entry[1];
            if (Array.isArray(v)) for (const x of v) out.push(String(x));
            else out.push(String(v));
          }
        return out;
      },
      set(name, value) {
        remove(name);
        copy.push([name, value]);
      },
      remove,
    },
  };
}

/** @internal undici < 6.7's head: "name: value\r\n" per header (values hold no CR or LF: undici checks). */
export function rawToList(raw: string): string[] {
  const list: string[] = [];
  for (const line of raw.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) list.push(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return list;
}

/** @internal The list back as undici < 6.7's head string. */
export function listToRaw(list: readonly unknown[]): string {
  let raw = '';
  for (let i = 0; i + 1 < list.length; i += 2)
    raw += `${String(list[i])}: ${String(list[i + 1])}\r\n`;
  return raw;
}
