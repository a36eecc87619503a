import { warnPreflight } from './cors-warning.js';
import { clientOr } from './current.js';
import { hasPage } from './env.js';
import type { WithGrayOptions } from './with-gray.js';

interface Pending {
  url: string;
  set: boolean;
}

let uninstall: (() => void) | undefined;

/**
 * Opt-in: patches `XMLHttpRequest.prototype` (`open`, `setRequestHeader`, `send`) so allowed
 * requests carry the marker. A header set by the caller (or by axios) is kept and never repeated:
 * a second `setRequestHeader` would merge into `beta, beta` (OUT-04). Installs at most once and
 * returns the uninstall function. Without a page (SSR) it patches nothing and returns a no-op.
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
  const proto = XMLHttpRequest.prototype;
  const { open, setRequestHeader, send } = proto;
  const pending = new WeakMap<XMLHttpRequest, Pending>();
  let active = true;

  const patched = {
    open(this: XMLHttpRequest, ...args: Parameters<typeof open>) {
      pending.set(this, { url: String(args[1]), set: false });
      // Forward the exact arguments: `open(m, u)` and `open(m, u, undefined)` differ (async).
      return open.apply(this, args);
    },
    setRequestHeader(this: XMLHttpRequest, name: string, value: string) {
      const p = pending.get(this);
      const client = clientOr(options.client);
      if (p && client && String(name).toLowerCase() === client.header.toLowerCase()) p.set = true;
      return setRequestHeader.call(this, name, value);
    },
    send(this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
      const p = pending.get(this);
      const client = clientOr(options.client);
      try {
        const value = active && p && client && !p.set ? client.markerFor(p.url) : undefined;
        if (p && client && value !== undefined) {
          setRequestHeader.call(this, client.header, value);
          p.set = true;
          const url = p.url;
          this.addEventListener('error', () => warnPreflight(client, url));
          this.addEventListener('load', () =>
            client.readResponse(this.responseURL || url, { get: (n) => this.getResponseHeader(n) }),
          );
        }
      } catch {
        // Never fail the caller's request because of the marker (I1).
      }
      return send.call(this, body);
    },
  };
  Object.assign(proto, patched);
  const remove = (): void => {
    if (uninstall !== remove) return;
    active = false;
    uninstall = undefined;
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
