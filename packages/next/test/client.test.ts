// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { readServerVersion } from '../src/client.js';

/*
 * HDR-07 / the hand-off's place: `readServerVersion()` reads the server's `<meta
 * name="graylane-version">` from `<head>`, else from anywhere in the page (Next streams the
 * metadata of a dynamic page into the body once it resolves); several that disagree name no
 * version. A body meta never beats a head one.
 */
afterEach(() => {
  document.head.innerHTML = '';
  document.body.innerHTML = '';
});

const meta = (v: string) => `<meta name="graylane-version" content="${v}">`;
const ROWS: [string, string, string, string | undefined][] = [
  ['one head meta', meta('beta'), '', 'beta'],
  ['none', '', '', undefined],
  ['a body meta only (streamed metadata)', '', meta('beta'), 'beta'],
  ['two body metas that disagree', '', meta('beta') + meta('stable'), undefined],
  ['a body meta does not beat the head', meta('stable'), meta('beta'), 'stable'],
  ['two head metas that agree', meta('beta') + meta('beta'), '', 'beta'],
  ['two head metas that disagree', meta('beta') + meta('stable'), '', undefined],
  ['disagreeing, the bad one last', meta('beta') + meta('BETA'), '', undefined],
  ['an invalid label', meta('Beta!'), '', undefined],
  ['a 100-byte label', meta('b'.repeat(100)), '', undefined],
  ['another meta name', '<meta name="graylane-version-x" content="beta">', '', undefined],
];

describe('readServerVersion', () => {
  it.each(ROWS)('%s', (_name, head, body, expected) => {
    document.head.innerHTML = head;
    document.body.innerHTML = body;
    expect(readServerVersion()).toBe(expected);
  });

  it('without a document (SSR): undefined, never a throw', () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'document');
    Object.defineProperty(globalThis, 'document', { value: undefined, configurable: true });
    try {
      expect(readServerVersion()).toBeUndefined();
    } finally {
      if (saved) Object.defineProperty(globalThis, 'document', saved);
    }
  });
});
