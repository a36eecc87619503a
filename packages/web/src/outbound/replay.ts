import { MAX_REDIRECT_REPLAY_BYTES } from '../limits.js';

/** A request body, as `RequestInit` types it. */
type RequestBody = NonNullable<RequestInit['body']>;

/**
 * What {@link Replay.take} gives for a body without a source: a stream. Fetch fails a redirect
 * other than a 303 while the request has such a body, even a 301/302 that makes it a GET
 * (https://fetch.spec.whatwg.org/#http-redirect-fetch, step 11).
 */
export const STREAM: unique symbol = Symbol('graylane.stream');

/**
 * The body a 307/308 hop resends. The Fetch standard resends a body from its *source* (a
 * string, bytes, a Blob, form data) and fails the fetch when the body was a stream
 * (https://fetch.spec.whatwg.org/#http-redirect-fetch, step 11). A wrapper cannot see a
 * `Request`'s source, so:
 * - a body given in `init` as a string, bytes, a Blob or `URLSearchParams` is resent from that
 *   value (no copy, no limit);
 * - a body given as a stream in `init` cannot be resent, as in fetch ({@link STREAM});
 * - a `Request`'s body, and `FormData` (whose multipart boundary must stay the one the first
 *   hop announced), are copied as they are sent, up to `maxBytes` (bounded memory, I4); a
 *   larger one cannot be resent;
 * - a `Request`'s body may be a stream, which fetch rejects at once on such a redirect (and on
 *   a 301/302): its copy is resent only when it is whole one turn of the event loop after the
 *   redirect is read, else it is taken for a stream ({@link STREAM}), and never waited for (a stream the caller keeps open would hang the call, abort or not). A body
 *   held in memory is whole by then (measured up to 1 MB in Node 20–24 and workerd). `FormData`
 *   given in `init` is read by the runtime alone, never by the caller: its copy is waited for.
 */
export interface Replay {
  /**
   * The body for the next hop; {@link STREAM} for a stream; undefined for no body, or one that
   * cannot be resent for another reason (past the limit, not copyable). Call once per hop.
   */
  take(): Promise<RequestBody | typeof STREAM | undefined>;
  /** Releases whatever the replay holds (the response did not ask for the body again). */
  release(): void;
}

/** No body to resend. */
export const NONE: Replay = { take: () => Promise.resolve(undefined), release: () => undefined };
/** A stream given in `init`: never resent. */
const SOURCELESS: Replay = { take: () => Promise.resolve(STREAM), release: () => undefined };

/**
 * Plans the replay of `request`'s body, built from `input` and `init`. May clone `request`
 * (taking its body over for the first hop): send the returned `first` request, not `request`.
 */
export function planReplay(
  request: Request,
  input: string | URL | Request,
  init: RequestInit | undefined,
  maxBytes: number = MAX_REDIRECT_REPLAY_BYTES,
): Replay {
  try {
    return plan(request, input, init, maxBytes);
  } catch {
    return NONE; // I1: a body we cannot copy is not resent (the 307/308 then rejects, as for a stream)
  }
}

function plan(
  request: Request,
  input: string | URL | Request,
  init: RequestInit | undefined,
  maxBytes: number,
): Replay {
  if (request.body === null) return NONE;
  const given = init?.body;
  if (given !== undefined && given !== null) {
    const kind = bodyKind(given);
    if (kind === 'stream') return SOURCELESS;
    if (kind === 'value') return fromValue(given);
  } else if (typeof input === 'string' || input instanceof URL) {
    return NONE;
  }
  return fromStream(request.clone().body, maxBytes, given !== undefined && given !== null);
}

/**
 * Plans the replay of a body given in `init` to a fetch that gets the URL and the init (not a
 * `Request`): a stream cannot be resent; anything else is resent from the value itself, `FormData`
 * included (that fetch extracts it again, boundary and `Content-Type` together). Reads nothing.
 */
export function planInitReplay(init: RequestInit | undefined): Replay {
  const given = init?.body;
  if (given === undefined || given === null) return NONE;
  return bodyKind(given) === 'stream' ? SOURCELESS : fromValue(given);
}

function fromValue(value: RequestBody): Replay {
  return { take: () => Promise.resolve(value), release: () => undefined };
}

/**
 * Copies a tee'd branch of the body while the first hop sends the other one, and gives up (and
 * cancels the branch, so the tee stops buffering for it) past `maxBytes` or when released.
 * Unless `wait`, a copy still running one turn of the event loop after it is asked for is given
 * up too: a body held in memory is whole by then, a stream the caller keeps open never is.
 */
function fromStream(
  branch: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  wait: boolean,
): Replay {
  if (branch === null) return NONE;
  const reader = branch.getReader();
  const release = (): undefined => void reader.cancel().catch(() => undefined);
  const copied = (async (): Promise<Uint8Array | undefined> => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return concat(chunks, total);
      total += value.byteLength;
      if (total > maxBytes) return release(); // past the limit: not resent, stream or not
      chunks.push(value);
    }
  })().catch(() => undefined);
  return {
    take: () =>
      wait
        ? copied
        : Promise.race([
            copied,
            new Promise((resolve) => setTimeout(resolve, 0)).then((): typeof STREAM => {
              release();
              return STREAM;
            }),
          ]),
    release,
  };
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * How the Fetch standard can resend a body given in `init`: `value` for a string, bytes, a Blob
 * or `URLSearchParams` (resent as is); `copy` for `FormData` (a new extraction would announce a
 * new boundary); `stream` for streams and async iterables (never resent). Duck-typed, so a value
 * from another realm (edge-runtime's sandbox) is recognised too.
 */
function bodyKind(body: RequestBody): 'value' | 'copy' | 'stream' {
  if (typeof body === 'string') return 'value';
  if (typeof body !== 'object') return 'stream';
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return 'value';
  const b = body as unknown as Record<string | symbol, unknown>;
  if (typeof b['getReader'] === 'function' || typeof b[Symbol.asyncIterator] === 'function')
    return 'stream';
  if (typeof b['arrayBuffer'] === 'function' && typeof b['size'] === 'number') return 'value';
  if (typeof b['getAll'] === 'function') return typeof b['sort'] === 'function' ? 'value' : 'copy'; // URLSearchParams : FormData
  return Object.prototype.toString.call(body) === '[object ArrayBuffer]' ? 'value' : 'copy';
}
