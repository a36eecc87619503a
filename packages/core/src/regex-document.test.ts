import v8 from 'node:v8';
import vm from 'node:vm';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { parseConfig, validateConfig } from './config/parse.js';
import {
  MAX_REGEX_DOCUMENT_SIZE,
  MAX_REGEX_PROGRAM_SIZE,
  REGEX_STATE_BYTES_PER_INSTRUCTION,
} from './limits.js';
import { decide } from './rules/evaluate.js';
import { createRe2Engine, type RegexEngine } from './regex.js';

const size = (pattern: string) =>
  (RE2JS.compile(pattern) as unknown as { re2Input: { prog: { inst: unknown[] } } }).re2Input.prog
    .inst.length;

type Where = 'path' | 'host' | 'header' | 'cookie' | 'query' | 'attr';
const matchAt = (where: Where, regex: string) =>
  where === 'path'
    ? { path: { regex } }
    : where === 'host'
      ? { host: { regex } }
      : where === 'header'
        ? { header: { 'user-agent': { regex } } }
        : where === 'cookie'
          ? { cookie: { plan: { regex } } }
          : where === 'query'
            ? { query: { q: { regex } } }
            : { attrs: { plan: { regex } } };
const WHERE: readonly Where[] = ['path', 'host', 'header', 'cookie', 'query', 'attr'];

/** A document of `patterns`, spread over the matcher kinds, one rule each. */
const doc = (patterns: readonly string[]) => ({
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: patterns.map((regex, i) => ({
    id: `r${i}`,
    match: matchAt(WHERE[i % WHERE.length]!, regex),
    version: 'beta',
  })),
});

/** A pattern of about `each` instructions: a counted class sizes it (`[a-z]{0,K}`). */
const widths = new Map<number, number>();
function sized(i: number, each: number): string {
  const at = (k: number) => `^/p${i}-[a-z]{0,${k}}`;
  let k = widths.get(each);
  if (k === undefined) {
    let [lo, hi] = [0, 600];
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (size(at(mid)) <= each) lo = mid;
      else hi = mid - 1;
    }
    widths.set(each, (k = lo));
  }
  return at(k);
}

/** Distinct patterns of about `each` instructions, as many as the cap holds, and the next one. */
function fill(each: number): { list: string[]; next: string } {
  const list: string[] = [];
  let total = 0;
  for (let i = 0; ; i++) {
    const p = sized(i, each);
    if (total + size(p) > MAX_REGEX_DOCUMENT_SIZE) return { list, next: p };
    list.push(p);
    total += size(p);
  }
}

/** `n` distinct patterns of about `each` instructions. */
const patterns = (n: number, each: number) => Array.from({ length: n }, (_, i) => sized(i, each));

const engine = createRe2Engine(RE2JS);
const errorsOf = (d: unknown, regex: RegexEngine = engine) => {
  const r = validateConfig(d, { regex });
  return r.ok ? [] : r.errors;
};

describe('RX-05 a document’s regex programs together stay within MAX_REGEX_DOCUMENT_SIZE', () => {
  it.each([990, 500, 100, 10])(
    'programs of about %i instructions: as many as the cap holds load; one more is refused, named with the sum',
    (each) => {
      const { list, next } = fill(each);
      expect(Math.max(...list.map(size))).toBeLessThanOrEqual(MAX_REGEX_PROGRAM_SIZE);
      expect(errorsOf(doc(list))).toEqual([]);
      const errors = errorsOf(doc([...list, next]));
      expect(errors).toHaveLength(1);
      expect(errors[0]!.path).toMatch(new RegExp(`^\\$\\.rules\\[${list.length}\\]\\.match\\.`));
      expect(errors[0]!.message).toMatch(
        new RegExp(
          `with this one the document's regex programs total \\d+ instructions, over ${MAX_REGEX_DOCUMENT_SIZE}`,
        ),
      );
      expect(() => parseConfig(doc([...list, next]), { regex: engine })).toThrow(
        new RegExp(`over ${MAX_REGEX_DOCUMENT_SIZE}`),
      );
    },
  );

  it.each([0, 1, 10, 30])(
    'the refusal names the largest pattern compiled so far (placed at %i), with its size',
    (at) => {
      const big = sized(900, 950);
      const list = patterns(75, 60);
      list.splice(at, 0, big);
      const errors = errorsOf(doc(list));
      expect(errors.length).toBeGreaterThan(0);
      expect(errors[0]!.message).toContain(`the largest is ${JSON.stringify(big)} (${size(big)})`);
    },
  );

  it('the same pattern in many rules counts each time (each runs on a request)', () => {
    const [p] = patterns(1, 100);
    const n = Math.floor(MAX_REGEX_DOCUMENT_SIZE / size(p!));
    expect(errorsOf(doc(Array(n).fill(p)))).toEqual([]);
    expect(errorsOf(doc(Array(n + 1).fill(p)))).toHaveLength(1);
  });

  it('(control) each document is counted on its own: ten loads of a document at the cap all load', () => {
    const list = patterns(50, 100);
    for (let i = 0; i < 10; i++) expect(errorsOf(doc(list))).toEqual([]);
  });

  it('(control) an engine that does not tell program sizes (a custom engine) is not counted', () => {
    const custom: RegexEngine = { name: 'custom', compile: () => () => false };
    expect(errorsOf(doc(Array(1000).fill('x')), custom)).toEqual([]);
  });

  it('a refused document leaves the decisions of the loaded one alone (LKG, as any invalid config)', () => {
    const good = parseConfig(doc(['^/beta']), { regex: engine });
    expect(() => parseConfig(doc(patterns(1000, 20)), { regex: engine })).toThrow();
    expect(decide(good, { path: '/beta' }).version).toBe('beta');
  });
});

