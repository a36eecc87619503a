import { describe, expect, it } from 'vitest';

/**
 * The setup guard (setup-guard.ts) must really count: provoke one unhandled rejection, see the
 * counter move, then take it back so this file stays green. If the guard were not loaded, or
 * did not listen, the first expectation fails.
 */
const KEY = Symbol.for('graylane.tests.setup-guard');

describe('whole-suite guard (setup-guard.ts)', () => {
  it('counts an unhandled rejection in this file (asserted, not assumed)', async () => {
    const state = (globalThis as Record<symbol, { rejections: unknown[] } | undefined>)[KEY];
    expect(state, 'setup-guard.ts is not loaded through test.setupFiles').toBeDefined();
    const before = state?.rejections.length ?? 0;
    void Promise.reject(new Error('provoked by guard.test.ts'));
    await new Promise((r) => setTimeout(r, 50));
    expect(state?.rejections.length).toBe(before + 1);
    state?.rejections.pop(); // handled here: the file must not fail for the provoked one
  });
});
