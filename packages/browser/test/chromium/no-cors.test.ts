import type {} from './page-entry.js';
import { describe, expect, it } from 'vitest';
import { chromiumAvailable, PAGE, pageSuite } from './harness.js';

// Review 156 N2 in real Chromium: a `mode: 'no-cors'` request never carries a header that is not
// CORS-safelisted (the browser drops it, same-origin too), so graylane must leave it alone. Marking
// it sent it with `redirect: 'manual'`: a redirect came back opaque and the request went again — two
// requests for one call. Every fetch client API, same-origin, with and without a redirect: the
// first hop is requested exactly once.

const run = chromiumAvailable();

const APIS = [
  'withGray(string)',
  'withGray(Request)',
  'installFetch',
  'installFetch(Request)',
  'attachGray (fetch adapter)',
];

describe.skipIf(!run)('Chromium: no-cors fetches are sent once, as written (N2)', () => {
  const suite = pageSuite((_req, res, url) => {
    if (url.pathname === '/')
      return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (url.pathname.startsWith('/r/'))
      return void res.writeHead(302, { location: `/to/${url.pathname.slice(3)}` }).end();
    res.writeHead(200).end('ok');
  });

  it('every fetch API, with and without a redirect, and cors as the control', async () => {
    const { page, app } = suite;
    await page.goto(`${app.origin}/`);
    const rows: unknown[] = [];
    for (const api of APIS)
      for (const mode of ['no-cors', 'cors'] as const)
        for (const first of ['r', 'ok'] as const) {
          const name = `${api.replace(/\W/g, '')}-${mode}-${first}`;
          const status = await page.evaluate(
            async ([api, mode, path]) => {
              graylane.initGray({
                versions: ['stable', 'beta'],
                default: 'stable',
                serverVersion: 'beta',
              });
              if (api.startsWith('attachGray')) {
                const ax = graylane.axios.create({ adapter: 'fetch' });
                graylane.attachGray(ax);
                return (await ax.get(path, { fetchOptions: { mode } })).status;
              }
              const uninstall = api.startsWith('installFetch')
                ? graylane.installFetch()
                : undefined;
              const f = uninstall ? fetch : graylane.withGray();
              const request = api.endsWith('(Request)');
              try {
                const r = await f(
                  request ? new Request(path, { mode }) : path,
                  request ? undefined : { mode },
                );
                return r.status;
              } finally {
                uninstall?.();
              }
            },
            [api, mode, `/${first}/${name}`] as const,
          );
          const hits = (path: string): Array<string | null> =>
            app.seen.filter((s) => s.path === path).map((s) => s.marker ?? null);
          rows.push({
            api,
            mode,
            first,
            status,
            hits: hits(`/${first}/${name}`),
            next: hits(`/to/${name}`),
          });
        }
    expect(rows).toEqual(
      APIS.flatMap((api) => [
        // no-cors: one request per hop, no header (the browser would drop it)
        { api, mode: 'no-cors', first: 'r', status: 200, hits: [null], next: [null] },
        { api, mode: 'no-cors', first: 'ok', status: 200, hits: [null], next: [] },
        // cors (control): marked; a redirect costs the documented probe, and the next hop is plain
        { api, mode: 'cors', first: 'r', status: 200, hits: ['beta', null], next: [null] },
        { api, mode: 'cors', first: 'ok', status: 200, hits: ['beta'], next: [] },
      ]),
    );
  });
});
