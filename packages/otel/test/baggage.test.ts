import { ROOT_CONTEXT, context, propagation } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { getGrayBaggage, removeGrayBaggage, setGrayBaggage } from '../src/index.js';
import { useAlsContextManager } from './setup-context.js';

const teardown = useAlsContextManager();
afterAll(teardown);

function withEntries(entries: Record<string, string>) {
  const bag = propagation.createBaggage(
    Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, { value: v }])),
  );
  return propagation.setBaggage(ROOT_CONTEXT, bag);
}

describe('baggage helpers', () => {
  it('setGrayBaggage keeps other baggage entries and replaces the marker once', () => {
    const ctx = setGrayBaggage(withEntries({ tenant: 'acme', gray: 'stable' }), 'beta');
    const entries = Object.fromEntries(
      propagation
        .getBaggage(ctx)!
        .getAllEntries()
        .map(([k, e]) => [k, e.value]),
    );
    expect(entries).toEqual({ tenant: 'acme', gray: 'beta' });
    expect(getGrayBaggage(ctx)).toBe('beta');
  });

  it('setGrayBaggage on a context without baggage creates it', () => {
    expect(getGrayBaggage(setGrayBaggage(ROOT_CONTEXT, 'beta'))).toBe('beta');
  });

  it('setGrayBaggage returns the same context when the marker is already set', () => {
    const ctx = setGrayBaggage(ROOT_CONTEXT, 'beta');
    expect(setGrayBaggage(ctx, 'beta')).toBe(ctx);
  });

  it('OUT-05 setGrayBaggage with an invalid version leaves the marker out and never throws', () => {
    const base = withEntries({ gray: 'stable', a: '1' });
    for (const bad of ['beta\r\n', 'x'.repeat(1024), 'BETA', '', '__proto__']) {
      const ctx = setGrayBaggage(base, bad);
      expect(getGrayBaggage(ctx)).toBeUndefined();
      expect(propagation.getBaggage(ctx)?.getEntry('a')?.value).toBe('1');
    }
  });

  it('I2 getGrayBaggage keeps the closed world when versions are given', () => {
    const ctx = withEntries({ gray: 'gamma' });
    expect(getGrayBaggage(ctx)).toBe('gamma');
    expect(getGrayBaggage(ctx, { versions: ['stable', 'beta'] })).toBeUndefined();
    expect(getGrayBaggage(ctx, { versions: { hasVersion: (v) => v === 'gamma' } })).toBe('gamma');
  });

  it('HDR-11 getGrayBaggage ignores prototype names and malformed values', () => {
    for (const value of ['__proto__', 'constructor', 'be ta', '"beta"', 'béta']) {
      expect(
        getGrayBaggage(withEntries({ gray: value }), { versions: ['stable', 'beta'] }),
      ).toBeUndefined();
    }
    expect(Object.prototype).not.toHaveProperty('beta');
  });

  it('honours a custom key', () => {
    const ctx = setGrayBaggage(ROOT_CONTEXT, 'beta', { key: 'lane' });
    expect(getGrayBaggage(ctx)).toBeUndefined();
    expect(getGrayBaggage(ctx, { key: 'lane' })).toBe('beta');
  });

  it('removeGrayBaggage drops only the marker, and the baggage when it was the only entry', () => {
    const ctx = removeGrayBaggage(withEntries({ gray: 'beta', a: '1' }));
    expect(getGrayBaggage(ctx)).toBeUndefined();
    expect(propagation.getBaggage(ctx)?.getEntry('a')?.value).toBe('1');
    expect(
      propagation.getBaggage(removeGrayBaggage(withEntries({ gray: 'beta' }))),
    ).toBeUndefined();
    expect(removeGrayBaggage(ROOT_CONTEXT)).toBe(ROOT_CONTEXT);
  });

  it('I7 the marker set in one async branch is not seen by a concurrent one', async () => {
    const observe = (version: string) =>
      context.with(setGrayBaggage(context.active(), version), async () => {
        await new Promise((r) => setTimeout(r, Math.random() * 5));
        return getGrayBaggage(context.active());
      });
    const versions = Array.from({ length: 50 }, (_, i) => (i % 2 ? 'beta' : 'stable'));
    expect(await Promise.all(versions.map(observe))).toEqual(versions);
  });
});
