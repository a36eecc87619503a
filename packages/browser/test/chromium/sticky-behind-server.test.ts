import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bucket } from '@graylane/core';
import { createGraylane, getGrayDecision } from '@graylane/node';
import express from 'express';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import type {} from './page-entry.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../../tools/chromium.js';
import { bundleSdk, chromiumAvailable } from './harness.js';

// STK-04 (review 83 D1) in real Chromium behind a real graylane server
// (`createGraylane({ sticky: { httpOnly: false } })`, under node:http and under express): the
// page makes a QA choice (`setGrayVersion('beta')`), then a cookie of graylane's name appears at
// a longer path (the page's own, a parent directory, a deeper one the page cannot see) or for
// the parent domain — another app, an old deploy. Requests then carry `gray=<other>; gray=beta`.
// The server answered that with `Set-Cookie: gray=<rules' version>; Path=/`, overwriting the
// page's choice before the SDK's clean-up could run; now it writes no version cookie, serves its
// rules for that request, and the choice survives: in the SDK, in the server's decision once the
// page has removed what it can see, and in the cookie at `/`. Pages on app.example.test, the
// sibling on sib.example.test, one loopback server per (framework, rules) (every name resolves
// to 127.0.0.1).

const run = chromiumAvailable();
const VERSIONS = ['stable', 'beta', 'canary'];
/** What every request's Cookie header holds after the QA choice (one cookie at `/`). */
const CHOICE = 'beta';
const RELOADS = 2;
/** The page, and under it the subresources (a script the page loads before the SDK, a JSON). */
const PAGE_PATH = '/app/page';
const PRE = `${PAGE_PATH}/deeper/pre.js`;
const API = `${PAGE_PATH}/deeper/api.json`;

type Framework = 'node:http' | 'express';
type Rules = 'none' | 'split' | 'unmatched rule';

/**
 * The page's and the server's 50/50 split agree (salt `gray`, the SDK's anonymous id): an id
 * whose bucket is stable's half, so the rules never hand this visitor the QA choice by chance.
 */
const AID = (() => {
  for (let i = 0; ; i++) {
    const id = i.toString(16).padStart(32, '0');
    if (bucket('gray', id) >= 5000) return id;
  }
})();

const CONFIGS: Record<Rules, object> = {
  none: { versions: VERSIONS, default: 'stable' },
  split: {
    versions: VERSIONS,
    default: 'stable',
    rules: [
      {
        id: 'gray',
        split: [
          { version: 'beta', weight: 50 },
          { version: 'stable', weight: 50 },
        ],
        bucketBy: 'cookie:gray_aid',
      },
    ],
  },
  'unmatched rule': {
    versions: VERSIONS,
    default: 'stable',
    rules: [{ id: 'qa', match: { header: { 'x-qa': { equals: '1' } } }, version: 'canary' }],
  },
};

/** Where the other cookie is: a path (host-only) or the parent domain (Path=/). */
type Place = 'own path' | 'parent directory' | 'deeper path' | 'parent domain';

const PLACES: Record<Place, { path: string; domain?: string }> = {
  'own path': { path: PAGE_PATH },
  'parent directory': { path: '/app' },
  // The page cannot see it (nor remove it); its subresources below that path carry it.
  'deeper path': { path: `${PAGE_PATH}/deeper` },
  'parent domain': { path: '/', domain: 'example.test' },
};

/** The other cookie's value; `beta` repeats the choice (equal values are one: the control). */
const VALUES: ReadonlyArray<readonly [label: string, value: string]> = [
  ['stable', 'stable'],
  ['gamma (unknown version)', 'gamma'],
  ['canary', 'canary'],
  ['beta (the same: control)', 'beta'],
  ['empty', ''],
];

/** Who plants it: a server's `Set-Cookie` (the app's legacy route, or the sibling's) or a script. */
type How = 'Set-Cookie' | 'document.cookie';

/** A decision as the server rendered it, and the `gray` values of the request's Cookie header. */
interface Served {
  readonly version: string;
  readonly reason: string;
  readonly grays: readonly string[];
}

/** Every `gray` value in a Cookie header, sorted (Chromium sends longer paths first). */
const grays = (cookie: string | undefined): string[] =>
  (cookie ?? '')
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p.startsWith('gray='))
    .map((p) => p.slice('gray='.length))
    .sort();

const json = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

/**
 * The Cookie header as the browser sent it: graylane normalises the marker carriers the app
 * sees (GW-01), so the app reads it from here.
 */
const sent = new WeakMap<IncomingMessage, string | undefined>();

