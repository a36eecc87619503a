import { parseMarker, readQueryParam } from '@graylane/core';
import type {} from './page-entry.js';
import { describe, expect, it } from 'vitest';
import { chromiumAvailable, pageSuite } from './harness.js';

// Review 156 D1 in real Chromium: the page's `?gray=` override outranks the server's hand-off, so
// the page must read the query exactly as the server does, or the HTML (rendered for what the
// server read) and the API calls (marked with what the page read) land on different lanes. The
// server here decides with core's `readQueryParam` + `parseMarker` — what every server adapter
// uses — on the raw request target, and hands its version over in the meta tag. Every row: the
// page's version and the marker of its first API call equal the server's; `expected` spells out
// what core reads, so the table also pins the oracle.

const run = chromiumAvailable();
const VERSIONS = new Set(['stable', 'beta', 'canary']);

/** What a graylane server decides for the query `search` (no cookie, no header). */
function serverVersion(search: string): string {
  const read = readQueryParam(search, 'gray');
  if (read.kind !== 'value') return 'stable';
  const m = parseMarker(read.value, { hasVersion: (v) => VERSIONS.has(v) });
  return m.kind === 'valid' ? m.version : 'stable';
}

const filler = (n: number): string => Array.from({ length: n }, (_, i) => `f${i}=1`).join('&');

// [query, what core (so the server) reads]
const ROWS: ReadonlyArray<readonly [string, string]> = [
  // controls
  ['gray=beta', 'beta'],
  ['x=1&gray=canary&y=2', 'canary'],
  ['', 'stable'],
  // percent-encoded keys, an escape in every position
  ['%67ray=beta', 'beta'],
  ['g%72ay=beta', 'beta'],
  ['gr%61y=beta', 'beta'],
  ['gra%79=beta', 'beta'],
  ['%67%72%61%79=canary', 'canary'],
  ['x=1&gr%61y=canary', 'canary'],
  // an escaped key beside the plain one is the same key twice: ambiguous, in either order
  ['gray=beta&gr%61y=stable', 'stable'],
  ['gray=beta&gr%61y=canary', 'stable'],
  ['gr%61y=canary&gray=beta', 'stable'],
  ['gray=beta&%67ray=beta', 'stable'],
  ['x=1&gra%79=beta&gray=beta', 'stable'],
  ['%67ray=canary&g%72ay=beta', 'stable'],
  // keys that do not decode, or decode to another key
  ['gray%=canary&gray=beta', 'beta'],
  ['gr%ZZy=canary&gray=beta', 'beta'],
  ['gray%00=canary&gray=beta', 'beta'],
  ['gr%C3%A1y=canary&gray=beta', 'beta'],
  ['%47RAY=beta', 'stable'],
  ['GRAY=beta', 'stable'],
  ['gray%5B%5D=beta', 'stable'],
  ['gray[]=beta', 'stable'],
  // bare keys are empty values: the key is present
  ['gray=beta&gray', 'stable'],
  ['gray&gray=beta', 'stable'],
  ['gr%61y&gray=beta', 'stable'],
  ['gray=beta&gr%61y', 'stable'],
  ['gray', 'stable'],
  // empty values
  ['gray=', 'stable'],
  ['gray=beta&gray=', 'stable'],
  ['gray=&gray=beta', 'stable'],
  // duplicates, even agreeing ones (QS-03)
  ['gray=beta&gray=beta', 'stable'],
  ['gray=beta&gray=canary', 'stable'],
  // `+` is a space, in keys and values
  ['gray=beta+', 'beta'],
  ['gray=+canary', 'canary'],
  ['gray+=beta', 'stable'],
  ['+gray=beta', 'stable'],
  ['gr+ay=beta', 'stable'],
  ['gray=be+ta', 'stable'],
  ['gray=beta%2B', 'stable'],
  ['gray=beta&gray+=canary', 'beta'],
  // values are decoded; what does not decode stays raw and fails (QS-05)
  ['gray=%62eta', 'beta'],
  ['gray=c%61n%61ry', 'canary'],
  ['gray=%20beta%09', 'beta'],
  ['gray=%ZZ', 'stable'],
  ['gray=beta%', 'stable'],
  ['gray=beta%0d%0a', 'stable'],
  ['gray=%00beta', 'stable'],
  ['gray=beta=1', 'stable'],
  ['gray==beta', 'stable'],
  // empty parts
  ['&&gray=beta&&', 'beta'],
  ['&gray=canary&', 'canary'],
  // the 256-part cap: every part counts, empty ones too, and the scan stops there
  [`${filler(255)}&gray=beta`, 'beta'],
  [`${filler(256)}&gray=beta`, 'stable'],
  [`${'&'.repeat(255)}gray=beta`, 'beta'],
  [`${'&'.repeat(256)}gray=beta`, 'stable'],
  [`gray=canary&${filler(255)}&gray=beta`, 'canary'],
  [`${filler(254)}&gray=beta&gray=canary`, 'stable'],
  [`${filler(255)}&gray=beta&gray=canary`, 'beta'],
  [`${filler(300)}&gr%61y=beta`, 'stable'],
  // `;` is no separator here
  ['gray=beta;x=1', 'stable'],
  ['x=1;gray=beta', 'stable'],
  ['gray;=beta', 'stable'],
  ['gray=beta;gray=canary', 'stable'],
  ['gray=beta&x=1;gray=canary', 'beta'],
  // the 8 KiB cap (QS-06)
  [`gray=beta&pad=${'a'.repeat(8192 - 14)}`, 'beta'],
  [`gray=beta&pad=${'a'.repeat(8192 - 13)}`, 'stable'],
];

