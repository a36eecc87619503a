/**
 * AST-25 what a content hash in a file name is (review 137, D2). `HASHED_NAME` took any 8–64 run
 * of letters, digits or `_` with a digit for a hash: `hero-1920x1080.jpg`, `og-image-1200x630.png`,
 * `roadmap-20250601.pdf`, `v2-20241231.css` were cached a year without `Vary` and lent to every
 * lane. Now a hash run has one of the alphabets bundlers emit (hex; esbuild's base32; Rollup's
 * base64url) and the shape of random text. `whyNot` below restates the rule in plain code; the
 * regex must agree with it on every real emitted name, every human name and on random names, so
 * either is a check on the other.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HASHED_NAME } from '../../src/assets/index.js';

const NAMES = JSON.parse(readFileSync(new URL('./hashed-names.json', import.meta.url), 'utf8')) as {
  readonly emitted: Readonly<Record<string, readonly string[]>>;
  readonly human: readonly string[];
};
const VITE = JSON.parse(readFileSync(new URL('./vite-names.json', import.meta.url), 'utf8')) as {
  readonly stable: readonly string[];
  readonly beta: readonly string[];
  readonly other: readonly string[];
};

const HEX = /^[0-9a-f]+$/;
const isSeparator = (c: string | undefined): boolean =>
  c === undefined || c === '/' || c === '.' || c === '-';

/**
 * The words of a base64url run read as text: a capitalised or lower-case word, a run of capitals
 * (the last one starts the next word when lower case follows), a number, each `-` or `_`.
 * `BdK3kF9a` → Bd K 3 k F 9 a (7); `MyFile01` → My File 01 (3); `HTMLParser` → HTML Parser.
 */
function words(run: string): number {
  const upper = (c: string | undefined) => c !== undefined && c >= 'A' && c <= 'Z';
  const lower = (c: string | undefined) => c !== undefined && c >= 'a' && c <= 'z';
  const digit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  let n = 0;
  let i = 0;
  while (i < run.length) {
    if (upper(run[i])) {
      let j = i;
      while (upper(run[j])) j++;
      if (lower(run[j])) {
        if (j - 1 > i) n++; // the capitals before the word's own capital
        i = j;
        while (lower(run[i])) i++;
      } else {
        i = j;
      }
    } else if (lower(run[i])) {
      while (lower(run[i])) i++;
    } else if (digit(run[i])) {
      while (digit(run[i])) i++;
    } else {
      i++;
    }
    n++;
  }
  return n;
}

/** Why `rel` is not a content-hashed name, or `undefined` when it is: the rule in plain code. */
function whyNot(rel: string): string | undefined {
  const parts = rel.split('.');
  const reasons: string[] = [];
  for (let k = 1; k <= 3 && k < parts.length; k++) {
    if (!parts.slice(-k).every((p) => /^[A-Za-z0-9]{1,8}$/.test(p))) break;
    const before = parts.slice(0, -k).join('.');
    // Hex: the whole hex run before the extensions, after a separator.
    let h = before.length;
    while (h > 0 && HEX.test(before[h - 1] ?? '')) h--;
    const hex = before.slice(h);
    if (hex.length >= 8 && hex.length <= 64 && isSeparator(before[h - 1])) {
      if (!/[0-9]/.test(hex)) reasons.push('hex without a digit');
      else if (!/[a-f]/.test(hex)) reasons.push('digits only');
      else return undefined;
    }
    const eight = before.slice(-8);
    if (eight.length === 8 && isSeparator(before[before.length - 9])) {
      if (/^[A-Z2-7]{8}$/.test(eight)) {
        if (/[A-Z]/.test(eight)) return undefined;
        reasons.push('digits only');
      }
      if (/^[A-Za-z0-9_-]{8}$/.test(eight)) {
        if (!/[0-9]/.test(eight)) reasons.push('no digit');
        else if (!/[A-Z]/.test(eight) || !/[a-z]/.test(eight)) reasons.push('one case');
        else if (words(eight) < 5) reasons.push('reads as words');
        else return undefined;
      }
    }
  }
  return reasons[0] ?? 'no hash run';
}

const emitted = Object.entries(NAMES.emitted).flatMap(([tool, names]) =>
  names.map((name) => [tool, name] as const),
);
const vite = [...VITE.stable, ...VITE.beta, ...VITE.other].map((n) => `assets/${n}`);