/** The app behind graylane: a page rendering its decision, a script and a JSON under it. */
function app(sdk: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const d = getGrayDecision();
  const served: Served = {
    version: d?.version ?? '-',
    reason: d?.reason ?? '-',
    grays: grays(sent.get(req)),
  };
  const send = (type: string, body: string) =>
    void res.writeHead(200, { 'content-type': type }).end(body);
  if (url.pathname === '/sdk.js') return send('text/javascript', sdk);
  if (url.pathname === PRE)
    return send('text/javascript', `document.documentElement.dataset.pre = ${json(json(served))};`);
  if (url.pathname === API) return send('application/json', json(served));
  send(
    'text/html',
    '<!doctype html><meta charset="utf-8"><title>graylane</title>' +
      `<script type="application/json" id="served">${json(served)}</script>` +
      // Requested before the SDK runs: it carries what the navigation carried.
      `<script src="${PRE}"></script><script src="/sdk.js"></script>`,
  );
}

/**
 * What runs before graylane: records the Cookie header as sent, and answers `/legacy/set` as
 * another app or an old deploy would (not behind graylane) with the cookies it is given.
 */
function beforeGraylane(req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://x');
  sent.set(req, req.headers.cookie);
  if (url.pathname !== '/legacy/set') return false;
  res.writeHead(200, { 'set-cookie': url.searchParams.getAll('c') }).end('planted');
  return true;
}

