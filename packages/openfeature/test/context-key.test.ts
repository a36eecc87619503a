// MISC: the evaluation-context attribute a lane is written under (`key`) either reaches the
// provider or is refused when the hook, `syncGrayContext` or `withGrayContext` is created —
// never accepted and then dropped by OpenFeature's context merge (review 61 N3).
import { runWithGray } from '@graylane/node';
import { InMemoryProvider, OpenFeature, type EvaluationContext } from '@openfeature/server-sdk';
import type { Provider as WebProvider } from '@openfeature/web-sdk';
import { describe, expect, it } from 'vitest';
import { createGrayContextHook } from '../src/server/index.js';
import { syncGrayContext, withGrayContext } from '../src/web/index.js';

const client = {
  getGrayVersion: () => 'beta',
  getGrayReason: () => 'header',
  subscribe: () => () => undefined,
};
const provider = {
  metadata: { name: 'probe' },
  resolveBooleanEvaluation: () => ({ value: true }),
  resolveStringEvaluation: () => ({ value: 'a' }),
  resolveNumberEvaluation: () => ({ value: 1 }),
  resolveObjectEvaluation: () => ({ value: {} }),
} as unknown as WebProvider;

const entryPoints: ReadonlyArray<[string, (key: unknown) => unknown]> = [
  ['createGrayContextHook', (key) => createGrayContextHook({ key: key as string })],
  ['syncGrayContext', (key) => syncGrayContext(client, { key: key as string })],
  ['withGrayContext', (key) => withGrayContext(provider, client, { key: key as string })],
];

const refused: ReadonlyArray<[string, unknown]> = [
  ['__proto__', '__proto__'],
  ['empty', ''],
  ['over 256 characters', 'k'.repeat(257)],
  ['a number', 7],
  ['null', null],
  ['an object', { toString: () => 'grayVersion' }],
];

describe('MISC context key: refused when created', () => {
  describe.each(entryPoints)('%s', (_name, create) => {
    it.each(refused)('%s', (_label, key) => {
      expect(() => create(key)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    });
  });
});

// Names an object inherits are ordinary attributes of a context: the provider sees the lane.
const inherited = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

describe('MISC context key: inherited names reach the provider', () => {
  it.each(inherited)('%s', async (key) => {
    const seen: EvaluationContext[] = [];
    const probe = new InMemoryProvider({
      f: {
        disabled: false,
        variants: { a: 'a' },
        defaultVariant: 'a',
        contextEvaluator: (ctx) => {
          seen.push(ctx);
          return 'a';
        },
      },
    });
    const domain = `context-key-${key}`;
    await OpenFeature.setProviderAndWait(domain, probe);
    const hook = createGrayContextHook({ key });
    const c = OpenFeature.getClient(domain);
    await runWithGray('beta', () =>
      c.getStringValue('f', 'x', { userId: 'u1' }, { hooks: [hook] }),
    );
    expect(seen).toHaveLength(1);
    expect(Object.prototype.hasOwnProperty.call(seen[0], key)).toBe(true);
    expect(seen[0]?.[key]).toBe('beta');
    expect(seen[0]?.userId).toBe('u1');
  });
});