describe('AST-25 HASHED_NAME: the names bundlers emit, not the names people give', () => {
  it.each([
    // The review's names: sizes, dates, versions.
    'og-image-1200x630.png',
    'hero-1920x1080.jpg',
    'img/hero-1920x1080.jpg',
    'icon-1024x1024.png',
    'splash-2048x2732.png',
    'roadmap-20250601.pdf',
    'img/roadmap-20250601.pdf',
    'v2-20241231.css',
    'favicon-32x32.png',
    // Words and words with a number, in every case.
    'my-component-library.js',
    'pages-Settings.js',
    'MyWidget-HomePage.js',
    'gallery-Photo001.jpg',
    'frame-iPhone15.png',
    'docs/Chapter1.pdf',
    'plan-Q3Plan24.pdf',
    'notes-K8sNotes.md',
    'team-deadbeef.png',
    'photo-IMG_1234.jpg',
    'DSC01234.JPG',
    'app-v1234567.js',
    'build-12345678.js',
    'report-2025-06-01.pdf',
    'schedule-2025-W23.pdf',
    'main-EJWAPSN4.a.b.c.d',
  ])('%s is not content-hashed', (name) => {
    expect([name, HASHED_NAME.test(name)]).toEqual([name, false]);
    expect(whyNot(name)).toBeDefined();
  });

  it.each([
    ['esbuild', 'main-7QZ3X2AB.js'],
    ['esbuild, no digit', 'client-QSEEFRRA.js'],
    ['esbuild source map', 'main-EJWAPSN4.js.map'],
    ['Angular', 'chunk-KK4UT7WN.js'],
    ['Vite', 'assets/index-BdK3kF9a.js'],
    ['Vite, - inside', 'assets/chunk14-Bw-ODF9K.js'],
    ['Vite, _ inside', 'assets/chunk13-DFr6l_nt.js'],
    ['Vite, after a dot (SvelteKit, Astro)', '_app/immutable/chunks/index.Cx8X-aB_.js'],
    ['Vite, the hash alone (Nuxt)', '_nuxt/DlAUqK2U.js'],
    ['webpack [contenthash:8]', 'static/js/main.5d58cadf.js'],
    ['CRA chunk source map', 'static/js/787.85457e2e.chunk.js.map'],
    ['webpack [contenthash]', 'vendor-ae2570120d44d2ba301c.js'],
    ['Next.js', '_next/static/chunks/framework-4ed89e9640adfb9e.js'],
    ['Next.js CSS, the hash alone', '_next/static/css/60da0364ed65e94f.css'],
    ['SHA-256 (Sprockets, Hugo)', `application-${'3f9a1c0b'.repeat(8)}.css`],
    ['hex at the start', 'a1b2c3d4.js'],
    // What the old pattern already took, still taken.
    ['old row', 'index.3f9a1c0b2d.css'],
    ['old row', 'chunk.a1b2c3d4e5f60718.js'],
    ['old row', 'logo-1a2b3c4d.svg'],
  ])('%s: %s is content-hashed', (_tool, name) => {
    expect([name, HASHED_NAME.test(name)]).toEqual([name, true]);
    expect(whyNot(name)).toBeUndefined();
  });

  it.each(NAMES.human.map((name) => [name] as const))('human name %s', (name) => {
    expect([name, HASHED_NAME.test(name)]).toEqual([name, whyNot(name) === undefined]);
  });

  it('no human name is taken for a hash but eight capitals (esbuild has no digit one time in five) or hex letters with a number', () => {
    const taken = NAMES.human.filter((n) => HASHED_NAME.test(n));
    expect(taken.length).toBeLessThanOrEqual(12);
    for (const name of taken)
      expect([name, /(?:^|[-./])(?:[A-Z2-7]{8}|[0-9a-f]{8,})\./.test(name)]).toEqual([name, true]);
  });

  it.each(emitted.map(([tool, name]) => [tool, name] as const))('%s: %s', (_tool, name) => {
    expect([name, HASHED_NAME.test(name)]).toEqual([name, whyNot(name) === undefined]);
  });

  it.each([
    ['esbuild 0.28.2', 1],
    ['angular application builder (esbuild)', 1],
    ['create-react-app 5 (webpack 5, [contenthash:8])', 1],
    ['next.js (webpack, _next/static)', 1],
    ['webpack 4 ([chunkhash], 20 hex)', 1],
    ['rollup 4.68.8 (hashCharacters hex)', 0.85],
    ['vite 8.3.8', 0.4],
    ['rollup 4.68.8 (hashCharacters base64, the default)', 0.4],
    ['rollup 4.68.8 (hashCharacters base36)', 0],
    ['next.js 16 (turbopack)', 0],
  ])(
    '%s: at least %s of the names are recognised (the rest: say so with immutable)',
    (tool, share) => {
      const names = NAMES.emitted[tool] ?? [];
      expect(names.length).toBeGreaterThan(0);
      const hit = names.filter((n) => HASHED_NAME.test(n)).length;
      expect(hit / names.length).toBeGreaterThanOrEqual(share);
      if (share === 0) expect(hit).toBe(0);
    },
  );

  it.each(vite.map((name) => [name] as const))('the Vite fixture: %s', (name) => {
    expect([name, HASHED_NAME.test(name)]).toEqual([name, whyNot(name) === undefined]);
  });

  it('random names: the regex and the rule in plain code agree', () => {
    // A seeded generator over the characters that matter: hex, base32, base64url, separators.
    let seed = 0x9e3779b9;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x100000000;
    };
    const ALPHABET = 'abcdef0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZghijklmnopqrstuvwxyz-_./';
    const PREFIXES = ['', 'x-', 'a/', 'p.', 'q-r-', 'assets/chunk1-'];
    const pick = (s: string) => s[Math.floor(next() * s.length)] ?? '';
    const disagree: string[] = [];
    for (let n = 0; n < 20_000; n++) {
      const shape = n % 4;
      const run = Array.from({ length: 6 + Math.floor(next() * 12) }, () =>
        pick(
          shape === 0
            ? '0123456789abcdef'
            : shape === 1
              ? 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
              : ALPHABET,
        ),
      ).join('');
      const prefix = PREFIXES[Math.floor(next() * PREFIXES.length)] ?? '';
      const name = `${prefix}${run}.${pick('jscm')}${next() < 0.2 ? '.map' : ''}`;
      if (HASHED_NAME.test(name) !== (whyNot(name) === undefined)) disagree.push(name);
    }
    expect(disagree.slice(0, 10)).toEqual([]);
  });
});
