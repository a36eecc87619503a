import { describe, expect, it } from 'vitest';
import { routerTarget } from './target.js';

/**
 * GW-02: the request target as the widest of its readers reads it (find-my-way from the first
 * `?` or `#`, WHATWG/parseurl from the first `?` to a `#`, a first-`?` splitter such as
 * @fastify/reply-from, `URLSearchParams` dropping one leading `?`). Any `gray` key one of them
 * finds must be a parameter here, and nothing else may change.
 */
const ROWS: [target: string, read: string][] = [
  // Unchanged: no `#`, no `??`.
  ['/p', '/p'],
  ['/p?a=1&gray=beta', '/p?a=1&gray=beta'],
  ['/p?next=/a?b=1', '/p?next=/a?b=1'],
  ['/p?x=1&gray=beta?y=2', '/p?x=1&gray=beta?y=2'],
  ['/p?x=1;gray=beta', '/p?x=1;gray=beta'],
  ['/p%23x?gray=beta', '/p%23x?gray=beta'],
  ['/p?x=%23&gray=beta', '/p?x=%23&gray=beta'],
  // `#` after the first `?`: a value ends there.
  ['/p?gray=beta#frag', '/p?gray=beta&frag'],
  ['/p?x=1#&gray=beta', '/p?x=1&&gray=beta'],
  ['/p?x=1#y?gray=beta&z=1', '/p?x=1&y?gray=beta&z=1'],
  // `#` first: find-my-way's query starts there, a first-`?` reader's at the `?` after it.
  ['/p#gray=beta', '/p?gray=beta'],
  ['/p#x?gray=beta', '/p?x&gray=beta'],
  ['/p#?gray=beta', '/p?&gray=beta'],
  ['/p#a&b?x=1&gray=beta', '/p?a&b&x=1&gray=beta'],
  ['/p#a#b?gray=beta', '/p?a&b&gray=beta'],
  ['/p#x?y?gray=beta', '/p?x&y?gray=beta'],
  // `??`: URLSearchParams given what follows the first `?` drops the second.
  ['/p??gray=beta&x=1', '/p?&gray=beta&x=1'],
  ['/p#x??gray=beta', '/p?x&&gray=beta'],
  ['http://h/p#x?gray=beta', 'http://h/p?x&gray=beta'],
];

describe('GW-02 routerTarget reads what every reader could take for a parameter', () => {
  it.each(ROWS)('GW-02 %s', (target, read) => {
    expect(routerTarget(target)).toBe(read);
  });
  it('GW-02 every gray key a reader finds is a parameter of the widest reading', () => {
    const readers = (t: string): URLSearchParams[] => {
      const out = [new URL(t, 'http://h').searchParams];
      const any = t.search(/[?#]/);
      if (any !== -1) out.push(new URLSearchParams(t.slice(any + 1)));
      const q = t.indexOf('?');
      if (q !== -1) out.push(new URLSearchParams(t.slice(q + 1)));
      return out;
    };
    for (const [target] of ROWS) {
      const wide = routerTarget(target);
      const widest = new URLSearchParams(wide.slice(wide.indexOf('?') + 1));
      for (const r of readers(target))
        if (r.has('gray')) expect(widest.has('gray'), target).toBe(true);
    }
  });
});
