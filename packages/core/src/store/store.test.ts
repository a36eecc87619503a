import { describe, expect, it } from 'vitest';
import type { ConfigEvent } from './types.js';
import { SAMPLE } from '../../test/fixtures.js';
import { createConfigStore, isConfigStore } from './store.js';

const base = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [{ id: 'qa', version: 'beta', match: { header: { 'x-qa': { exists: true } } } }],
};

function setup() {
  const store = createConfigStore({ initial: base });
  const events: ConfigEvent[] = [];
  store.subscribe((e) => events.push(e));
  return { store, events };
}

describe('createConfigStore', () => {
  it('starts at version 1 from the embedded default and is recognised structurally', () => {
    const { store } = setup();
    expect(store.get().version).toBe(1);
    expect(store.get().source).toBe('embedded');
    expect(isConfigStore(store)).toBe(true);
    expect(isConfigStore({ get: 1 })).toBe(false);
  });

  it('throws INVALID_CONFIG only when the initial config is invalid', () => {
    expect(() => createConfigStore({ initial: { versions: [] } })).toThrow(
      /INVALID|invalid config/,
    );
  });

  it('a real change swaps, bumps the version and names the changed rule ids', () => {
    const { store, events } = setup();
    const result = store.update(SAMPLE, { source: 'file' });
    expect(result.status).toBe('changed');
    expect(store.get().version).toBe(2);
    expect(store.get().source).toBe('file');
    expect(events).toHaveLength(1);
    const e = events[0];
    expect(e?.type === 'change' && e.changedRuleIds).toEqual(['qa', 'checkout', 'canary']);
    expect(e?.type === 'change' && e.settingsChanged).toBe(false);
  });

  it('CFG-12 reordered keys, whitespace or a new revision with the same value: no event, no bump', () => {
    const { store, events } = setup();
    const reordered = `{ "rules": [ { "match": {"header": {"x-qa": {"exists": true}}}, "version": "beta", "id": "qa" } ],\n  "default": "stable", "versions": ["stable","beta"] }`;
    expect(store.update(reordered, { source: 'etcd', revision: 5 }).status).toBe('unchanged');
    expect(
      store.update(JSON.stringify(base, null, 4), { source: 'etcd', revision: 6 }).status,
    ).toBe('unchanged');
    expect(store.get().version).toBe(1);
    expect(events).toHaveLength(0);
  });

  it('CFG-13 an older or repeated revision from the same source is ignored', () => {
    const { store, events } = setup();
    expect(store.update(SAMPLE, { source: 'etcd', revision: 10n }).status).toBe('changed');
    expect(store.update(base, { source: 'etcd', revision: 9n }).status).toBe('stale');
    expect(store.update(base, { source: 'etcd', revision: 10n }).status).toBe('stale');
    expect(store.get().config.rules.map((r) => r.id)).toEqual(['qa', 'checkout', 'canary']);
    // Revisions are per source: a file sequence number does not compete with etcd's.
    expect(store.update(base, { source: 'file', revision: 1 }).status).toBe('changed');
    expect(events.filter((e) => e.type === 'change')).toHaveLength(2);
  });

  it('I5 / CFG-01 a bad update keeps the last-known-good and emits a rejection', () => {
    const { store, events } = setup();
    const before = store.get();
    const result = store.update('{"versions":["stable"', { source: 'file' });
    expect(result.status).toBe('rejected');
    expect(store.get()).toBe(before);
    expect(events).toEqual([expect.objectContaining({ type: 'rejected', source: 'file' })]);
  });

  it('FLT-16 an unexpected throw inside validation is caught; LKG kept; listeners that throw are isolated', () => {
    const { store, events } = setup();
    store.subscribe(() => {
      throw new Error('listener bug');
    });
    const trap = {
      versions: ['stable'],
      get default(): string {
        throw new TypeError('injected validation bug');
      },
    };
    const result = store.update(trap, { source: 'file' });
    expect(result.status).toBe('rejected');
    expect(store.get().version).toBe(1);
    expect(store.update(SAMPLE).status).toBe('changed');
    expect(events.map((e) => e.type)).toEqual(['rejected', 'change']);
  });

  it('settings changes are flagged', () => {
    const { store, events } = setup();
    store.update({ ...base, versions: ['stable', 'beta', 'gamma'] });
    expect(events[0]?.type === 'change' && events[0].settingsChanged).toBe(true);
    expect(events[0]?.type === 'change' && events[0].changedRuleIds).toEqual([]);
  });

  it('unsubscribe stops delivery', () => {
    const store = createConfigStore({ initial: base });
    let n = 0;
    const off = store.subscribe(() => n++);
    off();
    store.update(SAMPLE);
    expect(n).toBe(0);
  });
});
