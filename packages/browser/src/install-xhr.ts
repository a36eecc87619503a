import { clientOr } from './current.js';
import { hasPage } from './env.js';
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
}

/** Events of the request that a plain replay hides from the caller (from the failed attempt). */
const EVENTS = [
  'readystatechange',
  'loadstart',
  'progress',
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
 * third party that does not allow it in CORS fails the request. A marked GET, HEAD, OPTIONS, PUT
 * or DELETE that fails that way at the network level is sent again once, as the caller wrote it
 * (no marker), and the caller sees only that second attempt. For that, `XMLHttpRequest` becomes a
 * subclass whose instances graylane can watch; instances of a constructor captured before
 * `installXHR` are marked but not replayed. A third party that allows the header in CORS
 * receives it (XHR cannot drop it per hop): prefer `withGray`/`installFetch` there.
 *
 * @example
 * ```ts
 * const uninstall = installXHR();
 * const xhr = new XMLHttpRequest();
 * xhr.open('GET', '/api/cart'); // sent with X-Gray-Id
 * xhr.send();
 * ```
 */
export function installXHR(options: WithGrayOptions = {}): () => void {
  if (!hasPage() || typeof XMLHttpRequest != 'function') return () => undefined;
  if (uninstall) return uninstall;
  const Native = XMLHttpRequest;
  const proto = Native.prototype;
  const { open, setRequestHeader, send } = proto;
  const pending = new WeakMap<XMLHttpRequest, Pending>();
  const watched = new WeakSet<XMLHttpRequest>();
  let active = true;

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
      // Aborted or timed out: not ours to repeat; give back the readystatechange we held.
      this.dispatchEvent(new Event('readystatechange'));
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
  }

  const patched = {
    open(this: XMLHttpRequest, ...args: Parameters<typeof open>) {
      const p = pending.get(this);
      // Our own replay reopens: keep its state; the caller's open starts a new request.
      if (p?.state !== 'stale')
        pending.set(this, { open: args, base: document.baseURI, headers: [], set: false });
      // Forward the exact arguments: `open(m, u)` and `open(m, u, undefined)` differ (async).
      return open.apply(this, args);
    },
    setRequestHeader(this: XMLHttpRequest, name: string, value: string) {
      const p = pending.get(this);
      const client = clientOr(options.client);
      if (p && p.state !== 'stale') {
        p.headers.push([name, value]);
        if (client && String(name).toLowerCase() === client.header.toLowerCase()) p.set = true;
      }
      return setRequestHeader.call(this, name, value);
    },
    send(this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
      const p = pending.get(this);
      const client = clientOr(options.client);
      try {
        const value =
          active && p && client && !p.set
            ? client.markerFor(new URL(p.open[1] as string, p.base).href)
            : undefined;
        if (p && client && value !== undefined && p.state !== 'stale') {
          setRequestHeader.call(this, client.header, value);
          p.set = true;
          if (watched.has(this) && REPLAYABLE.test(String(p.open[0])) && p.open[2] !== false)
            p.replay = () => {
              open.apply(this, p.open as Parameters<typeof open>);
              for (const [n, v] of p.headers) setRequestHeader.call(this, n, v);
              send.call(this, body);
            };
        }
      } catch {
        // Never fail the caller's request because of the marker (I1).
      }
      return send.call(this, body);
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
