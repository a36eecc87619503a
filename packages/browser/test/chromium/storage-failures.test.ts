import { bucket } from '@graylane/core';
import type { Frame } from 'playwright-core';
import type {} from './page-entry.js';
import { describe, expect, it } from 'vitest';
import { chromiumAvailable, PAGE, pageSuite } from './harness.js';

// BC-05 / WT-05 (review F3) in real Chromium, with cookies really blocked: a frame sandboxed
// without allow-same-origin (document.cookie throws), a cross-site frame (Chromium drops its
// SameSite=Lax cookies without a word), cookies disabled (the DevTools protocol's
// Emulation.setDocumentCookieDisabled: the setter does nothing) and a server's HttpOnly
// `gray_aid` (the page can neither read nor overwrite it). Each page view used to draw a new
// anonymous id, so a new lane per view — in the page and in what the server saw. Now the visitor
// gets the default on every view (reason `default`); where cookies work, the lane is core's
// bucket of the stored id on every view, and the server sees it too.

const run = chromiumAvailable();
const VIEWS = 6;

type Mode =
  'top' | 'same-site frame' | 'sandboxed frame' | 'cross-site frame' | 'disabled' | 'httponly';

const suite = pageSuite((req, res, url) => {
  const cors = {
    'access-control-allow-origin': '*',
    'access-control-allow-headers': 'x-gray-id',
  };
  const html = (body: string, extra: Record<string, string> = {}) =>
    void res.writeHead(200, { 'content-type': 'text/html', ...extra }).end(body);
  const port = new URL(`http://${req.headers.host ?? 'x'}`).port;
  switch (url.pathname) {
    case '/api':
      return void res.writeHead(200, cors).end('ok');
    case '/top-sandboxed':
      return html(`${PAGE}<iframe sandbox="allow-scripts" src="/frame"></iframe>`);
    case '/top-same-site':
      return html(`${PAGE}<iframe src="/frame"></iframe>`);
    case '/top-cross-site':
      return html(`${PAGE}<iframe src="http://localhost:${port}/frame"></iframe>`);
    case '/httponly':
      return html(PAGE, { 'set-cookie': 'gray_aid=server-owned; Path=/; HttpOnly' });
    default:
      return html(PAGE);
  }
});

const TOP: Record<Mode, string> = {
  top: '/page',
  'same-site frame': '/top-same-site',
  'sandboxed frame': '/top-sandboxed',
  'cross-site frame': '/top-cross-site',
  disabled: '/page',
  httponly: '/httponly',
};

interface View {
  readonly version: string;
  readonly reason: string;
  readonly id: string;
}

/** One page view: loads the top page, runs initGray in the page or its frame, fetches /api. */
async function view(mode: Mode, weights: Record<string, number>): Promise<View> {
  const { page, app } = suite;
  await page.goto(`${app.origin}${TOP[mode]}`);
  const frame: Frame = mode.endsWith('frame')
    ? (page.frames().find((f) => f.url().endsWith('/frame')) as Frame)
    : page.mainFrame();
  return frame.evaluate(async (w) => {
    const g = globalThis.graylane;
    let id = '-';
    const split = g.split(w);
    const c = g.initGray({
      versions: ['stable', 'beta', 'canary'],
      default: 'stable',
      rules: (ctx) => ((id = ctx.anonymousId), split(ctx)),
    });
    await g.withGray()('/api');
    return { version: c.getGrayVersion(), reason: c.getGrayReason(), id };
  }, weights);
}

/** `VIEWS` page views of one visitor; the markers the server saw on /api, in order. */
async function views(mode: Mode, weights: Record<string, number>) {
  if (mode === 'disabled') {
    const cdp = await suite.context.newCDPSession(suite.page);
    await cdp.send('Emulation.setDocumentCookieDisabled', { disabled: true });
  }
  const seen: View[] = [];
  for (let i = 0; i < VIEWS; i++) seen.push(await view(mode, weights));
  const markers = suite.app.seen
    .filter((s) => s.path === '/api' && s.method === 'GET')
    .map((s) => s.marker);
  return { seen, markers };
}

function coreLane(weights: Record<string, number>, id: string): string {
  const b = bucket('gray', id);
  let end = 0;
  for (const [version, pct] of Object.entries(weights)) if (b < (end += pct * 100)) return version;
  return 'stable';
}

const WEIGHTS: ReadonlyArray<Record<string, number>> = [
  { beta: 50 },
  { beta: 30, canary: 30 },
  { beta: 5 },
];
const BLOCKED: readonly Mode[] = ['sandboxed frame', 'cross-site frame', 'disabled', 'httponly'];
const WORKING: readonly Mode[] = ['top', 'same-site frame'];
const label = (w: Record<string, number>) => JSON.stringify(w);

describe.skipIf(!run)('Chromium: BC-05 a blocked anonymous id never moves the visitor', () => {
  it.each(BLOCKED.flatMap((mode) => WEIGHTS.map((w) => [mode, label(w), w] as const)))(
    '%s, split(%s): the default on every page view, in the page and at the server',
    async (mode, _label, w) => {
      const { seen, markers } = await views(mode, w);
      for (const v of seen) expect(v).toEqual({ version: 'stable', reason: 'default', id: '' });
      expect(markers).toEqual(Array(VIEWS).fill('stable'));
    },
  );

  it.each(BLOCKED)('control: %s, split({ beta: 100 }) needs no id', async (mode) => {
    const { seen, markers } = await views(mode, { beta: 100 });
    for (const v of seen) expect(v.version).toBe('beta');
    expect(markers).toEqual(Array(VIEWS).fill('beta'));
  });

  it.each(WORKING.flatMap((mode) => WEIGHTS.map((w) => [mode, label(w), w] as const)))(
    'control: %s, split(%s): core’s bucket of the stored id on every view',
    async (mode, _label, w) => {
      const { seen, markers } = await views(mode, w);
      const id = seen[0]!.id;
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      const lane = coreLane(w, id);
      for (const v of seen) expect(v.version).toBe(lane);
      // Rules run again only for the default lane (a non-default one is stored): the same id.
      for (const v of seen.slice(1)) expect(v.id).toBe(lane === 'stable' ? id : '-');
      expect(markers).toEqual(Array(VIEWS).fill(lane));
    },
  );
});
