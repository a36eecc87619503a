import type {} from './page-entry.js';
import type { Page } from 'playwright-core';
import { beforeEach, describe, expect, it } from 'vitest';
import { chromiumAvailable, pageSuite } from './harness.js';

// STK-03 in real Chromium, over real reloads, cookies and localStorage: a QA choice
// (`setGrayVersion`) is never re-rolled by the remote rules' sticky policy, whatever the order —
// of the version the rules gave or another, before or after `start`, after a `clearGrayVersion`,
// in a second tab — while a version the rules gave (also again, after a clear) is re-rolled when
// its rule is removed.

const run = chromiumAvailable();

const RULE = JSON.stringify({
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [
    {
      id: 'r1',
      bucketBy: 'attr:anonymousId',
      split: [
        { version: 'beta', weight: 100 },
        { version: 'stable', weight: 0 },
      ],
    },
  ],
});
const NO_RULES = JSON.stringify({ versions: ['stable', 'beta'], default: 'stable', rules: [] });

type Act = 'set:beta' | 'set:stable' | 'clear';

interface View {
  readonly version: string;
  readonly reason: string;
  readonly rerolls: string[];
}

describe.skipIf(!run)('Chromium: remote rules never re-roll a QA choice (STK-03)', () => {
  let serving = { body: RULE, etag: '"r1"' };
  const suite = pageSuite((req, res, url) => {
    if (url.pathname === '/rules.json') {
      if (req.headers['if-none-match'] === serving.etag)
        return void res.writeHead(304, { etag: serving.etag }).end();
      return void res
        .writeHead(200, { 'content-type': 'application/json', etag: serving.etag })
        .end(serving.body);
    }
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><meta charset="utf-8"><script src="/sdk.js"></script>');
  });

  beforeEach(() => {
    serving = { body: RULE, etag: '"r1"' };
  });

  /** One page view in `page`: QA acts before and after `start`, then the revalidation settles. */
  async function view(
    page: Page = suite.page,
    acts: { before?: Act[]; after?: Act[] } = {},
  ): Promise<View> {
    await page.goto(`${suite.app.origin}/page`);
    return page.evaluate(async ({ before = [], after = [] }) => {
      const g = globalThis.graylane;
      const rerolls: string[] = [];
      const remote = g.createRemoteRules({
        url: '/rules.json',
        refreshMs: 0,
        retries: 0,
        onReroll: (e) => rerolls.push(`${e.from}→${e.to}:${e.reason}`),
      });
      const client = g.initGray({
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: remote.rules,
      });
      const act = (a: Act) =>
        a === 'clear' ? client.clearGrayVersion() : client.setGrayVersion(a.slice(4));
      before.forEach(act);
      remote.start(client);
      after.forEach(act);
      await remote.refresh();
      return { version: client.getGrayVersion(), reason: client.getGrayReason(), rerolls };
    }, acts);
  }

  /** The operator removes rule r1: one page view learns it, the next applies the policy. */
  async function removeRule(page: Page = suite.page): Promise<View> {
    serving = { body: NO_RULES, etag: '"none"' };
    await view(page);
    return view(page);
  }

  type Acts = { before?: Act[]; after?: Act[] };
  const ROWS: ReadonlyArray<readonly [string, Acts, readonly [string, string, string[]]]> = [
    [
      'control: no QA choice, the rule removed re-rolls',
      {},
      ['stable', 'default', ['beta→stable:rule_removed']],
    ],
    [
      "the review's order: QA stable, then beta",
      { after: ['set:stable', 'set:beta'] },
      ['beta', 'cookie', []],
    ],
    [
      'QA of the version the rules gave, after start',
      { after: ['set:beta'] },
      ['beta', 'cookie', []],
    ],
    [
      'QA of the version the rules gave, before start',
      { before: ['set:beta'] },
      ['beta', 'cookie', []],
    ],
    ['QA of another version', { after: ['set:stable'] }, ['stable', 'cookie', []]],
    [
      'QA, clear (the rules give beta again), re-rolled',
      { after: ['set:stable', 'clear'] },
      ['stable', 'default', ['beta→stable:rule_removed']],
    ],
    [
      'QA, clear, the same choice again',
      { after: ['set:beta', 'clear', 'set:beta'] },
      ['beta', 'cookie', []],
    ],
  ];
  it.each(ROWS)('STK-03 %s', async (_case, acts, [version, reason, rerolls]) => {
    await view(); // learns r1
    // The rules give beta in this page view (100 %), then the QA acts, if any.
    await view(suite.page, acts);
    expect(await removeRule()).toEqual({ version, reason, rerolls });
    expect(await view()).toMatchObject({ version, rerolls: [] });
  });

  it.each(['navigates away', 'is closed'] as const)(
    'STK-03 two tabs: the rules gave beta in tab 1; tab 2 chooses beta and %s; tab 1 sees the rule removed: kept',
    async (how) => {
      await view(); // learns r1
      expect(await view()).toMatchObject({ version: 'beta', reason: 'weight' });
      const tab2 = await suite.context.newPage();
      expect(await view(tab2, { after: ['set:beta'] })).toMatchObject({
        version: 'beta',
        reason: 'manual',
      });
      if (how === 'navigates away') await tab2.goto('about:blank');
      else await tab2.close({ runBeforeUnload: true });
      expect(await removeRule()).toEqual({ version: 'beta', reason: 'cookie', rerolls: [] });
    },
  );
});
