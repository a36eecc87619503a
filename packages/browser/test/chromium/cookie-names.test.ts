import type {} from './page-entry.js';
import { describe, expect, it } from 'vitest';
import { chromiumAvailable, PAGE, pageSuite } from './harness.js';

// BC cookie names in real Chromium (the happy-dom table is test/cookie-names.test.ts): every kind
// of name `initGray` accepts is written by js-cookie as it is and read back on the next page
// view (a real reload), for the version and for the anonymous id; names js-cookie would encode
// (or Chromium refuses on http: the `__Host-`/`__Secure-`/`__Http-` prefixes) throw
// `INVALID_OPTIONS` in the page instead of silently never persisting.

const run = chromiumAvailable();

interface Visit {
  readonly version: string;
  readonly reason: string;
  readonly ids: readonly string[];
  readonly jar: string;
}

describe.skipIf(!run)('Chromium: BC cookie names', () => {
  const suite = pageSuite((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE),
  );

  /** One page view: initGray with the names, optionally a QA choice. */
  const visit = (name: string, anonymousIdName: string, choose?: string): Promise<Visit> =>
    suite.page.evaluate(
      ([name, anonymousIdName, choose]) => {
        const ids: string[] = [];
        const gray = globalThis.graylane.initGray({
          versions: ['stable', 'beta'],
          default: 'stable',
          cookie: { name, anonymousIdName },
          rules: ({ anonymousId }) => void ids.push(anonymousId),
        });
        if (choose) gray.setGrayVersion(choose);
        const seen = { version: gray.getGrayVersion(), reason: gray.getGrayReason() };
        // Assigned again from the rules: they see the anonymous id read back from its cookie.
        if (!choose) gray.clearGrayVersion();
        return {
          ...seen,
          ids,
          jar: document.cookie,
        };
      },
      [name, anonymousIdName, choose] as const,
    );

  it.each(
    ['gray', 'Gray.v2', "a!#$&'*+-.^_`|~z", '$gray', '__gray', 'x'.repeat(4055)].map((name) => ({
      name,
      shown: name.length > 40 ? `x × ${name.length}` : name,
    })),
  )('a valid name round-trips through write and a reload: $shown', async ({ name }) => {
    await suite.page.goto(`${suite.app.origin}/`);
    const idName = `${name.slice(0, 4054)}i`;
    const first = await visit(name, idName, 'beta');
    expect(first.jar.split('; ')).toContain(`${name}=beta`);
    expect(first.ids[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(first.jar.split('; ')).toContain(`${idName}=${first.ids[0]}`);
    await suite.page.reload();
    const next = await visit(name, idName);
    expect([next.version, next.reason]).toEqual(['beta', 'cookie']);
    // Assigned again from the rules after clearGrayVersion: the id read back from its cookie.
    expect(next.ids).toEqual(first.ids);
  });

  it.each([
    'gray v2',
    'a;b',
    'a,b',
    'gräy',
    'a(b)',
    'a@b',
    'a%20b',
    '__Host-gray',
    '__secure-gray',
  ])('INVALID_OPTIONS in the page for %s, and nothing is written', async (name) => {
    await suite.page.goto(`${suite.app.origin}/`);
    const out = await suite.page.evaluate((name) => {
      try {
        globalThis.graylane.initGray({
          versions: ['stable', 'beta'],
          default: 'stable',
          cookie: { name },
        });
        return 'no error';
      } catch (e) {
        return (e as { code?: string }).code;
      }
    }, name);
    expect(out).toBe('INVALID_OPTIONS');
    expect(await suite.context.cookies()).toEqual([]);
  });
});
