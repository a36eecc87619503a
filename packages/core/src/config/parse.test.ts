import { describe, expect, it } from 'vitest';
import { isGraylaneError, type GraylaneError } from '../errors.js';
import { re2, SAMPLE } from '../../test/fixtures.js';
import { parseConfig, validateConfig } from './parse.js';

function errorsOf(input: unknown, regex = re2): string[] {
  const r = validateConfig(input, { regex });
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
}
function withRules(rules: unknown[]) {
  return { versions: ['stable', 'beta'], default: 'stable', rules };
}
const split = (weights: unknown[]) =>
  withRules([
    {
      id: 'r',
      split: weights.map((w, i) => ({ version: i ? 'stable' : 'beta', weight: w })),
      bucketBy: 'attr:userId',
    },
  ]);

describe('parseConfig', () => {
  it('accepts the readable form from the issue, as text and as an object', () => {
    const a = parseConfig(SAMPLE);
    const b = parseConfig(JSON.stringify(SAMPLE, null, 2));
    expect(a.versions).toEqual(['stable', 'beta']);
    expect(a.rules.map((r) => r.id)).toEqual(['qa', 'checkout', 'canary']);
    expect(a.canonical).toBe(b.canonical);
    expect(a.hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('throws one error class with code INVALID_CONFIG and every issue with its path', () => {
    let caught: unknown;
    try {
      parseConfig({
        versions: ['stable'],
        default: 'beta',
        rules: [{ id: 'x', version: 'gamma' }, { version: 'stable' }],
      });
    } catch (err) {
      caught = err;
    }
    expect(isGraylaneError(caught)).toBe(true);
    const err = caught as GraylaneError;
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message.startsWith('[graylane]')).toBe(true);
    expect(err.issues.map((i) => i.path)).toEqual([
      '$.default',
      '$.rules[0].version',
      '$.rules[1].id',
    ]);
  });

  it('CFG-01 truncated JSON at every byte is rejected, never half-applied', () => {
    const text = JSON.stringify(SAMPLE);
    for (let cut = 0; cut < text.length; cut += 7) {
      expect(validateConfig(text.slice(0, cut), { regex: re2 }).ok).toBe(false);
    }
  });

  it.each(['', '   \n\t ', 'null', '[]', '"x"', '42'])('CFG-02 %j is not a config', (text) => {
    expect(errorsOf(text).length).toBeGreaterThan(0);
  });

  it.each([
    ['"50"', '"50"'],
    ['-10', '-10'],
    ['1e309', 'Infinity'],
    ['50.5', '50.5'],
  ])('CFG-03 weight %s is rejected', (raw) => {
    const text = `{"versions":["stable","beta"],"default":"stable","rules":[{"id":"r","bucketBy":"attr:u","split":[{"version":"beta","weight":${raw}},{"version":"stable","weight":50}]}]}`;
    expect(errorsOf(text).join('\n')).toMatch(
      /\$\.rules\[0\]\.split\[0\]\.weight: must be a non-negative integer/,
    );
  });

  it('CFG-03 unknown operator, missing version and unknown fields are rejected', () => {
    expect(
      errorsOf(
        withRules([{ id: 'r', match: { path: { startsWith: '/a' } }, version: 'beta' }]),
      ).join(),
    ).toMatch(/\$\.rules\[0\]\.match\.path: a matcher needs exactly one of/);
    expect(errorsOf(withRules([{ id: 'r', match: { path: { equals: '/' } } }])).join()).toMatch(
      /exactly one of "version" or "split"/,
    );
    expect(errorsOf({ ...withRules([]), extra: 1 }).join()).toMatch(/\$\.extra: unknown field/);
  });

  it.each([99, 101, 0])('CFG-04 weights summing to %i are rejected, not normalised', (sum) => {
    expect(errorsOf(split([sum, 0])).join()).toMatch(new RegExp(`weights sum to ${sum}`));
  });

  it('accepts basis points summing to 10000', () => {
    const config = parseConfig(split([250, 9750]));
    const rule = config.rules[0];
    expect(rule?.kind === 'split' && rule.arms.map((a) => a.end)).toEqual([250, 10000]);
  });

  it('CFG-05 duplicate keys are rejected', () => {
    expect(
      errorsOf('{"versions":["stable"],"default":"stable","default":"stable"}').join(),
    ).toMatch(/duplicate key "default"/);
  });

  it('CFG-06 prototype keys anywhere are rejected and nothing is polluted', () => {
    expect(
      errorsOf('{"versions":["stable"],"default":"stable","__proto__":{"polluted":1}}').join(),
    ).toMatch(/forbidden key/);
    expect(
      errorsOf(
        JSON.parse(
          '{"versions":["stable"],"default":"stable","rules":[{"id":"a","version":"stable","match":{"header":{"constructor":{"equals":"x"}}}}]}',
        ),
      ).join(),
    ).toMatch(/forbidden key/);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('CFG-07 10 MiB, depth 10,000 and 100,000 rules are rejected at the caps', () => {
    expect(
      errorsOf(
        `{"versions":["stable"],"default":"stable","x":"${'a'.repeat(10 * 1024 * 1024)}"}`,
      ).join(),
    ).toMatch(/larger than 1048576 bytes/);
    expect(errorsOf(`{"versions":${'['.repeat(10_000)}${']'.repeat(10_000)}}`).join()).toMatch(
      /nesting deeper than 32/,
    );
    const many = Array.from({ length: 100_000 }, (_, i) => ({ id: `r${i}`, version: 'stable' }));
    expect(errorsOf(withRules(many)).join()).toMatch(/more than 1000 rules/);
  });

  it('CFG-08 unknown marker, end before start, and windows without an offset are rejected', () => {
    expect(errorsOf(withRules([{ id: 'r', version: 'gamma' }])).join()).toMatch(
      /unknown version "gamma"/,
    );
    expect(
      errorsOf(
        withRules([
          {
            id: 'r',
            version: 'beta',
            window: { from: '2027-01-01T00:00:00Z', until: '2026-01-01T00:00:00Z' },
          },
        ]),
      ).join(),
    ).toMatch(/"until" must be later than "from"/);
    expect(
      errorsOf(
        withRules([{ id: 'r', version: 'beta', window: { from: '2026-01-01T00:00' } }]),
      ).join(),
    ).toMatch(/RFC 3339 instant with an offset/);
    expect(
      errorsOf(
        withRules([{ id: 'r', version: 'beta', window: { from: '2026-02-30T00:00:00Z' } }]),
      ).join(),
    ).toMatch(/RFC 3339/);
  });

  it.each(['(beta', '^(?=a)b$', '^(a)\\1$'])('CFG-09 regex %s is rejected at load', (pattern) => {
    expect(
      errorsOf(
        withRules([{ id: 'r', match: { path: { regex: pattern } }, version: 'beta' }]),
      ).join(),
    ).toMatch(/invalid or unsupported regex/);
  });

  it.each(['^(a+)+$', '(a|a)*$', '.*x.*y'])(
    'CFG-10 catastrophic-on-backtracking regex %s is accepted by the linear engine',
    (pattern) => {
      expect(
        errorsOf(withRules([{ id: 'r', match: { path: { regex: pattern } }, version: 'beta' }])),
      ).toEqual([]);
    },
  );

  it('CFG-10 a 300-character pattern is rejected', () => {
    expect(
      errorsOf(
        withRules([{ id: 'r', match: { path: { regex: 'a'.repeat(300) } }, version: 'beta' }]),
      ).join(),
    ).toMatch(/longer than 256/);
  });

  it('regex rules without a regex engine are rejected with a pointer to the fix', () => {
    const r = validateConfig(
      withRules([{ id: 'r', match: { path: { regex: '^/a' } }, version: 'beta' }]),
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]?.message).toMatch(/createRe2Engine/);
  });

  it('CFG-11 empty prefix and padded exact values produce warnings, matching stays byte-exact', () => {
    const r = validateConfig(
      withRules([
        { id: 'a', match: { path: { prefix: '' } }, version: 'beta' },
        { id: 'b', match: { header: { 'x-group': { equals: 'qa ' } } }, version: 'beta' },
      ]),
    );
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.path)).toEqual([
      '$.rules[0].match.path.prefix',
      '$.rules[1].match.header.x-group.equals',
    ]);
  });

  it('rejects duplicate rule ids, bad version labels and a default outside the set', () => {
    expect(errorsOf({ versions: ['Stable', 'beta', 'beta'], default: 'x' }).join('\n')).toMatch(
      /versions\[0\].*\n.*duplicate version "beta"\n.*\$\.default/,
    );
    expect(
      errorsOf(
        withRules([
          { id: 'a', version: 'beta' },
          { id: 'a', version: 'beta' },
        ]),
      ).join(),
    ).toMatch(/duplicate rule id "a"/);
  });

  it('disabled rules are validated but not evaluated', () => {
    const config = parseConfig(withRules([{ id: 'off', enabled: false, version: 'beta' }]));
    expect(config.rules).toEqual([]);
    expect(errorsOf(withRules([{ id: 'off', enabled: false, version: 'nope' }])).length).toBe(1);
  });
});
