import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BASE, DIFFER, EQUAL, noisy, variant, type Doc } from '../../core/test/normal-form-rows.js';
import { runInProcess } from './helpers.js';

/*
 * I6 / CFG-12 (review 169 N1) through `graylane diff`: it compares as the store does. Two configs
 * that mean the same print "no change" (exit 0, `changed: false` in --json, and a sample of
 * requests that all keep their version); one meaningful change prints exactly the rules or
 * settings it touches — never "changed rules: none" — even when the new file also spells every
 * default out. The pairs are core's (`test/normal-form-rows.ts`).
 */

const dir = mkdtempSync(join(tmpdir(), 'graylane-diff-nf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const file = (doc: Doc | string): string => {
  const path = join(dir, `c${files++}.json`);
  writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return path;
};

const NO_CHANGE =
  'no change: the two configs mean the same (formatting, key order, spelled-out defaults and header-name case do not count)';

/** Visitors across BASE's conditions, one JSON request per line. */
const SAMPLE = (() => {
  const lines: string[] = [];
  const groups = ['qa', 'QA', undefined];
  const regions = ['bj', 'sh', 'gz'];
  for (let i = 0; i < 60; i++) {
    const group = groups[i % 3];
    lines.push(
      JSON.stringify({
        headers: { ...(group ? { 'x-user-group': group } : {}), 'x-anon-id': `a-${i}` },
        cookies: { region: regions[i % 3], gray_uid: `u-${i}` },
        query: { src: i % 4 === 0 ? 'ad-x' : 'organic' },
        attrs: { userId: `id-${i}`, ...(i % 5 === 0 ? { tier: 'gold' } : {}) },
        path: i % 2 ? '/api/checkout/pay' : '/home',
        method: i % 3 ? 'GET' : 'POST',
        host: i % 7 ? 'api.example.com' : 'www.example.com',
      }),
    );
  }
  return file(lines.join('\n'));
})();

describe('I6 CFG-12 (review 169 N1) graylane diff: equal in meaning is "no change"', () => {
  it.each(EQUAL)('$name', async (row) => {
    const a = file(row.a ?? BASE);
    const b = file(row.b);
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      const text = await runInProcess(['diff', x, y]);
      expect(text).toEqual({ code: 0, out: NO_CHANGE, err: '' });
      const json = await runInProcess(['diff', x, y, '--json']);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.out)).toMatchObject({
        ok: true,
        changed: false,
        changedRuleIds: [],
        settingsChanged: false,
      });
    }
    const sampled = await runInProcess([
      'diff',
      a,
      b,
      '--sample',
      SAMPLE,
      '--at',
      '2026-12-01T12:30:00Z',
    ]);
    expect(sampled.out.split('\n')).toEqual([
      NO_CHANGE,
      'sample: 60 requests, 0 would change version (0.0%)',
    ]);
  });
});

describe('I6 CFG-12 (review 169 N1) graylane diff: one meaningful change, named exactly', () => {
  it.each(DIFFER)('$name', async (row) => {
    const a = file(BASE);
    const b = file(noisy(variant(row.edit)));
    const r = await runInProcess(['diff', a, b]);
    expect(r.code).toBe(0);
    const all = r.out.split('\n');
    // A changed scheduled rule is then shown from both configs (`schedule ramp (old) at …`).
    const cut = all.findIndex((l) => l.startsWith('schedule '));
    const shown = cut === -1 ? all : all.slice(0, cut);
    // A split change that moves subjects warns (bucket-shifts.test.ts), naming a changed rule.
    const lines = shown.filter((l) => !l.startsWith('warning: '));
    for (const w of shown.filter((l) => l.startsWith('warning: ')))
      expect(row.changedRuleIds).toContain(/^warning: rule (\S+):/.exec(w)?.[1]);
    expect(all).not.toContain('changed rules: none');
    if (row.changedRuleIds.includes('ramp'))
      expect(all.filter((l) => /^schedule ramp \((old|new)\) at /.test(l))).toHaveLength(2);
    const expected: (string | RegExp)[] = [];
    if (row.changedRuleIds.length) expected.push(`changed rules: ${row.changedRuleIds.join(', ')}`);
    if (row.settingsChanged) expected.push(/^settings changed: \S.* → /);
    expect(lines).toHaveLength(expected.length);
    expected.forEach((want, i) =>
      typeof want === 'string' ? expect(lines[i]).toBe(want) : expect(lines[i]).toMatch(want),
    );
    const json = JSON.parse((await runInProcess(['diff', a, b, '--json'])).out);
    expect(json).toMatchObject({
      changed: true,
      changedRuleIds: row.changedRuleIds,
      settingsChanged: row.settingsChanged,
    });
  });
});
