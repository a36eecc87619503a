import { inStore } from './emitters.js';
import { storage, type GrayStore } from './storage.js';

/**
 * Response bodies read on demand (CTX-05). Koa pipes `ctx.body` in its `respond()`, after the
 * middleware promise settled; @hono/node-server reads the Web stream of the `Response` after
 * `app.fetch` resolved: both outside the request's `run()`. A body produced on demand — a Node
 * `Readable` whose `_read` (an async generator under `Readable.from`, a transform fed up front)
 * makes the next chunk, a Web `ReadableStream` whose `pull` does — then ran each chunk with no
 * lane: `getGrayVersion()` threw, an outbound call carried no marker.
 *
 * The adapters hand the body to {@link bindBodyStream} when the app sets it inside the request's
 * context; the methods a consumer reads the body through are bound on that one instance (own
 * properties, nothing on a prototype), so whoever calls them later — koa's `pipe`/`pipeline`,
 * `Readable.from(webStream)`, node-server's reader — makes the next chunk in the request's
 * context (or the stricter one that replaced it, GW-03, and the OTel context its handler runs
 * in). A Node stream's `read` (every path that calls `_read`: flowing mode, `pipe`, async
 * iteration, `read(0)` refills) and `pipe` (the listeners `pipe` adds on the response are then
 * added in the context, so they are bound too); a Web stream's `getReader` (its reader's `read`
 * and `cancel`), its async iterator (`next`, `return`), `pipeTo`, `pipeThrough`, `tee` and
 * `cancel`. Strings, buffers, blobs and JSON bodies are never touched; a body is bound once, to
 * the first request that sets it.
 */
export function bindBodyStream(store: GrayStore, body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  try {
    const b = body as Record<PropertyKey, unknown>;
    if (hasOwn.call(b, BOUND)) return;
    if (typeof b.getReader === 'function') bindWeb(store, b);
    else if (typeof b.pipe === 'function') bindNode(store, b);
  } catch {
    // A frozen or exotic body is read as it is (I1).
  }
}

/** True when `body` looks like a Web `ReadableStream` (what @hono/node-server itself tests). */
export function isWebStream(body: unknown): boolean {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { getReader?: unknown }).getReader === 'function'
  );
}

/**
 * The request's store when it is current and `res` is the response it was decided for; else
 * undefined (a body set from another request's callback, or outside any request, stays unbound).
 */
export function storeForResponse(res: unknown): GrayStore | undefined {
  const store = storage().getStore();
  return store !== undefined && store.response !== undefined && store.response === res
    ? store
    : undefined;
}

const hasOwn = Object.prototype.hasOwnProperty;
/** Marks a body graylane bound (a second copy of the package, or a second `ctx.body =`, skips). */
const BOUND = Symbol.for('@graylane/node.boundBody.v1');

type Method = (this: unknown, ...args: unknown[]) => unknown;

function bindNode(store: GrayStore, s: Record<PropertyKey, unknown>): void {
  mark(s);
  wrap(store, s, 'read');
  wrap(store, s, 'pipe');
}

function bindWeb(store: GrayStore, s: Record<PropertyKey, unknown>): void {
  mark(s);
  wrap(store, s, 'getReader', bindReader);
  wrap(store, s, 'values', bindIterator);
  wrap(store, s, Symbol.asyncIterator, bindIterator);
  wrap(store, s, 'pipeTo');
  wrap(store, s, 'pipeThrough');
  wrap(store, s, 'tee', bindBranches);
  wrap(store, s, 'cancel');
}

function bindReader(store: GrayStore, reader: unknown): void {
  if (typeof reader !== 'object' || reader === null) return;
  wrap(store, reader as Record<PropertyKey, unknown>, 'read');
  wrap(store, reader as Record<PropertyKey, unknown>, 'cancel');
}

function bindIterator(store: GrayStore, it: unknown): void {
  if (typeof it !== 'object' || it === null) return;
  wrap(store, it as Record<PropertyKey, unknown>, 'next');
  wrap(store, it as Record<PropertyKey, unknown>, 'return');
}

function bindBranches(store: GrayStore, branches: unknown): void {
  if (!Array.isArray(branches)) return;
  for (const b of branches) bindBodyStream(store, b);
}

function mark(s: object): void {
  Object.defineProperty(s, BOUND, { value: true, configurable: true });
}

/**
 * Replaces `target[name]` (a method) with an own property that calls it in `store`; `then`, when
 * given, is handed what the method returned (a reader, an iterator, branches) to bind in turn.
 * Not enumerable, so a body that is logged or spread looks as it did.
 */
function wrap(
  store: GrayStore,
  target: Record<PropertyKey, unknown>,
  name: PropertyKey,
  then?: (store: GrayStore, result: unknown) => void,
): void {
  const original = target[name];
  if (typeof original !== 'function') return;
  const method = original as Method;
  const bound = function graylaneBodyMethod(this: unknown): unknown {
    // eslint-disable-next-line prefer-rest-params
    const result = inStore(store, method, this, arguments);
    if (then !== undefined) then(store, result);
    return result;
  };
  Object.defineProperty(target, name, { value: bound, writable: true, configurable: true });
}

/**
 * @internal Wraps, once per process, the setter of `name` on the object of `from`'s prototype
 * chain that owns it (a framework's `ctx.body`, hono's `c.res`): after the framework's own
 * setter, an object value goes to `then` with the receiver. `mark` (a `Symbol.for` key, so every
 * copy of graylane reads it) says the setter is graylane's already. Never throws (I1): a frozen
 * prototype keeps its setter, and bodies are read as before.
 */
export function afterSetter<T>(
  from: unknown,
  name: string,
  mark: symbol,
  then: (self: T, value: object) => void,
): void {
  try {
    let owner = from as object | null;
    while (typeof owner === 'object' && owner !== null) {
      const d = Object.getOwnPropertyDescriptor(owner, name);
      if (d !== undefined) {
        const set = d.set as ((this: T, v: unknown) => void) | undefined;
        if (typeof set !== 'function' || typeof d.get !== 'function') return;
        if ((set as unknown as Record<symbol, unknown>)[mark] === true) return;
        const wrapped = function graylaneSetter(this: T, value: unknown): void {
          set.call(this, value);
          if (typeof value === 'object' && value !== null) then(this, value);
        };
        Object.defineProperty(wrapped, mark, { value: true });
        Object.defineProperty(owner, name, { ...d, set: wrapped });
        return;
      }
      owner = Object.getPrototypeOf(owner) as object | null;
    }
  } catch {
    // frozen: left as it is
  }
}
