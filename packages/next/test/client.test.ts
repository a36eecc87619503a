// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { initGray } from '@graylane/browser';
import { readServerVersion } from '../src/client.js';

/*
 * HDR-07 / the hand-off's place (review F9): `readServerVersion()` reads the server's `<meta
 * name="graylane-version">` from `<head>` only, exactly as `initGray` reads its own hand-off, so
 * the two agree on every page shape. A meta in `<body>` — markup the page echoes (user content),
 * or metadata Next streamed there — is never read; several head metas that disagree name no
 * version (CK-02). Each row is checked against the browser SDK itself (`client.serverVersion`).
 */
afterEach(() => {
  document.head.innerHTML = '';
  document.body.innerHTML = '';
});

const meta = (v: string) => `<meta name="graylane-version" content="${v}">`;
/** What Next 16 streams for late metadata: the hoisted tag loose in <body>, then its boundary. */
const streamed = (v: string) =>
  `<div hidden=""><!--$?--><template id="B:0"></template><!--/$--></div>` +
  `<meta name="graylane-version" content="${v}"/><div hidden id="S:0"></div>`;
const VERSIONS = ['stable', 'beta', 'canary', 'b'.repeat(32)];

const ROWS: [string, string, string, string | undefined][] = [
  ['one head meta', meta('beta'), '', 'beta'],
  ['none', '', '', undefined],
  ['a body meta only (echoed user content): ignored', '', meta('canary'), undefined],
  ['a body meta in echoed markup (a comment section)', '', `<p>${meta('beta')}</p>`, undefined],
  ['streamed metadata only, in the body: ignored', '', streamed('beta'), undefined],
  ['streamed metadata beside the head hand-off', meta('beta'), streamed('beta'), 'beta'],
  ['streamed metadata that disagrees with the head', meta('beta'), streamed('stable'), 'beta'],
  ['two body metas that disagree', '', meta('beta') + meta('stable'), undefined],
  ['a body meta never beats the head', meta('stable'), meta('beta'), 'stable'],
  ['two head metas that agree', meta('beta') + meta('beta'), '', 'beta'],
  ['two head metas that disagree', meta('beta') + meta('stable'), '', undefined],
  [
    'three head metas, the odd one last',
    meta('beta') + meta('beta') + meta('canary'),
    '',
    undefined,
  ],
  ['disagreeing, the bad one last', meta('beta') + meta('BETA'), '', undefined],
  ['disagreeing only by a space', meta('beta') + meta(' beta'), '', undefined],
  ['spaces around the label', meta(' beta '), '', 'beta'],
  ['a tab before the label', meta('\tcanary'), '', 'canary'],
  ['an empty content', meta(''), '', undefined],
  ['no content attribute', '<meta name="graylane-version">', '', undefined],
  ['an empty and a valid one', meta('') + meta('beta'), '', undefined],
  ['an invalid label', meta('Beta!'), '', undefined],
  ['a 32-byte label', meta('b'.repeat(32)), '', 'b'.repeat(32)],
  ['a 100-byte label', meta('b'.repeat(100)), '', undefined],
  ['another meta name', '<meta name="graylane-version-x" content="beta">', '', undefined],
  ['property, not name', '<meta property="graylane-version" content="beta">', '', undefined],
];

describe('readServerVersion', () => {
  it.each(ROWS)('%s', (_name, head, body, expected) => {
    document.head.innerHTML = head;
    document.body.innerHTML = body;
    expect(readServerVersion()).toBe(expected);
    // The browser SDK reads the same page the same way.
    expect(initGray({ versions: VERSIONS, default: 'stable' }).serverVersion).toBe(expected);
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
