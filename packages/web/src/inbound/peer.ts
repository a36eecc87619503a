import { UNIX_PEER } from '@graylane/core';

/** The parts of the runtimes' per-request objects a peer is read from (hono's `c.env`). */
interface RuntimeEnv {
  /** @hono/node-server: the Node request (`{ incoming, outgoing }`). */
  readonly incoming?: {
    readonly socket?: { remoteAddress?: string; server?: { address?(): unknown } };
  };
  /** Deno.serve's handler info. */
  readonly remoteAddr?: { transport?: string; hostname?: string };
  /** Bun.serve's server (hono's `getBunServer`: `c.env.server`, else `c.env` itself). */
  readonly requestIP?: (request: Request) => { address?: string } | null;
  readonly url?: unknown;
  readonly server?: RuntimeEnv;
}

/**
 * The socket peer of `request` as the runtime that serves it reports it, read where hono's
 * `getConnInfo` reads it: @hono/node-server's `c.env.incoming.socket.remoteAddress`, Deno's
 * `c.env.remoteAddr.hostname`, Bun's `c.env.requestIP(request)?.address`; `'unix'` (UNIX_PEER)
 * for a server on a Unix domain socket, decided by the listener, never by a missing address.
 * `false` when `env` is none of these runtimes' (Workers bindings, Vercel): the caller's
 * `remoteAddress` option applies. `undefined` when the runtime knows no peer (none is trusted).
 * Never throws.
 */
export function runtimePeer(env: unknown, request: Request): string | undefined | false {
  if (typeof env !== 'object' || env === null) return false;
  try {
    const own = env as RuntimeEnv;
    const e = typeof own.server === 'object' && own.server !== null ? own.server : own;
    const socket = e.incoming?.socket;
    if (typeof socket === 'object' && socket !== null) {
      const address = socket.remoteAddress;
      if (typeof address === 'string') return address;
      return typeof socket.server?.address?.() === 'string' ? UNIX_PEER : undefined;
    }
    const remote = own.remoteAddr;
    if (typeof remote?.transport === 'string')
      return remote.transport === 'unix' ? UNIX_PEER : str(remote.hostname);
    if (typeof e.requestIP === 'function') {
      const address = str(e.requestIP(request)?.address);
      return address ?? (String(e.url).startsWith('unix:') ? UNIX_PEER : undefined);
    }
  } catch {
    return undefined;
  }
  return false;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
