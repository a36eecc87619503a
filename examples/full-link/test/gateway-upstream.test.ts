/**
 * The gateway's connections to its upstreams, against a real `node:http` upstream on 127.0.0.1.
 *
 * The demo used to answer a visitor 502 now and then on a busy machine: the proxy's keep-alive
 * agent had no idle timeout (Node applies an upstream's `Keep-Alive: timeout=N` hint only by
 * lowering a timeout the agent already has), so it kept idle connections longer than `orders`
 * (Node's 5 s default) and sometimes sent a request on one at the moment `orders` closed it:
 * ECONNRESET. Now the gateway closes an idle connection itself, before the upstream would.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { createConfigStore } from '@graylane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { addLane, createLaneTable } from '../src/lanes.js';
import { close, listen } from '../src/listen.js';
import { UPSTREAM_IDLE_MS } from '../src/timeouts.js';

/** How one upstream connection ended. */
interface Ended {
  /** The gateway closed it (the upstream read end-of-stream first). */
  readonly byPeer: boolean;
  /** Milliseconds from its last response to its close. */
  readonly idleMs: number;
}

describe('the gateway closes idle upstream connections before the upstream does', () => {
  let upstream: Server;
  let gateway: RunningGateway;
  const ended: Ended[] = [];
  const lastAnswer = new WeakMap<Socket, number>();

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? 0);
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ hops: [], seen: req.headers['x-gray-id'] ?? null }));
        res.once('finish', () => lastAnswer.set(req.socket, performance.now()));
      }, delay);
    });
    // Far longer than the gateway's idle bound: if the connection closes, the gateway closed it.
    upstream.keepAliveTimeout = 120_000;
    upstream.on('connection', (socket: Socket) => {
      let byPeer = false;
      socket.once('end', () => (byPeer = true));
      socket.once('close', () => {
        const at = lastAnswer.get(socket);
        ended.push({ byPeer, idleMs: at === undefined ? -1 : performance.now() - at });
      });
    });
    const port = await listen(upstream, 'upstream', 0);
    const lanes = createLaneTable();
    addLane(lanes, 'orders', 'stable', `http://127.0.0.1:${port}`);
    gateway = await startGateway({
      instance: 'gateway',
      port: 0,
      lanes,
      config: createConfigStore({ initial: { versions: ['stable', 'beta'], default: 'stable' } }),
      trust: 'open',
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await close(upstream);
  });

  it('an idle connection is closed by the gateway after about UPSTREAM_IDLE_MS, not left to the upstream', async () => {
    const res = await fetch(`${gateway.url}/api/orders/1`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ hops: [], seen: 'stable' });
    // Bounded wait: the upstream itself would close only after two minutes.
    const deadline = performance.now() + 10 * UPSTREAM_IDLE_MS;
    while (ended.length === 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ended).toHaveLength(1);
    expect(ended[0]?.byPeer).toBe(true);
    // Not before the idle bound (a connection per request would defeat keep-alive).
    expect(ended[0]?.idleMs).toBeGreaterThanOrEqual(UPSTREAM_IDLE_MS * 0.9);
  }, 60_000);

  it('a response slower than the idle bound still arrives (the bound is for idle connections only)', async () => {
    const res = await fetch(`${gateway.url}/api/orders/1?delay=${UPSTREAM_IDLE_MS + 1_000}`, {
      headers: { 'x-gray-id': 'beta' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ hops: [], seen: 'beta' });
  });
});