async function start(framework: Framework, rules: Rules, sdk: string): Promise<Server> {
  const gray = createGraylane({ config: CONFIGS[rules] as never, sticky: { httpOnly: false } });
  let server: Server;
  if (framework === 'node:http')
    server = createServer((req, res) => {
      if (!beforeGraylane(req, res)) gray.handle(req, res, () => app(sdk, req, res));
    });
  else {
    const e = express();
    e.use((req, res, next) => void (beforeGraylane(req, res) || next()));
    e.use(gray.middleware);
    e.use((req, res) => app(sdk, req, res));
    server = createServer(e);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

interface Row {
  readonly rules: Rules;
  readonly framework: Framework;
  readonly place: Place;
  readonly label: string;
  readonly value: string;
  readonly how: How;
}

const ROWS: readonly Row[] = (['none', 'split', 'unmatched rule'] as const).flatMap((rules, r) =>
  (Object.keys(PLACES) as Place[]).flatMap((place, p) =>
    VALUES.map(([label, value], v) => {
      const i = r * 20 + p * 5 + v;
      return {
        rules,
        framework: i % 2 === 0 ? 'node:http' : 'express',
        place,
        label,
        value,
        how: (i >> 1) % 2 === 0 ? 'Set-Cookie' : 'document.cookie',
      } as const;
    }),
  ),
);

/** One page view: what the server rendered and answered, what the page read, what was written. */
interface View {
  readonly html: Served;
  readonly pre: Served;
  readonly api: Served;
  readonly sdk: { version: string; reason: string; kept?: boolean };
  /** The `gray` values of `document.cookie` after initGray. */
  readonly page: readonly string[];
  /** `Set-Cookie` lines for `gray` on the navigation, the script and the JSON. */
  readonly written: readonly string[];
}

describe.skipIf(!run)(
  'Chromium: STK-04 a QA choice survives other gray cookies behind a graylane server (review 83 D1)',
  () => {
    let browser: Browser;
    const servers = new Map<string, Server>();
    let context: BrowserContext;
    let page: Page;

    beforeAll(async () => {
      const [b, sdk] = await Promise.all([
        launchChromium(['--host-resolver-rules=MAP * 127.0.0.1']),
        bundleSdk(),
      ]);
      browser = b;
      for (const framework of ['node:http', 'express'] as const)
        for (const rules of Object.keys(CONFIGS) as Rules[])
          servers.set(`${framework} ${rules}`, await start(framework, rules, sdk));
    }, 60_000);

    afterAll(async () => {
      await context?.close();
      await browser?.close();
      for (const s of servers.values()) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
    });

    beforeEach(async () => {
      await context?.close();
      context = await browser.newContext();
      page = await context.newPage();
    });

    const origin = (row: Row, host: 'app' | 'sib' = 'app') => {
      const s = servers.get(`${row.framework} ${row.rules}`) as Server;
      return `http://${host}.example.test:${(s.address() as AddressInfo).port}`;
    };

    const gray = async (r: Response | null) =>
      ((await r?.headerValues('set-cookie')) ?? []).filter((c) => /^gray=/.test(c));

    async function view(row: Row, qa = false): Promise<View> {
      const pre = page.waitForResponse((r) => r.url().endsWith(PRE));
      const nav = await page.goto(`${origin(row)}${PAGE_PATH}`);
      const api = page.waitForResponse((r) => r.url().endsWith(API));
      const out = await page.evaluate(
        async ([versions, split, qa, choice, path]) => {
          const g = globalThis.graylane;
          const c = g.initGray({
            versions,
            default: 'stable',
            ...(split ? { rules: g.split({ beta: 50 }) } : {}),
          });
          const kept = qa ? c.setGrayVersion(choice) : undefined;
          const sdk = { version: c.getGrayVersion(), reason: c.getGrayReason() };
          const served = document.getElementById('served')?.textContent ?? 'null';
          // A plain fetch: the cookies only, no marker header.
          const api = await (await fetch(path)).text();
          return {
            html: served,
            pre: document.documentElement.dataset['pre'] ?? 'null',
            api,
            sdk: kept === undefined ? sdk : { ...sdk, kept },
            page: document.cookie
              .split('; ')
              .filter((p) => p.startsWith('gray='))
              .map((p) => p.slice(5)),
          };
        },
        [VERSIONS, row.rules === 'split', qa, CHOICE, API] as const,
      );
      const written = [
        ...(await gray(nav)),
        ...(await gray(await pre)),
        ...(await gray(await api)),
      ];
      return {
        ...out,
        html: JSON.parse(out.html) as Served,
        pre: JSON.parse(out.pre) as Served,
        api: JSON.parse(out.api) as Served,
        written,
      };
    }

    async function plant(row: Row): Promise<void> {
      const { path, domain } = PLACES[row.place];
      const cookie = `gray=${row.value}; Path=${path}${domain ? `; Domain=${domain}` : ''}`;
      // The parent domain's cookie comes from the sibling app; a path's from this host.
      const other = domain ? await context.newPage() : page;
      if (domain) await other.goto(`${origin(row, 'sib')}/legacy/set`);
      if (row.how === 'Set-Cookie')
        await other.evaluate(
          async (url) => void (await fetch(url)),
          `/legacy/set?c=${encodeURIComponent(cookie)}`,
        );
      else await other.evaluate((c) => void (document.cookie = c), cookie);
      if (domain) await other.close();
    }

    /** The app host's own `gray` at `/` (the page's cookie), and every other `gray`. */
    async function jar() {
      const all = (await context.cookies()).filter((c) => c.name === 'gray');
      const own = all.filter((c) => c.domain === 'app.example.test' && c.path === '/');
      const others = all.filter((c) => !own.includes(c)).map((c) => `${c.domain}${c.path}`);
      return { own: own.map((c) => c.value), others };
    }

    const rules = (row: Row) =>
      row.rules === 'split'
        ? { version: 'stable', reason: 'weight' }
        : { version: 'stable', reason: 'invalid_marker' };

    it.each(
      ROWS.map(
        (r) =>
          [
            `STK-04 ${r.rules} rules, ${r.framework}: gray=${r.label} at the ${r.place} by ${r.how}`,
            r,
          ] as const,
      ),
    )('%s', async (_title, row) => {
      await context.addCookies([{ name: 'gray_aid', value: AID, url: origin(row) }]);
      // First view: the rules (the split writes its assignment), then the QA choice.
      const first = await view(row, true);
      expect(first.sdk.kept).toBe(true);
      expect(first.html).toMatchObject(
        row.rules === 'split' ? { version: 'stable', reason: 'weight' } : { version: 'stable' },
      );
      // Only the split writes its assignment (what shows that `written` sees Set-Cookie at all).
      expect(first.written.map((c) => c.split(';')[0])).toEqual(
        row.rules === 'split' ? ['gray=stable'] : [],
      );
      // A reload: the HTML and the SDK agree on the choice.
      const agreed = await view(row);
      expect(agreed.html).toEqual({ version: CHOICE, reason: 'cookie', grays: [CHOICE] });
      expect(agreed.sdk).toEqual({ version: CHOICE, reason: 'cookie' });
      expect(agreed.written).toEqual([]);

      await plant(row);
      const { path, domain } = PLACES[row.place];
      expect((await jar()).others).toEqual([
        `${domain ? `.${domain}` : 'app.example.test'}${path}`,
      ]);
      const both = [CHOICE, row.value].sort();
      const conflict = row.value !== CHOICE;
      // The page removes what it can see at longer paths (the first view after the plant).
      const removed = conflict && (row.place === 'own path' || row.place === 'parent directory');
      const navCarries = row.place !== 'deeper path';
      for (let i = 1; i <= RELOADS; i++) {
        const v = await view(row);
        const carried = (by: boolean): Served =>
          by && conflict
            ? { ...rules(row), grays: both }
            : { version: CHOICE, reason: 'cookie', grays: by ? both : [CHOICE] };
        const before = !removed || i === 1;
        expect({ html: v.html, pre: v.pre, api: v.api }).toEqual({
          html: carried(navCarries && before),
          pre: carried(before),
          api: carried(!removed),
        });
        expect(v.sdk).toEqual({ version: CHOICE, reason: 'cookie' });
        expect(v.written).toEqual([]);
        expect([...v.page].sort()).toEqual(
          row.place === 'deeper path' || removed ? [CHOICE] : both,
        );
        expect((await jar()).own).toEqual([CHOICE]);
      }
      // What the page did not write and cannot see is untouched.
      expect((await jar()).others).toHaveLength(removed ? 0 : 1);
    });
  },
);
