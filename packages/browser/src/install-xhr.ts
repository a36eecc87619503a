import { clientOr } from './current.js';
import { hasPage } from './env.js';
import { takePlainXhr } from './plain.js';
import { REPLAYABLE, type WithGrayOptions } from './with-gray.js';

/** What the patch knows about one request of one `XMLHttpRequest`. */
interface Pending {
  /** The caller's `open` arguments, for a plain replay. */
  readonly open: readonly unknown[];
  /** The document base URL at `open`, where XHR resolved the URL (I8: not the one at `send`). */
  readonly base: string;
  /** Headers the caller set, in order, for a plain replay. */
  readonly headers: Array<readonly [string, string]>;
  /** The caller set the marker header: keep theirs, never add ours (OUT-04). */
  set: boolean;
  /** Sends the request again as the caller made it (armed for a marked, replayable request). */
  replay?: (() => void) | undefined;
  /** `held`: a readyState-4 failure is held back until we know why it failed. */
  state?: 'held' | 'stale' | undefined;
  /** Upload stage of the attempt in flight (see {@link STAGE}). */
  up: number;
  /** The stage the caller saw of the failed attempt: the replay's events up to it are hidden. */
  seen: number;
  /**
   * The replay of a request that had no upload object at `send()`: the browser reported no
   * upload progress for it, so only a failure's events are the caller's.
   */
  quiet?: boolean;
  /** Upload events that came with a held failure: given back on abort or timeout. */
  held: Event[];
  /** The upload event last judged, and whether it is hidden (every wrapper asks). */
  event?: Event;
  hide?: boolean;
}

/** The upload events, and the stage each one brings an upload to. */
const UPLOAD = ['loadstart', 'progress', 'load', 'error', 'abort', 'timeout', 'loadend'];
/** 1 started, 2 loaded, 3 failed, 4 ended. */
const STAGE = [1, 1, 2, 3, 3, 3, 4];
// A literal, not a spread of UPLOAD: a bundler keeps a top-level spread in bundles that never
// call installXHR.
const EVENTS = [
  'readystatechange',
  'loadstart',
  'progress',
  'load',
  'error',
  'abort',
  'timeout',
  'loadend',
];

let uninstall: (() => void) | undefined;

/**
 * Opt-in: patches `XMLHttpRequest` so allowed requests carry the marker. A header set by the
 * caller (or by axios) is kept and never repeated: a second `setRequestHeader` would merge into
 * `beta, beta` (OUT-04). Installs at most once and returns the uninstall function. Without a page
 * (SSR) it patches nothing and returns a no-op.
 *
 * Redirects (RDR-03): XHR follows redirects out of sight and keeps the header, so a redirect to a
 * third party that does not allow it in CORS fails the request. A marked GET, HEAD or OPTIONS
 * that fails that way at the network level is sent again once, as the caller wrote it
 * (no marker), and the caller sees only that second attempt. For that, `XMLHttpRequest` becomes a
 * subclass whose instances graylane can watch; instances of a constructor captured before
 * `installXHR` are marked but not replayed. A third party that allows the header in CORS
 * receives it (XHR cannot drop it per hop): prefer `withGray`/`installFetch` there.
 *
 * Upload events: the caller's listeners on `xhr.upload` see what a plain request shows. graylane
 * adds no listener there (one at `send()` makes the browser preflight a cross-origin request with
 * a body) and never reads `xhr.upload` first (an upload object that exists at `send()` makes
 * Chromium report progress); the upload object's `addEventListener`, `removeEventListener` and
 * `on…` handlers register the caller's listeners wrapped, one wrapper per listener, and the
 * wrappers hide the failed attempt's end and what the replay repeats.
 *
 * @example
 * ```ts
 * const uninstall = installXHR();
 * const xhr = new XMLHttpRequest();
 * xhr.open('GET', '/api/cart'); // sent with X-Gray-Id
 * xhr.send();
 * ```
 */