describe('RX-05 the matching state re2js keeps per program is bounded', () => {
  it('(control) re2js still keeps its lazy DFA where graylane bounds it (a re2js upgrade that moves it fails here)', () => {
    const re = RE2JS.compile('[ab]*a[ab]{20}c') as unknown as {
      re2Input: { dfa: { maxMem: unknown; stateBudget: unknown; memBudget: unknown } };
    };
    const dfa = re.re2Input.dfa;
    expect([typeof dfa.maxMem, typeof dfa.stateBudget, typeof dfa.memBudget]).toEqual([
      'number',
      'number',
      'number',
    ]);
    expect(dfa.maxMem).toBeGreaterThan(1 << 20);
  });

  it('a program graylane compiles gets REGEX_STATE_BYTES_PER_INSTRUCTION per instruction', () => {
    const seen: unknown[] = [];
    const spy = {
      compile: (p: string) => {
        const re = RE2JS.compile(p);
        seen.push(re);
        return re;
      },
    };
    const find = createRe2Engine(spy).compile('[ab]*a[ab]{20}c');
    const re = seen[0] as { re2Input: { prog: { inst: unknown[] }; dfa: { stateBudget: number } } };
    expect(find.instructions).toBe(re.re2Input.prog.inst.length);
    expect(re.re2Input.dfa.stateBudget).toBe(
      re.re2Input.prog.inst.length * REGEX_STATE_BYTES_PER_INSTRUCTION,
    );
  });

  // Hostile subjects for patterns whose DFA has many states: each new subject builds new ones.
  const HOSTILE: [name: string, pattern: (i: number) => string, alphabet: string][] = [
    ['ab-blowup', (i) => `[ab]*a[ab]{20}[c-d${String.fromCharCode(0x4e00 + i)}]`, 'ab'],
    ['letters', (i) => `(?i)[a-z]*a[a-z]{8}[0-9${String.fromCharCode(0x4e00 + i)}]`, 'abcdefghij'],
    ['counted', (i) => `(?i)[a-z]{1,160}q${String.fromCharCode(0x4e00 + i)}`, 'abcdefgh'],
  ];

  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 0.999;
  const subject = (alphabet: string) =>
    '/' +
    Array.from({ length: 255 }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');

  it.each(HOSTILE)(
    '(control) %s: bounded programs answer exactly as unbounded ones on hostile subjects',
    (_, pattern, alphabet) => {
      const bounded = createRe2Engine(RE2JS);
      for (let i = 0; i < 6; i++) {
        const find = bounded.compile(pattern(i));
        const plain = RE2JS.compile(pattern(i));
        for (let k = 0; k < 60; k++) {
          const s = subject(alphabet);
          // Half the subjects end in what the pattern waits for: matches are checked too.
          const t = k % 2 === 0 ? s : s.slice(0, -1) + String.fromCharCode(0x4e00 + i);
          expect(find(t)).toBe(plain.test(t));
        }
      }
    },
  );

  it('hostile subjects to a document at the cap hold megabytes, not a hundred (re2js alone: ~140 MB)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const heap = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 0));
      }
      return process.memoryUsage().heapUsed;
    };
    const list: string[] = [];
    let total = 0;
    for (let i = 0; ; i++) {
      const p = HOSTILE[0]![1](i);
      if (total + size(p) > MAX_REGEX_DOCUMENT_SIZE) break;
      total += size(p);
      list.push(p);
    }
    const config = parseConfig(
      {
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: list.map((regex, i) => ({
          id: `r${i}`,
          match: { path: { regex } },
          version: 'beta',
        })),
      },
      { regex: createRe2Engine(RE2JS) },
    );
    const before = await heap();
    for (let r = 0; r < 6; r++) decide(config, { path: subject('ab') });
    const held = (await heap()) - before;
    expect(list.length).toBeGreaterThan(150);
    expect(held).toBeLessThan(40e6);
  });
});
