import type { Dispatcher } from 'undici';

/**
 * Node's bundled undici (the one behind global `fetch`: 6.x on Node 20 and 22, 7.x on 24), for
 * rows that must run on it rather than on npm's. Its Client and Pool classes are not exported;
 * they are the products of the factory of the Agent it makes when it loads. Import this module
 * before `undici`: npm undici sets its own Agent as the global dispatcher when it loads first.
 */
export type DispatcherClass = new (origin: string, options?: object) => Dispatcher;

const SLOT = Symbol.for('undici.globalDispatcher.1');

// A first `fetch()` call (a data: URL: no network) makes Node's undici set its Agent in the slot.
void fetch('data:,').then((r) => r.text());
const agent = (globalThis as Record<symbol, unknown>)[SLOT] as Record<symbol, unknown> | undefined;

/** Node's own undici `Client` and `Pool` classes (undefined if another Agent came first). */
export function nodeUndici(): { Client: DispatcherClass; Pool: DispatcherClass } | undefined {
  if (agent === undefined) return undefined;
  const key = Object.getOwnPropertySymbols(agent).find((s) => s.description === 'factory');
  const factory = key === undefined ? undefined : agent[key];
  if (typeof factory !== 'function') return undefined;
  const make = factory as (origin: string, options: object) => Dispatcher;
  // The factory makes a Client for `connections: 1`, a Pool otherwise (undici 6 and 7).
  const client = make('http://127.0.0.1:9', { connections: 1 });
  const pool = make('http://127.0.0.1:9', {});
  void client.close();
  void pool.close();
  return {
    Client: client.constructor as DispatcherClass,
    Pool: pool.constructor as DispatcherClass,
  };
}