function html(meta: string): string {
  return `<!doctype html><html><head><meta charset="utf-8">
<meta name="graylane-version" content="${meta}"><script src="/sdk.js"></script>
<script>
  const c = graylane.initGray({ versions: ['stable', 'beta', 'canary'], default: 'stable', override: true });
  window.result = { version: c.getGrayVersion(), reason: c.getGrayReason(), search: location.search };
  window.call = graylane.withGray()('/api').then((r) => r.text());
</script></head><body></body></html>`;
}

describe.skipIf(!run)('Chromium: the ?gray= override reads the query as the server does', () => {
  const suite = pageSuite((req, res, url) => {
    if (url.pathname === '/page') {
      const target = req.url ?? '';
      const q = target.indexOf('?');
      const search = q === -1 ? '' : target.slice(q + 1);
      return void res
        .writeHead(200, { 'content-type': 'text/html', 'x-search': encodeURIComponent(search) })
        .end(html(serverVersion(search)));
    }
    res.writeHead(200).end('ok');
  });

  it('pins the oracle: the expected column is what core reads', () => {
    expect(ROWS.map(([q]) => serverVersion(q))).toEqual(ROWS.map(([, v]) => v));
  });

  // One page for every row (nothing is stored: the override is page-only), compared as one table
  // so a failure lists every row that disagrees.
  it("every row: the page and its first API call are on the server's version", async () => {
    const seen: Array<readonly [string, string, string | undefined, string]> = [];
    for (const [query] of ROWS) {
      const response = await suite.page.goto(`${suite.app.origin}/page?${query}`);
      const result = await suite.page.evaluate(
        () =>
          (window as unknown as { result: { version: string; reason: string; search: string } })
            .result,
      );
      await suite.page.evaluate(() => (window as unknown as { call: Promise<string> }).call);
      // The page saw the bytes the server read.
      const sent = decodeURIComponent((await response?.headerValue('x-search')) ?? '');
      expect(result.search.slice(1), query).toBe(sent);
      const api = suite.app.seen.filter((s) => s.path === '/api').at(-1);
      suite.app.seen.length = 0;
      seen.push([query, result.version, api?.marker, result.reason]);
    }
    // A value the server took is the override's; anything else is the server's hand-off.
    expect(seen).toEqual(
      ROWS.map(([q, v]) => [q, v, v, v === 'stable' ? 'server' : 'override'] as const),
    );
  });
});
