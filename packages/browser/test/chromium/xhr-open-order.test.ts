import type { Browser, Page } from 'playwright-core';
import type {} from './page-entry.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleSdk, chromiumAvailable, launch, PAGE, serve, type TestServer } from './harness.js';

// Review 156 D3 (I8) in real Chromium: `installXHR` judges the URL the XHR is really opened to.
// A native `open()` or `setRequestHeader()` that throws changes nothing in the XHR, so graylane
// must not record it either: an `open()` with a bad or forbidden method after an open to a third
// party left the XHR opened there while graylane judged the same-origin URL it recorded, and
// marked the third-party request. Each row drives one order of calls on one XHR and names what the
// page's origin (`/api/<row>`, allowlisted) and a third party (`/<row>`, CORS allows every header)
// must receive. `throws` pins that the call in question really threw in Chromium.

const run = chromiumAvailable();

interface Row {
  readonly name: string;
  /** The calls, as page JavaScript; `E` is the third party's origin, `R` the row's name. */
  readonly steps: string;
  /** The marker each server saw on the row's path; absent: no request. */
  readonly api?: string | null;
  readonly third?: string | null;
  /** The error name the step under test threw. */
  readonly throws?: string;
}

const ROWS: readonly Row[] = [
  // The third party first, then a re-open to the page's origin that throws: still the third party.
  ...(
    [
      ['bad method', "'BAD METHOD'", 'SyntaxError'],
      ['TRACE', "'TRACE'", 'SecurityError'],
      ['CONNECT', "'CONNECT'", 'SecurityError'],
      ['TRACK', "'track'", 'SecurityError'],
    ] as const
  ).map(([what, method, error]): Row => ({
    name: `third party, then a ${what} re-open to the page's origin`,
    steps: `x.open('GET', E + '/' + R); t(() => x.open(${method}, '/api/' + R)); await go(x);`,
    third: null,
    throws: error,
  })),
  {
    name: 'third party, then a re-open to a URL that does not parse (control)',
    steps: "x.open('GET', E + '/' + R); t(() => x.open('GET', 'http://[::1')); await go(x);",
    third: null,
    throws: 'SyntaxError',
  },
  // The page's origin first, then a re-open to the third party that throws: still marked.
  ...(
    [
      ['bad method', "'BAD METHOD'", 'SyntaxError'],
      ['TRACE', "'TRACE'", 'SecurityError'],
    ] as const
  ).map(([what, method, error]): Row => ({
    name: `page's origin, then a ${what} re-open to the third party`,
    steps: `x.open('GET', '/api/' + R); t(() => x.open(${method}, E + '/' + R)); await go(x);`,
    api: 'beta',
    throws: error,
  })),
  // setRequestHeader: a marker header the browser refused is not the caller's marker.
  {
    name: 'a caller marker header the browser refuses (bad value)',
    steps:
      "x.open('GET', '/api/' + R); t(() => x.setRequestHeader('X-Gray-Id', 'be\\nta')); await go(x);",
    api: 'beta',
    throws: 'SyntaxError',
  },
  {
    name: 'a caller marker header under a name the browser refuses (control)',
    steps:
      "x.open('GET', '/api/' + R); t(() => x.setRequestHeader('X-Gray-Id:', 'canary')); await go(x);",
    api: 'beta',
    throws: 'SyntaxError',
  },
  {
    name: 'a caller marker header before open (control)',
    steps:
      "t(() => x.setRequestHeader('X-Gray-Id', 'canary')); x.open('GET', '/api/' + R); await go(x);",
    api: 'beta',
    throws: 'InvalidStateError',
  },
  {
    name: 'a caller marker header the browser takes (control)',
    steps: "x.open('GET', '/api/' + R); x.setRequestHeader('X-Gray-Id', 'canary'); await go(x);",
    api: 'canary',
  },
  // Re-opens after send (controls): each request is judged on its own URL.
  {
    name: 'page origin sent, then a re-open to the third party after it ended',
    steps: "x.open('GET', '/api/' + R); await go(x); x.open('GET', E + '/' + R); await go(x);",
    api: 'beta',
    third: null,
  },
  {
    name: 'page origin sent, then a re-open to the third party while in flight',
    steps:
      // (whether the dropped request reached the page's origin is the browser's race: not checked)
      "x.open('GET', '/api/' + R + '-dropped'); x.send(); x.open('GET', E + '/' + R); await go(x);",
    third: null,
  },
  {
    name: 'third party, then a re-open to the page origin (control)',
    steps: "x.open('GET', E + '/' + R); x.open('GET', '/api/' + R); await go(x);",
    api: 'beta',
  },
  {
    name: 'a bad-method re-open after send: the request in flight is unchanged',
    steps:
      "x.open('GET', E + '/' + R); const d = go(x); t(() => x.open('BAD METHOD', '/api/' + R)); await d;",
    third: null,
    throws: 'SyntaxError',
  },
];

describe.skipIf(!run)('Chromium: installXHR judges the URL the XHR is opened to (D3)', () => {
  let browser: Browser;
  let app: TestServer;
  let third: TestServer;
  let page: Page;

  beforeAll(async () => {
    let sdk: string;
    [browser, sdk] = await Promise.all([launch(), bundleSdk()]);
    app = await serve('127.0.0.1', (_req, res, url) => {
      if (url.pathname === '/sdk.js')
        return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
      if (url.pathname === '/')
        return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      res.end('ok');
    });
    third = await serve('localhost', (req, res) => {
      res.writeHead(200, {
        'access-control-allow-origin': '*',
        'access-control-allow-headers': '*',
        'access-control-allow-methods': '*',
      });
      res.end(req.method === 'OPTIONS' ? '' : 'ok');
    });
    page = await browser.newPage();
    await page.goto(`${app.origin}/`);
    await page.evaluate(() => {
      graylane.initGray({
        versions: ['stable', 'beta', 'canary'],
        default: 'stable',
        serverVersion: 'beta',
      });
      graylane.installXHR();
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await third?.close();
  });

  it('every order of calls: the marker goes only where the XHR is opened, and allowed', async () => {
    const got: unknown[] = [];
    for (const [i, row] of ROWS.entries()) {
      const name = `r${i}`;
      const thrown = await page.evaluate(
        async ([steps, E, R]) => {
          let error: string | undefined;
          const t = (f: () => void): void => {
            try {
              f();
            } catch (e) {
              error ??= (e as Error).name;
            }
          };
          const go = (x: XMLHttpRequest): Promise<void> =>
            new Promise<void>((resolve) => {
              x.onloadend = () => resolve();
              x.send();
            });
          const x = new XMLHttpRequest();
          await (
            new Function('x', 't', 'go', 'E', 'R', `return (async () => { ${steps} })()`) as (
              ...a: unknown[]
            ) => Promise<void>
          )(x, t, go, E, R);
          return error;
        },
        [row.steps, third.origin, name] as const,
      );
      const marker = (server: TestServer, path: string): string | null | undefined => {
        const hits = server.seen.filter((s) => s.path === path && s.method !== 'OPTIONS');
        return hits.length === 0 ? undefined : (hits.at(-1)?.marker ?? null);
      };
      got.push({
        row: row.name,
        api: marker(app, `/api/${name}`),
        third: marker(third, `/${name}`),
        throws: thrown,
      });
    }
    expect(got).toEqual(
      ROWS.map((row) => ({ row: row.name, api: row.api, third: row.third, throws: row.throws })),
    );
  });
});
