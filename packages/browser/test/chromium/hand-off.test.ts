import type {} from './page-entry.js';
import { describe, expect, it } from 'vitest';
import { chromiumAvailable, pageSuite } from './harness.js';

// The server → client hand-off in real Chromium: a server renders the page for a version and
// says so in `<meta name="graylane-version">` (or `serverVersion`); `initGray` starts on it
// synchronously, before the first paint, so the first API call and the first render agree. And a
// repeated `initGray` (React StrictMode, HMR) keeps one client and one exposure event.

const run = chromiumAvailable();

/**
 * A page the server rendered for `metas` in its head (none: a static page); `echoed` metas sit in
 * the body, as markup a page shows (a user's comment, an injected fragment) would.
 */
function html(metas: readonly string[], echoed: readonly string[], search: string): string {
  const tag = (m: string): string => `<meta name="graylane-version" content="${m}">`;
  const tags = metas.map(tag).join('');
  const comments = echoed.map((m) => `<div class="comment">${tag(m)}</div>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8">${tags}<script src="/sdk.js"></script>
<script>
  // Runs before the first paint: the version and the first API call of the page.
  const c = graylane.initGray({ versions: ['stable', 'beta', 'canary'], default: 'stable',
    override: true, onAssign: (v, r) => (window.exposures = (window.exposures || []).concat(v + ':' + r)) });
  document.documentElement.dataset.gray = c.getGrayVersion();
  window.firstCall = graylane.withGray()('/api/first${search}');
</script></head><body>${comments}<p>rendered</p>
</body></html>`;
}

describe.skipIf(!run)('Chromium: server hand-off and a repeated initGray', () => {
  const suite = pageSuite((_req, res, url) => {
    if (url.pathname === '/page')
      return void res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(html(url.searchParams.getAll('meta'), url.searchParams.getAll('echo'), url.search));
    res.writeHead(200).end('ok');
  });

  async function view(query: string): Promise<{
    painted: string;
    exposures: string[];
    marker: string | undefined;
    cookie: string | undefined;
  }> {
    await suite.page.goto(`${suite.app.origin}/page?${query}`);
    const painted = await suite.page.evaluate(() => document.documentElement.dataset['gray'] ?? '');
    const exposures = await suite.page.evaluate(
      () => (window as unknown as { exposures: string[] }).exposures,
    );
    await suite.page.evaluate(
      () => (window as unknown as { firstCall: Promise<unknown> }).firstCall,
    );
    const first = suite.app.seen.filter((s) => s.path === '/api/first').at(-1);
    const cookie = (await suite.context.cookies(suite.app.origin)).find(
      (c) => c.name === 'gray',
    )?.value;
    return { painted, exposures, marker: first?.marker, cookie };
  }

  it.each([
    ['meta=beta', 'beta', 'beta:server', undefined],
    ['meta=canary', 'canary', 'canary:server', undefined],
    ['meta=%20beta%20', 'beta', 'beta:server', undefined],
    ['meta=BETA', 'stable', 'stable:invalid_marker', undefined],
    ['meta=gamma', 'stable', 'stable:unknown_version', undefined],
    ['meta=beta&meta=stable', 'stable', 'stable:invalid_marker', undefined],
    ['meta=beta&gray=canary', 'canary', 'canary:override', undefined],
    ['', 'stable', 'stable:default', undefined],
    // Only <head> is the server's: a meta in <body> is content, whatever it says (hostile metas).
    ['meta=beta&echo=canary', 'beta', 'beta:server', undefined],
    ['echo=canary', 'stable', 'stable:default', undefined],
    ['echo=canary&echo=beta', 'stable', 'stable:default', undefined],
    ['meta=beta&echo=beta&echo=stable', 'beta', 'beta:server', undefined],
    // A raw NUL in an attribute is U+FFFD after parsing; entities and controls are not labels.
    ['meta=beta%00', 'stable', 'stable:invalid_marker', undefined],
    ['meta=beta%26%230%3B', 'stable', 'stable:invalid_marker', undefined],
    ['meta=beta%0A', 'stable', 'stable:invalid_marker', undefined],
    ['meta=' + 'b'.repeat(65), 'stable', 'stable:invalid_marker', undefined],
  ])(
    'the page rendered for ?%s: first paint %s, exposure %s, first API call on the same lane, cookie %s',
    async (query, version, exposure, cookie) => {
      const out = await view(query);
      expect(out).toEqual({ painted: version, exposures: [exposure], marker: version, cookie });
    },
  );

  it('the server version rules this page view over the stored cookie and is never stored; no meta: the cookie', async () => {
    await view('');
    await suite.page.evaluate(() =>
      globalThis.graylane
        .initGray({ versions: ['stable', 'beta', 'canary'], default: 'stable' })
        .setGrayVersion('canary'),
    );
    for (const meta of ['beta', 'stable', 'canary']) {
      const handed = await view(`meta=${meta}`);
      expect(handed).toMatchObject({
        painted: meta,
        exposures: [`${meta}:server`],
        cookie: 'canary',
      });
    }
    const staticPage = await view('');
    expect(staticPage).toMatchObject({
      painted: 'canary',
      exposures: ['canary:cookie'],
      marker: 'canary',
      cookie: 'canary',
    });
  });

  it('StrictMode/HMR: initGray again with equal options → the same client, one exposure; different options → a new default client', async () => {
    await view('meta=beta');
    const out = await suite.page.evaluate(async () => {
      const g = globalThis.graylane;
      const options = (): Parameters<typeof g.initGray>[0] => ({
        versions: ['stable', 'beta', 'canary'],
        default: 'stable',
        rules: g.split({ beta: 5 }),
        allow: [/^https:\/\/svc-\d+\.example\.com$/],
        onAssign: (v, r) => (window as unknown as { again: string[] }).again.push(`${v}:${r}`),
      });
      (window as unknown as { again: string[] }).again = [];
      const a = g.initGray(options());
      const b = g.initGray(options());
      const off = g.installFetch();
      await fetch('/api/a');
      const c = g.initGray({ ...options(), serverVersion: 'canary' });
      await fetch('/api/c');
      off();
      return {
        same: a === b,
        replaced: c !== a,
        again: (window as unknown as { again: string[] }).again,
      };
    });
    expect(out).toEqual({ same: true, replaced: true, again: ['beta:server', 'canary:server'] });
    const markers = suite.app.seen
      .filter((s) => s.path.startsWith('/api/'))
      .map((s) => [s.path, s.marker]);
    expect(markers).toEqual([
      ['/api/first', 'beta'],
      ['/api/a', 'beta'],
      ['/api/c', 'canary'],
    ]);
  });
});
