import type {} from './page-entry.js';
import type { ServerResponse } from 'node:http';
import { beforeEach, describe, expect, it } from 'vitest';
import { chromiumAvailable, pageSuite } from './harness.js';

// @graylane/browser/remote in real Chromium against a real rules endpoint with ETags: the first
// paint from the server-rendered bootstrap (no request), the cache across reloads, conditional
// revalidation, last-known-good through outages and bad documents, and the sticky policy across
// rules changes, over real reloads.

const run = chromiumAvailable();

const doc = (beta: number, salt = 'ramp') =>
  JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [
      {
        id: 'ramp',
        salt,
        bucketBy: 'attr:anonymousId',
        split: [
          { version: 'beta', weight: beta },
          { version: 'stable', weight: 100 - beta },
        ],
      },
    ],
  });

interface View {
  readonly version: string;
  readonly reason: string;
  readonly requestsBeforeInit: number;
  readonly rerolls: string[];
  readonly status: string;
}

describe.skipIf(!run)('Chromium: remote rules (/remote)', () => {
  /** What the endpoint serves now: a document (with its ETag) or a status. */
  let serving:
    | { body: string; etag: string }
    | { status: number }
    | { stream: 'chunked' | 'lying-length' | 'drip' } = {
    body: doc(100),
    etag: '"v1"',
  };
  let bootstrap: string | undefined;
  /** Markup the page shows before the server's bootstrap (user content, injected fragments). */
  let echoed = '';
  /** Bytes the endpoint managed to write before the page stopped reading. */
  let streamed = 0;
  /** The page closed the connection before the endpoint had written all it would. */
  let hungUp = false;
  const suite = pageSuite((req, res, url) => {
    if (url.pathname === '/rules.json') {
      if ('status' in serving) return void res.writeHead(serving.status).end('no');
      if ('stream' in serving) return void stream(res, serving.stream);
      if (req.headers['if-none-match'] === serving.etag)
        return void res.writeHead(304, { etag: serving.etag }).end();
      return void res
        .writeHead(200, { 'content-type': 'application/json', etag: serving.etag })
        .end(serving.body);
    }
    const tag =
      bootstrap === undefined
        ? ''
        : `<script type="application/json" id="graylane-rules">${bootstrap}</script>`;
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end(
        `<!doctype html><meta charset="utf-8"><script src="/sdk.js"></script><body>${echoed}${tag}</body>`,
      );
  });

  /** An endless JSON-ish body (until the page hangs up): chunked, under a small Content-Length, or 1 byte/100 ms. */
  function stream(res: ServerResponse, how: 'chunked' | 'lying-length' | 'drip'): void {
    streamed = 0;
    hungUp = false;
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(how === 'lying-length' ? { 'content-length': '100' } : {}),
    });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const tick = (): void => {
      if (res.destroyed || streamed > 64 * 1024 * 1024) return void res.end();
      const ok = res.write(how === 'drip' ? ' ' : chunk);
      streamed += how === 'drip' ? 1 : chunk.length;
      if (how === 'drip') setTimeout(tick, 100);
      else if (ok) setImmediate(tick);
      else res.once('drain', tick);
    };
    res.on('close', () => {
      if (!res.writableEnded) hungUp = true;
    });
    tick();
  }

  beforeEach(() => {
    serving = { body: doc(100), etag: '"v1"' };
    bootstrap = undefined;
    echoed = '';
  });

  /** One page view: initGray on the remote rules, then wait for the revalidation to settle. */
  async function view(timeoutMs = 10_000): Promise<View> {
    await suite.page.goto(`${suite.app.origin}/page`);
    return suite.page.evaluate(async (timeoutMs) => {
      const g = globalThis.graylane;
      const requests = () =>
        performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/rules.json'))
          .length;
      const rerolls: string[] = [];
      const remote = g.createRemoteRules({
        url: '/rules.json',
        refreshMs: 0,
        retries: 1,
        timeoutMs,
        onReroll: (e) => rerolls.push(`${e.from}→${e.to}:${e.reason}`),
      });
      const client = g.initGray({
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: remote.rules,
      });
      const requestsBeforeInit = requests();
      remote.start(client);
      await remote.refresh();
      return {
        version: client.getGrayVersion(),
        reason: client.getGrayReason(),
        requestsBeforeInit,
        rerolls,
        status: remote.status().state,
      };
    }, timeoutMs);
  }

  /** The document the page cached as its last good one. */
  const cached = (): Promise<string | null> =>
    suite.page.evaluate(() => localStorage.getItem('graylane:rules'));

  it('FLT-01 the first paint comes from the page bootstrap, with the endpoint down and no request before init', async () => {
    bootstrap = doc(100);
    serving = { status: 503 };
    expect(await view()).toMatchObject({
      version: 'beta',
      reason: 'weight',
      requestsBeforeInit: 0,
      status: 'error',
    });
  });

  it('I5 the next page view starts from the cached document (no bootstrap, endpoint down)', async () => {
    // No bootstrap and nothing cached: the first view has no rules yet (the default)…
    expect(await view()).toMatchObject({ version: 'stable', reason: 'default', status: 'ready' });
    serving = { status: 500 };
    // …the next ones have the document the first one fetched, with the endpoint down.
    expect(await view()).toMatchObject({
      version: 'beta',
      reason: 'weight',
      requestsBeforeInit: 0,
    });
    expect(await view()).toMatchObject({ version: 'beta', reason: 'cookie', status: 'error' });
  });

  it('I6 revalidation is conditional: If-None-Match with the cached ETag, 304 keeps everything', async () => {
    await view();
    await view();
    const polls = suite.app.seen.filter((s) => s.path === '/rules.json');
    expect(polls).toHaveLength(2);
    expect(polls.map((s) => s.ifNoneMatch)).toEqual([undefined, '"v1"']);
  });

  it.each([
    ['CFG-01 truncated JSON', doc(0).slice(0, 50)],
    ['CFG-04 weights that do not sum to 100', doc(0).replace('"weight":100', '"weight":99')],
    ['CFG-06 a __proto__ key', doc(0).replace('{', '{"__proto__":{"x":1},')],
  ])(
    'I5 %s from the endpoint: the last good document stays, on this and the next page view',
    async (_id, body) => {
      await view();
      await suite.context.clearCookies();
      serving = { body, etag: '"bad"' };
      expect(await view()).toMatchObject({ version: 'beta', reason: 'weight' });
      await suite.context.clearCookies();
      expect(await view()).toMatchObject({ version: 'beta', reason: 'weight' });
    },
  );

  it.each([
    ['the weight lowered to 10', doc(10), 'beta', 'cookie', []],
    ['the weight lowered to 0', doc(0), 'beta', 'cookie', []],
    ['a new bucket salt', doc(0, 'ramp-2'), 'stable', 'weight', ['beta→stable:salt_changed']],
  ])(
    'STK-03 %s: a beta visitor is kept or re-rolled as the policy says, over reloads',
    async (_case, next, version, reason, rerolls) => {
      await view(); // learns the rules
      expect(await view()).toMatchObject({ version: 'beta', reason: 'weight' });
      serving = { body: next, etag: '"v2"' };
      // The page view that learns the new rules keeps its version (never a flip mid-view)…
      expect(await view()).toMatchObject({ version: 'beta', reason: 'cookie', rerolls: [] });
      // …and the next one applies the policy.
      expect(await view()).toMatchObject({ version, reason, rerolls });
      expect(await view()).toMatchObject({ version, rerolls: [] });
    },
  );

  const rules = (beta: number): string => doc(beta).replace(/"/g, '&quot;');
  it.each([
    ["a <div> with the id, before the server's tag", `<div id="graylane-rules">${doc(100)}</div>`],
    ['a <span> deep in a comment', `<p>nice post <span id="graylane-rules">${doc(100)}</span></p>`],
    ['a <textarea> with the id', `<textarea id="graylane-rules">${doc(100)}</textarea>`],
    [
      'a <pre> and a <template>',
      `<pre id="graylane-rules">${doc(100)}</pre><template id="graylane-rules">${doc(100)}</template>`,
    ],
    [
      'a non-JSON script type',
      `<script type="text/plain" id="graylane-rules">${doc(100)}</script>`,
    ],
    ['an <img> with the id in an attribute', `<img id="graylane-rules" alt="${rules(100)}">`],
  ])(
    'hostile bootstrap: %s never becomes the rules, nor the cached last good document',
    async (_what, markup) => {
      echoed = markup;
      bootstrap = doc(0);
      serving = { status: 503 };
      expect(await view()).toMatchObject({ version: 'stable', reason: 'weight' });
      expect(JSON.parse((await cached()) ?? '{}').doc).toContain('"weight":0');
      // Without the server's tag, the echoed one is no bootstrap at all: the default.
      await suite.context.clearCookies();
      await suite.page.evaluate(() => localStorage.clear());
      bootstrap = undefined;
      expect(await view()).toMatchObject({ version: 'stable', reason: 'default' });
      expect(await cached()).toBeNull();
    },
  );

  it('two server tags that could disagree: neither is trusted (like two metas)', async () => {
    echoed = `<script type="application/json" id="graylane-rules">${doc(100)}</script>`;
    bootstrap = doc(0);
    serving = { status: 503 };
    expect(await view()).toMatchObject({ version: 'stable', reason: 'default' });
  });

  it.each(['chunked', 'lying-length'] as const)(
    'a huge document from the endpoint (%s): the page stops reading past the cap, keeps the last good one',
    async (how) => {
      bootstrap = doc(100);
      serving = { stream: how };
      const started = Date.now();
      expect(await view()).toMatchObject({ version: 'beta', reason: 'weight', status: 'error' });
      // The cap is 1 MiB: the page hung up before the endpoint's 64 MiB, and quickly. What the
      // server counts also includes what loopback's socket buffers and the browser's network
      // process took before the hang-up reached it (a CI run counted 8.1 MiB, one on a loaded
      // machine 28.6 MiB), so the hang-up is asserted (it reaches the server just after the page
      // gives up), and the exact cap is left to the unit tests (CFG-07).
      await expect.poll(() => hungUp, { timeout: 5_000 }).toBe(true);
      expect(streamed).toBeLessThan(64 * 1024 * 1024);
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(JSON.parse((await cached()) ?? '{}').doc).toContain('"weight":100');
    },
  );

  it('a slow endpoint (1 byte per 100 ms): the request times out, the last good document stays', async () => {
    bootstrap = doc(100);
    serving = { stream: 'drip' };
    expect(await view(1_000)).toMatchObject({ version: 'beta', reason: 'weight', status: 'error' });
    expect(streamed).toBeLessThan(100);
  });
});