export function installXHR(options?: WithGrayOptions): () => void {
  if (!hasPage() || typeof XMLHttpRequest != 'function') return () => undefined;
  if (uninstall) return uninstall;
  const Native = XMLHttpRequest;
  const proto = Native.prototype;
  const { open, setRequestHeader, send } = proto;
  const pending = new WeakMap<XMLHttpRequest, Pending>();
  const watched = new WeakSet<XMLHttpRequest>();
  /** The upload object of a watched request, once the caller has read it. */
  const uploads = new WeakMap<XMLHttpRequest, XMLHttpRequestUpload>();
  /** The native setters of the `on…` upload handlers (none in a mock without the class). */
  const target = globalThis.XMLHttpRequestUpload?.prototype as object | undefined;
  const handlers = UPLOAD.map(
    (type) =>
      target &&
      Object.getOwnPropertyDescriptor(Object.getPrototypeOf(target) as object, 'on' + type)?.set,
  );
  let active = true;

  /** True when the caller must not see upload event `event` of `xhr`: no plain request shows it. */
  function hidden(xhr: XMLHttpRequest, event: Event): boolean {
    const p = pending.get(xhr);
    // Untrusted: given back by us (dispatched again) or dispatched by the caller.
    if (!p || !event.isTrusted) return false;
    if (p.event !== event) {
      p.event = event;
      if (p.state === 'held') p.hide = !!p.held.push(event);
      else {
        const stage = STAGE[UPLOAD.indexOf(event.type)] ?? 0;
        // Any event but loadstart means the upload started, whether the caller heard it or not.
        const before = event.type == 'loadstart' ? p.up : Math.max(p.up, 1);
        p.hide = before < p.seen || (!!p.quiet && stage != 3 && !(stage == 4 && p.up == 3));
        p.up = Math.max(before, stage);
      }
    }
    return !!p.hide;
  }

  /** Runs before any listener of the caller's: holds back, then hides, a failed attempt. */
  function watch(this: XMLHttpRequest, event: Event): void {
    const p = pending.get(this);
    const hide = (): void => event.stopImmediatePropagation();
    if (p?.state === 'stale') {
      // The failed attempt's last events arrive after the replay reopened (readyState 1).
      if (this.readyState < 2) return hide();
      p.state = undefined;
    } else if (p?.state === 'held') {
      if (event.type === 'progress') return hide();
      const replay = p.replay;
      p.state = p.replay = undefined;
      if (event.type === 'error' && replay) {
        hide();
        p.state = 'stale';
        return replay();
      }
      // Aborted or timed out: not ours to repeat; give back the readystatechange we held, then
      // the upload events that followed it.
      this.dispatchEvent(new Event('readystatechange'));
      for (const e of p.held.splice(0)) uploads.get(this)?.dispatchEvent(e);
    } else if (p?.replay && event.type === 'readystatechange' && this.readyState === 4) {
      if (this.status === 0) {
        hide();
        p.state = 'held';
      }
    }
  }

  class GrayXMLHttpRequest extends Native {
    constructor() {
      super();
      watched.add(this);
      for (const type of EVENTS) this.addEventListener(type, watch);
    }

    /** Made when the caller first reads it; every registration on it is then wrapped. */
    override get upload(): XMLHttpRequestUpload {
      const up = super.upload;
      if (up && !uploads.has(this)) {
        uploads.set(this, up);
        const wrappers = new WeakMap<object, EventListener>();
        const wrap = (listener: unknown): EventListener => {
          // null, undefined: the browser ignores them (a WeakMap would throw).
          if (Object(listener) !== listener) return listener as EventListener;
          let w = wrappers.get(listener as object);
          if (!w)
            wrappers.set(
              listener as object,
              (w = (event) => {
                if (hidden(this, event)) return;
                if (typeof listener == 'function') (listener as EventListener).call(up, event);
                else (listener as EventListenerObject).handleEvent(event);
              }),
            );
          return w;
        };
        for (const key of ['addEventListener', 'removeEventListener'] as const) {
          const native = up[key];
          up[key] = (type: string, listener: unknown, o?: boolean) =>
            native.call(up, type, wrap(listener), o);
        }
        UPLOAD.forEach((type, i) => {
          const set = handlers[i];
          let handler: unknown = null;
          if (set)
            Object.defineProperty(up, 'on' + type, {
              get: () => handler,
              set(v: unknown) {
                handler = typeof v == 'function' ? v : null;
                set.call(up, handler && wrap(handler));
              },
            });
        });
      }
      return up;
    }
  }

  const patched = {
    open(this: XMLHttpRequest, ...args: Parameters<typeof open>) {
      // XHR reads its URL once, here: so does graylane, and sends (and re-sends) that text — a
      // URL object the caller changes before send() must not move the judgement (I8).
      try {
        if (typeof args[1] != 'string') args[1] = String(args[1]);
      } catch {
        // The native open() throws the same for this URL.
      }
      const p = pending.get(this);
      // Our own replay reopens: keep its state; the caller's open starts a new request.
      if (p?.state !== 'stale')
        pending.set(this, {
          open: args,
          base: document.baseURI,
          headers: [],
          // graylane's own plain re-send (attachGray's, through axios' XHR adapter): left alone.
          set: takePlainXhr(),
          up: 0,
          seen: 0,
          held: [],
        });
      try {
        // Forward the exact arguments: `open(m, u)` and `open(m, u, undefined)` differ (async).
        return open.apply(this, args);
      } catch (error) {
        // A native open() that throws (a bad or forbidden method, a bad URL) changed nothing:
        // the XHR stays opened to its earlier URL, and send() judges that one (I8, review 156 D3).
        if (p) pending.set(this, p);
        else pending.delete(this);
        throw error;
      }
    },
    setRequestHeader(this: XMLHttpRequest, name: string, value: string) {
      // Recorded once the browser took it (a replay repeats only what the first attempt sent).
      const r = setRequestHeader.call(this, name, value);
      const p = pending.get(this);
      const client = clientOr(options?.client);
      if (p && p.state !== 'stale') {
        p.headers.push([name, value]);
        // String(): a `client` option that is not a client must not throw here, outside any try:
        // every setRequestHeader on the page would (review 69 D1).
        if (client && String(name).toLowerCase() === String(client.header).toLowerCase())
          p.set = true;
      }
      return r;
    },
    send(this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
      const p = pending.get(this);
      const client = clientOr(options?.client);
      // Synchronous: `open(m, u, false)` (or 0, null, undefined given): no events to hold.
      const sync = !!p && p.open.length > 2 && !p.open[2];
      let resend = false;
      try {
        const value =
          active && p && client && !p.set
            ? client.markerFor(new URL(p.open[1] as string, p.base).href)
            : undefined;
        if (p && client && value !== undefined && p.state !== 'stale') {
          setRequestHeader.call(this, client.header, value);
          p.set = true;
          const quiet = !uploads.has(this);
          resend = watched.has(this) && REPLAYABLE.test(String(p.open[0]));
          if (resend && !sync)
            p.replay = () => {
              open.apply(this, p.open as Parameters<typeof open>);
              for (const [n, v] of p.headers) setRequestHeader.call(this, n, v);
              p.seen = p.up;
              p.up = 0;
              p.quiet = quiet;
              p.held = [];
              send.call(this, body);
            };
        }
      } catch {
        // Never fail the caller's request because of the marker (I1).
      }
      if (!(resend && sync && p)) return send.call(this, body);
      try {
        return send.call(this, body);
      } catch (error) {
        // A synchronous request that failed at the network level throws before any event: sent
        // again plain, at once; the re-open's readystatechange is hidden (state 'stale').
        if ((error as Error)?.name != 'NetworkError') throw error;
        p.state = 'stale';
        try {
          open.apply(this, p.open as Parameters<typeof open>);
          for (const [n, v] of p.headers) setRequestHeader.call(this, n, v);
          return send.call(this, body);
        } finally {
          // Synchronous: every event of the re-send has fired (or it threw too); the caller's
          // next open() on this object starts a new request.
          p.state = undefined;
        }
      }
    },
  };
  Object.assign(proto, patched);
  globalThis.XMLHttpRequest = GrayXMLHttpRequest;
  const remove = (): void => {
    if (uninstall !== remove) return;
    active = false;
    uninstall = undefined;
    if (globalThis.XMLHttpRequest === GrayXMLHttpRequest) globalThis.XMLHttpRequest = Native;
    for (const [key, original] of [
      ['open', open],
      ['setRequestHeader', setRequestHeader],
      ['send', send],
    ] as const) {
      if (proto[key] === patched[key]) Object.assign(proto, { [key]: original });
    }
  };
  return (uninstall = remove);
}
