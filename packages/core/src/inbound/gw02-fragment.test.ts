import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { spellsRef } from '../../test/spelling-ref.js';
import { removeQueryParam, removeSemicolonParams } from '../markers/query.js';
import { applyQueryEdit, type QueryEdit } from './normalize.js';
import { routerTarget } from './target.js';

/**
 * GW-02 (review 81 D3): a `#` in a request target. graylane judges the target as the widest of
 * its readers reads it (`routerTarget`: every `#` separates parameters), which is right, but the
 * query edit was written back in that reading, so the `#` and `?` it had read as `&` became `&`:
 * `/p?gray=beta#&admin=1` reached the app as `/p?&admin=1` (express: `{ admin: '1' }`, where it
 * had read `{ gray: 'beta' }` and left `admin` in a fragment nobody reads), `/p#gray=beta&admin=1`
 * as `/p?admin=1`, `/p?a=1&gray=beta#x` went upstream as `/p?a=1&x`.
 *
 * Each row is edited as edge mode edits (`applyQueryEdit`, the call every adapter makes on the
 * target it holds), and then read by every reader of a request target: after the edit no reader
 * finds the marker, and none finds a parameter (key and value, byte for byte) it did not find in
 * the target as sent. What a removal may cost is a parameter that shares a reader's parameter with
 * the marker (`/p?a=1#gray=beta`: find-my-way reads `a=1#gray=beta`), or, where a `#` that ends
 * one reader's query is inside another's parameter with the marker, what follows.
 */

