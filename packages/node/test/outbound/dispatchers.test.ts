import { Writable } from 'node:stream';
import axios from 'axios';
import * as undici from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  attachGray,
  installGlobal,
  runWithGray,
  withGray,
  type FetchLike,
} from '../../src/index.js';

/*
 * I1 / OUT-03: graylane never makes a working call fail. Its dispatchers stand in for the
 * app's: the per-call dispatcher of `withGray(fetch)` / `attachGray` (fetch adapter) in front of
 * the caller's or the global one, and `installGlobal`'s wrapper around the global dispatcher.
 * Each must look like the dispatcher it wraps — undici's fetch reads `isMockActive` from it (a
 * MockAgent's body matchers then see the body), and an app calls `close()` / `destroy()` on
 * `getGlobalDispatcher()`, whose `#private` fields need the real agent as `this`.
 */

const ORIGIN = 'http://orders.test';
const original = undici.getGlobalDispatcher();
let uninstall: () => void = () => undefined;
afterEach(() => {
  uninstall();
  uninstall = () => undefined;
  undici.setGlobalDispatcher(original);
});

/** A MockAgent that answers POST /orders whose JSON body matches, recording the marker it saw. */
function mockOrders(): { agent: undici.MockAgent; seen: (string | null)[] } {
  const agent = new undici.MockAgent();
  agent.disableNetConnect();
  const seen: (string | null)[] = [];
  agent
    .get(ORIGIN)
    .intercept({
      path: '/orders',
      method: 'POST',
      body: (body) => (JSON.parse(body) as { item?: string }).item === 'book',
      headers: (h) => {
        const headers = h as Record<string, string>;
        seen.push(headers['x-gray-id'] ?? null);
        return true;
      },
    })
    .reply(201, 'created')
    .persist();
  return { agent, seen };
}

const post = { method: 'POST', body: JSON.stringify({ item: 'book' }) };
const FETCHES: [string, FetchLike][] = [
  ['global fetch', fetch],
  ['undici.fetch', undici.fetch as unknown as FetchLike],
];

describe('I1 a MockAgent still matches bodies through graylane’s dispatchers', () => {
  it.each(
    FETCHES.flatMap(([name, impl]) =>
      [true, false].map(
        (allowed) => [name, allowed ? 'allowlisted' : 'not allowlisted', impl, allowed] as const,
      ),
    ),
  )(
    'I1 withGray(%s) with the MockAgent as init.dispatcher, host %s',
    async (_n, _a, impl, allowed) => {
      const { agent, seen } = mockOrders();
      const grayFetch = withGray(impl, { allowHosts: allowed ? [ORIGIN] : [] });
      for (const lane of [undefined, 'beta']) {
        const call = () =>
          grayFetch(`${ORIGIN}/orders`, { ...post, dispatcher: agent } as unknown as RequestInit);
        const res = await (lane ? runWithGray(lane, call) : call());
        expect(res.status).toBe(201);
        expect(await res.text()).toBe('created');
      }
      expect(seen).toEqual([null, allowed ? 'beta' : null]);
      await agent.close();
    },
  );

  it.each(FETCHES)(
    'I1 withGray(%s) with the MockAgent as the global dispatcher',
    async (_n, impl) => {
      const { agent, seen } = mockOrders();
      undici.setGlobalDispatcher(agent);
      const res = await runWithGray('beta', () =>
        withGray(impl, { allowHosts: [ORIGIN] })(`${ORIGIN}/orders`, post),
      );
      expect(res.status).toBe(201);
      expect(seen).toEqual(['beta']);
      await agent.close();
    },
  );

  it('I1 installGlobal, then the MockAgent as the global dispatcher: global fetch in a lane', async () => {
    const { agent, seen } = mockOrders();
    undici.setGlobalDispatcher(agent);
    uninstall = installGlobal({ allowHosts: [ORIGIN] });
    const res = await runWithGray('beta', () => fetch(`${ORIGIN}/orders`, post));
    expect(res.status).toBe(201);
    // installGlobal marks the request undici creates; a MockAgent answers before one exists.
    expect(seen).toHaveLength(1);
    await agent.close();
  });

  it('I1 axios with the fetch adapter and attachGray, the MockAgent as the global dispatcher', async () => {
    const { agent, seen } = mockOrders();
    undici.setGlobalDispatcher(agent);
    const api = axios.create({ adapter: 'fetch' });
    attachGray(api, { allowHosts: [ORIGIN] });
    const res = await runWithGray('beta', () => api.post(`${ORIGIN}/orders`, { item: 'book' }));
    expect(res.status).toBe(201);
    expect(seen).toEqual(['beta']);
    await agent.close();
  });
});

type Make = () => undici.Dispatcher;
const KINDS: [string, Make, new (...args: never[]) => undici.Dispatcher][] = [
  ['Agent', () => new undici.Agent(), undici.Agent],
  ['RetryAgent', () => new undici.RetryAgent(new undici.Agent()), undici.RetryAgent],
  ['ProxyAgent', () => new undici.ProxyAgent('http://127.0.0.1:9'), undici.ProxyAgent],
  [
    'EnvHttpProxyAgent',
    () => new undici.EnvHttpProxyAgent({ httpProxy: 'http://127.0.0.1:9' }),
    undici.EnvHttpProxyAgent,
  ],
  ['MockAgent', () => new undici.MockAgent(), undici.MockAgent],
];

describe('I1 installGlobal’s wrapper looks like the global dispatcher it wraps', () => {
  /** How `method` ends on `d`: 'ok' or the error's message. */
  const outcome = async (d: undici.Dispatcher, method: 'close' | 'destroy') => {
    try {
      await d[method]();
      return 'ok';
    } catch (err) {
      return (err as Error).message;
    }
  };

  it.each(
    KINDS.flatMap(([n, make, Kind]) =>
      (['close', 'destroy'] as const).map((m) => [n, m, make, Kind] as const),
    ),
  )(
    'I1 %s as the global dispatcher: %s() on getGlobalDispatcher() ends as without graylane; class and identity kept',
    async (_n, method, make, Kind) => {
      const plain = await outcome(make(), method);
      const dispatcher = make();
      undici.setGlobalDispatcher(dispatcher);
      uninstall = installGlobal();
      const seen = undici.getGlobalDispatcher();
      expect(seen).not.toBe(dispatcher); // the wrapper is in place
      expect(seen).toBeInstanceOf(Kind);
      expect(seen.constructor).toBe(Kind);
      expect(seen.close).toBe(seen.close); // bound once, not per read
      expect(await outcome(seen, method)).toBe(plain);
      uninstall();
      expect(undici.getGlobalDispatcher()).toBe(dispatcher);
    },
  );

  it('I1 the Dispatcher API on the wrapper still sends through it (request, stream)', async () => {
    const { agent } = mockOrders();
    agent.get(ORIGIN).intercept({ path: '/s', method: 'GET' }).reply(200, 'streamed').persist();
    undici.setGlobalDispatcher(agent);
    uninstall = installGlobal({ allowHosts: [ORIGIN] });
    const d = undici.getGlobalDispatcher();
    const res = await d.request({ origin: ORIGIN, path: '/orders', ...post });
    expect(res.statusCode).toBe(201);
    await res.body.dump();
    let text = '';
    await d.stream({ origin: ORIGIN, path: '/s', method: 'GET' }, () => {
      return new Writable({
        write(chunk: Buffer, _e, cb) {
          text += chunk.toString();
          cb();
        },
      });
    });
    expect(text).toBe('streamed');
    await agent.close();
  });
});
