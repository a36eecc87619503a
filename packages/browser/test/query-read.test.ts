import { readQueryParam } from '@graylane/core';
import { describe, expect, it } from 'vitest';
import { AMBIGUOUS, readQuery } from '../src/read.js';

// Review 156 D1: the page's override reader (`readQuery`, small for the bundle) must answer as
// core's `readQueryParam` (what servers read) on every query. The agreement property over
// generated queries built from the shapes that differ between readers: escaped, bare, `+` and
// `;` keys, encoded and broken values, empty parts, the 256-part and 8 KiB caps. The Chromium
// table (`chromium/query-agreement.test.ts`) drives the same through a real page and server.

/** Core's answer in `readQuery`'s terms. */
function oracle(search: string, name: string): string | undefined {
  const read = readQueryParam(search, name);
  if (read.kind === 'value') return read.value;
  return read.kind === 'absent' ? undefined : AMBIGUOUS;
}

const KEYS = [
  'gray',
  'gr%61y',
  '%67ray',
  '%67%72%61%79',
  'GRAY',
  '%47ray',
  'gray+',
  '+gray',
  'gr+ay',
  'gray%20',
  'gr%ZZy',
  'gray%',
  'gray%00',
  'gr%C3%A1y',
  'gray[]',
  'gray;x',
  'x;gray',
  'g',
  'x',
  '',
];
const VALUES = [
  'beta',
  '%62eta',
  '',
  'be+ta',
  '+beta',
  '%ZZ',
  'beta%',
  'beta%0d%0a',
  '%20beta',
  'beta;gray=x',
  '=beta',
  'beta=1',
  '%E0%A4%A',
  '%C0%80',
  '%ED%A0%80',
  '%F4%90%80%80',
  'a%2Bb',
];

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(random: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const parts: string[] = [];
  // Around the 256-part cap, with empty or filled fillers.
  if (random() < 0.3) {
    const n = 250 + Math.floor(random() * 10);
    const empty = random() < 0.5;
    for (let i = 0; i < n; i++) parts.push(empty ? '' : `f${i}=1`);
  }
  const count = Math.floor(random() * 5);
  for (let i = 0; i < count; i++) {
    const r = random();
    parts.push(r < 0.2 ? pick(KEYS) : r < 0.25 ? '' : `${pick(KEYS)}=${pick(VALUES)}`);
  }
  // Around the 8 KiB cap.
  if (random() < 0.1) {
    const text = parts.join('&');
    parts.push(
      `pad=${'a'.repeat(Math.max(0, 8192 - text.length - 5 + Math.floor(random() * 3) - 1))}`,
    );
  }
  return parts.join('&');
}

describe('readQuery agrees with core readQueryParam (D1)', () => {
  it('on 5,000 generated queries, for the default and a custom name', () => {
    const random = prng(156);
    const disagree: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const q = generate(random);
      for (const name of ['gray', 'x']) {
        const search = `?${q}`;
        if (readQuery(search, name) !== oracle(search, name)) disagree.push(`${name}: ?${q}`);
      }
    }
    expect(disagree.slice(0, 10)).toEqual([]);
  });

  it.each([
    ['', undefined],
    ['?', undefined],
    ['?gray', ''],
    ['?gray=beta&gray', AMBIGUOUS],
    ['?gray=beta&gr%61y=stable', AMBIGUOUS],
    ['?gray=%62eta', 'beta'],
    ['?gray=%ZZ', '%ZZ'],
    ['?gray=be+ta', 'be ta'],
    [`?${'&'.repeat(256)}gray=beta`, undefined],
    [`?${'&'.repeat(255)}gray=beta`, 'beta'],
    [`?gray=beta&pad=${'a'.repeat(8192 - 14)}`, 'beta'],
    [`?gray=beta&pad=${'a'.repeat(8192 - 13)}`, AMBIGUOUS],
  ])('%s → %s, as core', (search, expected) => {
    expect(readQuery(search, 'gray')).toBe(expected);
    expect(oracle(search, 'gray')).toBe(expected);
  });
});
