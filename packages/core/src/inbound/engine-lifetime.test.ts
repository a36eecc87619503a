import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { plainCarrier } from '../../test/fixtures.js';
import { createConfigStore } from '../store/store.js';
import type { ConfigStore } from '../store/types.js';
import type { InboundCarrier } from './carrier.js';
import { createInboundEngine, type InboundPlatform } from './engine.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const BASE = { versions: ['stable', 'beta'], default: 'stable' };
/** A split on a cookie nothing mints: every engine warns about it on a reload. */
const UNMINTED = {
  ...BASE,
  rules: [
    {
      id: 'ramp',
      split: [
        { version: 'beta', weight: 50 },
        { version: 'stable', weight: 50 },
      ],
      bucketBy: 'cookie:uid',
    },
  ],
};

/** A real store that counts the listeners subscribed to it and not yet unsubscribed. */
function countingStore(): ConfigStore & { active(): number } {
  const store = createConfigStore({ initial: BASE });
  let active = 0;
  return {
    get: () => store.get(),
    update: (input, meta) => store.update(input, meta),
    subscribe(listener) {
      const off = store.subscribe(listener);
      active++;
      let done = false;
      return () => {
        if (!done) active--;
        done = true;
        off();
      };
    },
    active: () => active,
  };
}

/** A request carrying only `headers`. */
const carrier = (headers: Record<string, string>): InboundCarrier =>
  plainCarrier(headers, { host: 'a', remoteAddress: undefined });

function platform(warnings: string[] = []): InboundPlatform {
  return { randomId: () => 'id', warn: (m) => warnings.push(m) };
}

/**
 * Collects until every ref is empty (or gives up after 30 GCs; the assertion then says so).
 * `deref()` keeps its target alive until the current task ends, so each GC runs in a task of
 * its own, after the previous check's.
 */
async function collect(refs: readonly WeakRef<object>[]): Promise<number> {
  const task = () => new Promise((resolve) => setImmediate(resolve));
  let alive = refs.length;
  for (let i = 0; i < 30 && alive > 0; i++) {
    await task();
    gc();
    await task();
    alive = refs.filter((r) => r.deref() !== undefined).length;
  }
  // Finalization callbacks run in a later task.
  await new Promise((resolve) => setTimeout(resolve, 10));
  return alive;
}

describe('an engine and the store it reads', () => {
  it('CTX-11 engines built on a shared store are collected with their platform, options and counters, and their listeners leave', async () => {
    const store = countingStore();
    const refs: WeakRef<object>[] = [];
    // As an app that builds an engine per router, per tenant or per test over one store.
    const build = (i: number): void => {
      const p = platform();
      const options = { config: store, debugHeader: i % 2 === 0, attributes: () => ({ i }) };
      const engine = createInboundEngine(options, p);
      refs.push(new WeakRef(p), new WeakRef(options), new WeakRef(engine));
    };
    for (let i = 0; i < 40; i++) build(i);
    expect(store.active()).toBe(40);
    expect(await collect(refs)).toBe(0);
    // Gone already through finalization, or at the latest on the store's next event.
    store.update(UNMINTED, { source: 'file' });
    expect(store.active()).toBe(0);
  });

  it('CTX-11 a listener whose engine is gone leaves on the next event, in any event order', async () => {
    for (const first of ['change', 'rejected', 'unchanged'] as const) {
      const store = countingStore();
      let ref: WeakRef<object> | undefined;
      (() => {
        const p = platform();
        createInboundEngine({ config: store }, p);
        ref = new WeakRef(p);
      })();
      expect(await collect([ref as WeakRef<object>])).toBe(0);
      if (first === 'change') store.update(UNMINTED);
      else if (first === 'rejected') store.update({ versions: [] });
      else store.update(BASE);
      // An unchanged update emits nothing: the listener may still be there until an event.
      if (first === 'unchanged' && store.active() === 1) store.update(UNMINTED);
      expect(store.active(), first).toBe(0);
    }
  });

  it('CTX-11 an engine that is alive keeps its reload check through collections', async () => {
    const store = countingStore();
    const warnings: string[] = [];
    const engine = createInboundEngine({ config: store }, platform(warnings));
    const garbage: WeakRef<object>[] = [];
    for (let i = 0; i < 5; i++) garbage.push(new WeakRef({ i }));
    expect(await collect(garbage)).toBe(0);
    store.update(UNMINTED, { source: 'file' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('"ramp"');
    expect(store.active()).toBe(1);
    // The engine still decides on the store's current rules.
    expect(engine.evaluate(carrier({}), null).decision.version).toBe('stable');
  });

  it('a store whose subscribe throws or returns nothing still builds an engine that decides', () => {
    const real = createConfigStore({ initial: BASE });
    const shapes: ConfigStore[] = [
      {
        get: real.get,
        update: real.update,
        subscribe: () => {
          throw new Error('no events');
        },
      },
      { get: real.get, update: real.update, subscribe: () => undefined as unknown as () => void },
    ];
    for (const store of shapes) {
      const engine = createInboundEngine({ config: store }, platform());
      const out = engine.evaluate(carrier({ 'x-gray-id': 'beta' }), null);
      expect(out.decision.version).toBe('beta');
    }
  });
});
