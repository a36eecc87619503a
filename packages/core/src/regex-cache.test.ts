import v8 from 'node:v8';
import vm from 'node:vm';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { parseConfig, validateConfig } from './config/parse.js';
import { decide } from './rules/evaluate.js';
import { createRe2Engine, type Re2jsLike } from './regex.js';

/** RE2JS, counting the programs it compiles. */
function counting(): { re2js: Re2jsLike; compiled: () => number } {
  let n = 0;
  return {
    re2js: { compile: (p: string) => (n++, RE2JS.compile(p)) },
    compiled: () => n,
  };
}

const doc = (patterns: readonly string[], where: 'path' | 'header' | 'cookie' = 'path') => ({
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: patterns.map((regex, i) => ({
    id: `r${i}`,
    match:
      where === 'path'
        ? { path: { regex } }
        : where === 'header'
          ? { header: { 'user-agent': { regex } } }
          : { cookie: { plan: { regex } } },
    version: 'beta',
  })),
});

const PATTERNS = Array.from({ length: 100 }, (_, i) => `^/p${i}/[a-z]{2,8}(/|$)`);

describe('RX-04 a reload compiles only the patterns no live config holds', () => {
  it.each(['path', 'header', 'cookie'] as const)(
    'the same %s rules again: no pattern compiled twice while the first config is alive',
    (where) => {
      const { re2js, compiled } = counting();
      const engine = createRe2Engine(re2js);
      const first = parseConfig(doc(PATTERNS, where), { regex: engine });
      expect(compiled()).toBe(PATTERNS.length);
      const second = parseConfig(doc(PATTERNS, where), { regex: engine });
      expect(compiled()).toBe(PATTERNS.length);
      // validateConfig (the CLI, the status page's dry runs) shares the programs too.
      expect(validateConfig(doc(PATTERNS, where), { regex: engine }).ok).toBe(true);
      expect(compiled()).toBe(PATTERNS.length);
      expect(first).not.toBe(second);
    },
  );

  it.each([
    ['one rule changed', (p: string[]) => p.map((x, i) => (i === 7 ? `${x}x` : x)), 1],
    ['rules reordered', (p: string[]) => [...p].reverse(), 0],
    ['half the rules removed', (p: string[]) => p.slice(0, 50), 0],
    ['ten rules added', (p: string[]) => [...p, ...p.slice(0, 10).map((x) => `${x}-new`)], 10],
    ['a pattern repeated in another rule', (p: string[]) => [...p, p[3]!], 0],
  ])('%s: only new patterns compile', (_, edit, fresh) => {
    const { re2js, compiled } = counting();
    const engine = createRe2Engine(re2js);
    const live = parseConfig(doc(PATTERNS), { regex: engine });
    parseConfig(doc(edit([...PATTERNS])), { regex: engine });
    expect(compiled()).toBe(PATTERNS.length + fresh);
    expect(live.rules.length).toBe(PATTERNS.length);
  });

  it('a shared program answers for each config as a fresh one does (no state carried between configs)', () => {
    const cached = createRe2Engine(RE2JS);
    const subjects = [
      '/p3/abc',
      '/p7/xy/z',
      '/p3/ABC',
      '/p3/abcdefghi',
      '/p30/ab/',
      '/p3',
      '/p199/zz',
      '/x',
    ];
    const a = parseConfig(doc(PATTERNS), { regex: cached });
    const b = parseConfig(doc([...PATTERNS].reverse()), { regex: cached });
    for (const path of subjects) {
      const fresh = parseConfig(doc(PATTERNS), { regex: createRe2Engine(RE2JS) });
      const want = decide(fresh, { path });
      expect(decide(a, { path }).version).toBe(want.version);
      expect(decide(a, { path }).ruleId).toBe(want.ruleId);
      expect(decide(b, { path }).version).toBe(want.version);
    }
  });

  it('RX-06 a refused pattern is refused on every load with the same message, and not compiled again', () => {
    const { re2js, compiled } = counting();
    const engine = createRe2Engine(re2js);
    const bad = ['(a', 'x{1,200}y{1,200}z{1,200}w{1,200}v{1,200}', '(?=a)'];
    const messages = () =>
      bad.map((p) => {
        const r = validateConfig(doc([p]), { regex: engine });
        return r.ok ? 'accepted' : r.errors[0]!.message;
      });
    const once = messages();
    expect(once.every((m) => m !== 'accepted')).toBe(true);
    // A source re-polling a rejected document redoes no compile (refusals are cached, bounded).
    const first = compiled();
    expect(first).toBeLessThanOrEqual(bad.length);
    expect(messages()).toEqual(once);
    expect(compiled()).toBe(first);
  });
});

describe('RX-04 memory: the cache holds no more than the live configs do', () => {
  it('10,000 distinct patterns across 100 reloads, one config kept: the heap after is that of one config; a dropped pattern is compiled again', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    // Weak entries go when the collector runs, their keys when the finalizers have.
    const settle = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 0));
      }
      return process.memoryUsage().heapUsed;
    };
    const { re2js, compiled } = counting();
    const engine = createRe2Engine(re2js);
    const load = (i: number) =>
      parseConfig(doc(Array.from({ length: 100 }, (_, j) => `^/p${i}-${j}/[a-z]+$`)), {
        regex: engine,
      });
    const base = await settle();
    let live = load(0);
    const one = (await settle()) - base;
    for (let i = 1; i < 100; i++) live = load(i);
    const after = (await settle()) - base;
    expect(compiled()).toBe(10_000);
    // A cache that kept every program would hold 100 configs' worth (tens of megabytes).
    expect(after).toBeLessThan(one * 2 + 4e6);
    // The live config's patterns are shared; a dropped config's are compiled again.
    parseConfig(doc(live.rules.map((_, j) => `^/p99-${j}/[a-z]+$`)), { regex: engine });
    expect(compiled()).toBe(10_000);
    load(0);
    expect(compiled()).toBe(10_100);
  });
});
