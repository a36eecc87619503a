import { socketPeer, UNIX_PEER, type SocketLike } from '@graylane/core';

/** The parts of the runtimes' per-request objects a peer is read from (hono's `c.env`). */
interface RuntimeEnv {
  /** @hono/node-server: the Node request (`{ incoming, outgoing }`). */
  readonly incoming?: {
    readonly socket?: SocketLike;
  };
  /** Deno.serve's handler info. */
  readonly remoteAddr?: { transport?: string; hostname?: string };
  /** Bun.serve's server (hono's `getBunServer`: `c.env.server`, else `c.env` itself). */
  readonly requestIP?: (request: Request) => { address?: string } | null;
  readonly url?: unknown;
  readonly server?: RuntimeEnv;
}

/** The runtime globals that tell Bun and Deno apart (Workers and Vercel have neither). */
interface RuntimeGlobals {
  readonly Bun?: unknown;
  readonly Deno?: unknown;
  readonly navigator?: { readonly userAgent?: unknown };
}

/**
 * The socket peer of `request` as the runtime that serves it reports it, read where hono's
 * `getConnInfo` reads it: @hono/node-server's `c.env.incoming.socket.remoteAddress`, Deno's
 * `c.env.remoteAddr.hostname`, Bun's `c.env.requestIP(request)?.address`; `'unix'` (UNIX_PEER)
 * for a server on a Unix domain socket, decided by the listener, never by a missing address.
 * Each shape is trusted only on its runtime (the `Bun` or `Deno` global; not on Workers for
 * Node's): on Workers `c.env` holds the app's bindings, and a service binding answers any
 * property with an RPC stub — calling `env.server.requestIP(request)` would send the request,
 * body and all, to that service (review 67 D1). Nothing is called but Bun's own `requestIP`.
 * `false` when `env` is none of these runtimes' (Workers bindings, Vercel): the caller's
 * `remoteAddress` option applies. `undefined` when the runtime knows no peer (none is trusted).
 * Never throws.
 */
export function runtimePeer(env: unknown, request: Request): string | undefined | false {
  if (typeof env !== 'object' || env === null) return false;
  try {
    const g = globalThis as RuntimeGlobals;
    const own = env as RuntimeEnv;
    if (typeof g.Bun === 'object' && g.Bun !== null) {
      const e = typeof own.server === 'object' && own.server !== null ? own.server : own;
      if (typeof e.requestIP !== 'function') return false;
      const address = str(e.requestIP(request)?.address);
      return address ?? (String(e.url).startsWith('unix:') ? UNIX_PEER : undefined);
    }
    if (typeof g.Deno === 'object' && g.Deno !== null) {
      const remote = own.remoteAddr;
      if (typeof remote !== 'object' || remote === null || typeof remote.transport !== 'string')
        return false;
      return remote.transport === 'unix' ? UNIX_PEER : str(remote.hostname);
    }
    if (g.navigator?.userAgent === 'Cloudflare-Workers') return false;
    const incoming = own.incoming ?? own.server?.incoming;
    const socket = typeof incoming === 'object' && incoming !== null ? incoming.socket : undefined;
    if (typeof socket === 'object' && socket !== null) return socketPeer(socket);
  } catch {
    return undefined;
  }
  return false;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
