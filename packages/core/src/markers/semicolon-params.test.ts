import { describe, expect, it } from 'vitest';
import { removeSemicolonParams } from './query.js';

/**
 * GW-02 in edge and signed mode (reviews 113 D1, 116): the `gray` parameters a reader that
 * splits at `;` finds go, and nothing else changes kind — the separator stays, so a removal never
 * makes a `..` segment a resolver follows (`/p;x/..;gray=beta/admin` must not become
 * `/p;x/../admin`), never joins two segments or parameters, and never reads the authority.
 */
const ROWS: readonly [string, string][] = [
  ['/x;gray=beta', '/x;'],
  ['/x;a=1;gray=beta', '/x;a=1;'],
  ['/x;a=1&gray=beta', '/x;a=1&'],
  ['/x;gray=beta/y', '/x;/y'],
  ['/x;%67ray=beta', '/x;'],
  ['/x;gray', '/x;'],
  ['/x;gray=', '/x;'],
  ['/x;;gray=beta', '/x;;'],
  // Read case-sensitively (QS-06), removed in every case a next hop could read (GW-02).
  ['/x;GRAY=beta', '/x;'],
  ['/x;Gray[]=beta;a=1', '/x;;a=1'],
  ['/x?a=1;%47RAY=beta', '/x?a=1;'],
  ['/x;grayx=beta', '/x;grayx=beta'],
  ['/x%3Bgray=beta', '/x%3Bgray=beta'], // an escaped `;` separates nothing
  ['/x?a=1;gray=beta', '/x?a=1;'],
  ['/x?a=1;gray=beta&b=2', '/x?a=1;&b=2'],
  // Review 147 D3: before a part's first `;`, a parameter to a `;` reader too.
  ['/x?gray;y=2', '/x?;y=2'],
  ['/x?a=1&GRAY;b', '/x?a=1&;b'],
  ['/x?a=1&[gray];b&c', '/x?a=1&;b&c'],
  ['/x;p?gray;y', '/x;p?;y'],
  // Controls (held before): a whole `&` part is removeQueryParam's; `grayx` spells nothing.
  ['/x?gray=beta&y;z', '/x?gray=beta&y;z'],
  ['/x?gray&y;z', '/x?gray&y;z'],
  ['/x?grayx;y', '/x?grayx;y'],
  ['/x#;gray=beta', '/x#;gray=beta'],
  ['/x;gray=beta#f', '/x;#f'],
  // Review 116 D1: no dot segment made by a removal.
  ['/p;x/..;gray=beta/admin', '/p;x/..;/admin'],
  ['/p;x/..&gray=beta/admin', '/p;x/..&/admin'],
  ['/p;x/%2e%2e;gray=beta/admin/users', '/p;x/%2e%2e;/admin/users'],
  ['/p;gray=beta/.;gray=beta&./admin', '/p;/.;&./admin'],
  // Review 116 D2: no separator eaten after a later removal.
  ['/a;gray=beta/b;gray=beta&x', '/a;/b;&x'],
  // Review 116 D4: the authority of an absolute-form target is not read.
  ['http://h;x/admin;gray=beta/y', 'http://h;x/admin;/y'],
  ['http://u;gray=1@h/admin;gray=beta', 'http://u;gray=1@h/admin;'],
  ['HTTP://h/x;gray=beta', 'HTTP://h/x;'],
  ['http://h;gray=beta', 'http://h;gray=beta'],
];

describe('removeSemicolonParams', () => {
  it.each(ROWS)('%s → %s', (url, expected) => {
    expect(removeSemicolonParams(url, 'gray')).toBe(expected);
  });

  // Every target built from these pieces: the marker never survives for a `;` reader, no segment
  // changes its dot-ness, the segment count stays, and a second pass changes nothing.
  const PIECES = [
    '/',
    ';',
    '&',
    '=',
    '.',
    '..',
    'gray',
    '%67ray',
    'a',
    'beta',
    '?',
    '#',
    '%2e',
    '+',
  ];
  const random = (seed: number) => () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const next = random(116);
  const targets = Array.from(
    { length: 4000 },
    () =>
      '/' +
      Array.from(
        { length: 1 + Math.floor(next() * 14) },
        () => PIECES[Math.floor(next() * PIECES.length)],
      ).join(''),
  );
  const path = (u: string) => u.split(/[?#]/)[0] as string;
  const dots = (u: string) =>
    path(u)
      .split('/')
      .map((s) => (/^(?:\.|%2e){1,2}$/i.test(s) ? s.replace(/%2e/gi, '.') : 'seg'));
  /** The `gray` parameters with a value a `;`-splitting reader finds (after the path's first `;`). */
  const markers = (u: string) => {
    const end = u.indexOf('#') === -1 ? u.length : u.indexOf('#');
    const body = u.slice(0, end);
    const semi = body.indexOf(';');
    const q = body.indexOf('?');
    const from = semi === -1 ? q : q === -1 ? semi : Math.min(semi, q);
    if (from === -1) return [];
    return body
      .slice(from + 1)
      .split(/[;&?/]/)
      .filter((p) => /^(?:gray|%67ray)=./.test(p));
  };

  it('4000 generated targets: no marker left for a `;` reader, dot segments and segment count kept, idempotent', () => {
    for (const t of targets) {
      // What removeQueryParam leaves after `?` is not this function's: judge only `;`-params.
      const out = removeSemicolonParams(t, 'gray');
      const semiMarkers = markers(out).filter((m) => {
        const i = out.indexOf(m);
        return i > 0 && (out[i - 1] === ';' || (out[i - 1] === '&' && out.indexOf('?') === -1));
      });
      expect(semiMarkers, t).toEqual([]);
      expect(dots(out), t).toEqual(dots(t));
      expect(removeSemicolonParams(out, 'gray'), t).toBe(out);
    }
  });

  it('linear: 1 MB of separators', () => {
    const big = '/x' + ';gray=beta&'.repeat(100_000);
    const out = removeSemicolonParams(big, 'gray');
    expect(out).toBe('/x' + ';&'.repeat(100_000));
  });
});
