import { afterEach, describe, expect, it, vi } from 'vitest';
import { createConfigStore, type RuleDocument } from '@graylane/core';
import { createGraylane } from '../src/index.js';

/**
 * Issue 15: a `cookie:` split whose cookie nothing sets serves the default to everyone. graylane
 * says so once per rule — at construction and when a reload brings such a rule — and stays quiet
 * when it mints the cookie itself (`sticky`) or the chain has another subject.
 */
const split = (id: string, bucketBy: string | string[]) => ({
  id,
  split: [
    { version: 'beta', weight: 5 },
    { version: 'stable', weight: 95 },
  ],
  bucketBy,
});
const config = (...rules: unknown[]) => ({
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: rules as RuleDocument[],
});

afterEach(() => vi.restoreAllMocks());

function warnings(fn: () => void): string[] {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  fn();
  return warn.mock.calls.map((c) => String(c[0]));
}

describe('a cookie: split nothing sets', () => {
  it.each([
    ['cookie:gid, sticky off', config(split('ramp', 'cookie:gid')), {}, ['ramp']],
    [
      'a chain of two cookies, sticky off',
      config(split('ramp', ['cookie:a', 'cookie:b'])),
      {},
      ['ramp'],
    ],
    [
      'sticky names another cookie',
      config(split('ramp', 'cookie:gid')),
      { sticky: { subjectCookie: 'other' } },
      ['ramp'],
    ],
    [
      'two rules, one warning each',
      config(split('r1', 'cookie:a'), split('r2', 'cookie:b')),
      {},
      ['r1', 'r2'],
    ],
    ['sticky: true mints it', config(split('ramp', 'cookie:gid')), { sticky: true }, []],
    ['a header subject', config(split('ramp', 'header:x-user')), {}, []],
    ['an attr first, cookie second', config(split('ramp', ['attr:userId', 'cookie:gid'])), {}, []],
    [
      'no split',
      config({ id: 'qa', version: 'beta', match: { header: { 'x-qa': { equals: '1' } } } }),
      {},
      [],
    ],
  ] as const)('%s', (_name, cfg, options, rules) => {
    const seen = warnings(() => createGraylane({ config: cfg, ...options }));
    expect(seen).toHaveLength(rules.length);
    rules.forEach((id, i) => {
      expect(seen[i]).toContain(`rule "${id}"`);
      expect(seen[i]).toContain('sticky: true');
    });
  });

  it('once per rule: a reload that keeps the rule is quiet, one that adds another warns for it', () => {
    const store = createConfigStore({ initial: config(split('ramp', 'cookie:gid')) });
    const seen = warnings(() => {
      createGraylane({ config: store });
      store.update(config(split('ramp', 'cookie:gid'), { id: 'qa', version: 'beta' }));
      store.update(config(split('ramp', 'cookie:gid'), split('late', 'cookie:late')));
    });
    expect(seen.map((m) => /rule "(\w+)"/.exec(m)?.[1])).toEqual(['ramp', 'late']);
  });
});