/** One reader's parameters, raw, in order: the non-empty `&` parts of what it reads. */
const parts = (query: string): string[] => query.split('&').filter((p) => p !== '');
const queryStart = (t: string) => t.search(/[?#]/);

const READERS: Record<string, (t: string) => string[]> = {
  // express (parseurl, url.parse), the WHATWG URL, hono: from a first `?` to a `#`.
  'express/WHATWG': (t) => {
    const s = queryStart(t);
    if (s === -1 || t[s] !== '?') return [];
    const h = t.indexOf('#', s);
    return parts(t.slice(s + 1, h === -1 ? undefined : h));
  },
  // koa 3: the same query, given to URLSearchParams, which drops one more leading `?`.
  koa: (t) => {
    const s = queryStart(t);
    if (s === -1 || t[s] !== '?') return [];
    const h = t.indexOf('#', s);
    return parts(t.slice(s + 1, h === -1 ? undefined : h).replace(/^\?/, ''));
  },
  // fastify (find-my-way + fast-querystring): from the first `?` or `#` to the end.
  'find-my-way': (t) => {
    const s = queryStart(t);
    return s === -1 ? [] : parts(t.slice(s + 1));
  },
  // A proxy that splits at the first `?` (@fastify/reply-from), then URLSearchParams upstream.
  'first-? splitter': (t) => {
    const q = t.indexOf('?');
    return q === -1 ? [] : parts(t.slice(q + 1).replace(/^\?/, ''));
  },
  // graylane itself at the next hop (an `open` internal service): the widest reading.
  'graylane (routerTarget)': (t) => {
    const r = routerTarget(t);
    const q = r.indexOf('?');
    return q === -1 ? [] : parts(r.slice(q + 1));
  },
};

const keyOf = (p: string) => (p.includes('=') ? p.slice(0, p.indexOf('=')) : p);
const isMarker = (p: string) => spellsRef(keyOf(p), 'gray');
const EDGE: QueryEdit = { remove: ['gray'], append: undefined, semicolons: true };

/** What is wrong with `after` as the edit of `before`, reader by reader (empty: nothing). */
function problems(before: string, after: string): string[] {
  const out: string[] = [];
  for (const [name, read] of Object.entries(READERS)) {
    const had = read(before).filter((p) => !isMarker(p));
    for (const p of read(after)) {
      if (isMarker(p)) out.push(`${name} still finds the marker ${p} in ${after}`);
      const i = had.indexOf(p);
      if (i === -1) out.push(`${name} finds ${JSON.stringify(p)} in ${after}, not in ${before}`);
      else had.splice(i, 1);
    }
  }
  return out;
}

/** Shapes: `M` is the marker parameter. */
const SHAPES = [
  // `#` after the first `?`.
  '/p?M#&admin=1',
  '/p?M#frag',
  '/p?M#x&a=1',
  '/p?a=1&M#x',
  '/p?a=1&M#x&b=2',
  '/p?a=1&M#&admin=1',
  '/p?a=1&M&b=2#x',
  '/p?a=1#M',
  '/p?a=1#M&b=2',
  '/p?a=1#&M',
  '/p?a=1#x&M',
  '/p?a=1#x&M&b=2',
  '/p?a=1#x&M#y&b=2',
  '/p?x=1#y?M&z=1',
  // `#` first: find-my-way's query starts there.
  '/p#M',
  '/p#M&admin=1',
  '/p#a=1&M',
  '/p#a=1&M&b=2',
  '/p#M#x&a=1',
  '/p#x?M',
  '/p#?M',
  '/p#?M&a=1',
  '/p#a&b?x=1&M',
  '/p#a#b?M',
  '/p#x&M?y=1',
  '/p#M?y=1&z=2',
  // Several `#`.
  '/p?M#a#b&c=1',
  '/p?a=1#b#M&c=2',
  '/p#a#M#b',
  // `??`: a first-`?` splitter's URLSearchParams drops the second.
  '/p??M&x=1',
  '/p??M',
  '/p??a=1&M#x',
  '/p?M&?x=1',
  '/p??M&?x=1',
  '/p#x??M',
  // `#` inside a value, `?` inside a value.
  '/p?a=x#y&M',
  '/p?next=/a?b=1&M#x',
  '/p?M?y=2#z',
  '/p?a=1?M#x',
  // First, middle, last, only; repeated; empty parts.
  '/p?M#x',
  '/p?a=1&M&b=2#x',
  '/p?a=1&b=2&M#x&c=3',
  '/p?M&M#x&a=1',
  '/p?a=1&M&M#x',
  '/p?a=1#M&M&b=2',
  '/p?&&M&&a=1#&b',
  '/p?a=1&&M&#&b=2',
  '/p?a=1&M&#',
  '/p?M&#x',
  '/p?#&M&a=1',
  // Controls: no marker under any reading.
  '/p?a=1#x',
  '/p?q=1#frag?admin=1',
  '/p#frag',
  '/p?x=%23&b=1#c',
];
const SPELLINGS = ['gray=beta', 'GRAY=beta', 'gr%61y=beta', 'gray[]=beta', '%67ray=x', 'gray'];
const ROWS = SHAPES.flatMap((shape) =>
  ['', 'http://h'].flatMap((origin) =>
    SPELLINGS.map((m) => `${origin}${shape.replaceAll('M', m)}`),
  ),
);

describe('GW-02 a query edit leaves a `#` and a `?` as the client sent them (review 81 D3)', () => {
  it.each(ROWS)('GW-02 %s: no reader finds the marker or a parameter it did not find', (url) => {
    const after = applyQueryEdit(url, EDGE);
    expect(problems(url, after)).toEqual([]);
    // Every view of the URL gets the same edit: a second pass finds nothing.
    expect(applyQueryEdit(after, EDGE)).toBe(after);
  });

  // What the edit leaves, as the review saw it and for the shapes docs/gateways.md names.
  it.each([
    ['/p?gray=beta#&admin=1', '/p'],
    ['/p#gray=beta&admin=1', '/p#admin=1'],
    ['/p?a=1&gray=beta#x', '/p?a=1'],
    ['/p?a=1&gray=beta#&admin=1', '/p?a=1'],
    ['/p?gray=beta&a=1#x&b=2', '/p?a=1#x&b=2'],
    ['/p?a=1#x&gray=beta', '/p?a=1#x'],
    ['/p?a=1#x&gray=beta&b=2', '/p?a=1#x&b=2'],
    ['/p#a=1&gray=beta&b=2', '/p#a=1&b=2'],
    ['/p#a&b?x=1&gray=beta', '/p#a&b?x=1'],
    ['/p??gray=beta&x=1', '/p?x=1'],
    ['/p?gray=beta&?x=1', '/p?&?x=1'],
    ['/p?a=1#gray=beta', '/p'],
    ['/p#x?gray=beta', '/p'],
    ['http://h/p#gray=beta&admin=1', 'http://h/p#admin=1'],
    ['/p?gray=beta;y=2#x&a=1', '/p'],
    // Controls: nothing removed, nothing changes.
    ['/p?a=1#x', '/p?a=1#x'],
    ['/p?q=1#frag?admin=1', '/p?q=1#frag?admin=1'],
  ])('GW-02 %s → %s', (url, out) => {
    expect(applyQueryEdit(url, EDGE)).toBe(out);
  });

  // A `;` parameter after a `#` is a marker to a reader that splits at `;` (qs with
  // `delimiter: /[&;]/` as fastify's querystringParser): it goes, the `#` stays.
  it.each([
    ['/p?a=1#x;gray=beta', '/p?a=1#x;'],
    ['/d#;gray=beta', '/d#;'],
    ['/p#a=1;gray=beta&b=2', '/p#a=1;&b=2'],
    ['/p;gray=beta#x?y=1', '/p;#x?y=1'],
  ])('GW-02 edge: %s → %s', (url, out) => {
    expect(applyQueryEdit(url, EDGE)).toBe(out);
  });

  it('GW-02 on any target built of separators, markers and values, no reader gains a parameter', () => {
    const unit = fc.constantFrom(
      ...['gray', 'GRAY', 'gr%61y', 'gray[]', '+gray', '=beta', '=', 'a=1', 'b', '?next=/a'],
      ...['&', '&', '#', '#', '?', '?', '%23', '/'],
    );
    fc.assert(
      fc.property(
        fc.constantFrom('/p', 'http://h/p', '/'),
        fc.array(unit, { maxLength: 14 }),
        (path, units) => {
          const url = path + units.join('');
          const after = applyQueryEdit(url, EDGE);
          expect(problems(url, after)).toEqual([]);
          expect(applyQueryEdit(after, EDGE)).toBe(after);
          // Without a `#` or a `??` the edit is the one it always was, but where that one
          // made a `??` (`/p?gray=beta&?x=1` became `/p??x=1`: koa then read `x=1`).
          const old = removeQueryParam(url, 'gray');
          if (routerTarget(url) === url && routerTarget(old) === old) expect(after).toBe(old);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('GW-02 with `;` parameters and a `#`, no reader, one that splits at `;` too, finds the marker', () => {
    const unit = fc.constantFrom(
      ...['gray', 'GRAY', '%67ray', 'gray[]', '=beta', 'a=1', 'b', ';', ';', '&', '#', '?', '/'],
    );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 14 }), (units) => {
        const url = `/p${units.join('')}`;
        const after = applyQueryEdit(url, EDGE);
        for (const [name, read] of Object.entries(READERS))
          for (const p of read(after).flatMap((part) => part.split(';')))
            expect(isMarker(p), `${name}: ${url} → ${after}`).toBe(false);
        expect(applyQueryEdit(after, EDGE)).toBe(after);
      }),
      { numRuns: 20_000 },
    );
  });

  it('GW-02 without a `#` or a `??`, `;` parameters too, the edit is the one it always was', () => {
    const unit = fc.constantFrom(
      ...[
        'gray',
        'GRAY',
        '%67ray',
        'gray[]',
        '+gray',
        '=beta',
        '=',
        'a=1',
        'b',
        ';',
        ';',
        '&',
        '&',
      ],
    );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 14 }), (units) => {
        const url = `/p?${units.join('')}`;
        if (routerTarget(url) !== url) return;
        let old = removeQueryParam(url, 'gray');
        if (routerTarget(old) !== old) return; // the old one made a `??` (above)
        expect(applyQueryEdit(url, { remove: ['gray'], append: undefined })).toBe(old);
        old = removeSemicolonParams(old, 'gray');
        expect(applyQueryEdit(url, EDGE)).toBe(old);
      }),
      { numRuns: 20_000 },
    );
  });
});
