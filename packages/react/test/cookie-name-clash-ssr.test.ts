/**
 * BC-04 in a server render (real react-dom/server in plain Node, built packages): a provider's
 * options whose `cookie.name` and `cookie.anonymousIdName` name one cookie (set equal, or one set
 * to the other's default) fail the render with INVALID_OPTIONS, as `initGray` does; the page
 * path is test/cookie-name-clash.test.ts. Controls: two cookies render the server's version.
 */
import { createElement as h, type ReactNode } from 'react';
import { renderToPipeableStream, renderToString } from 'react-dom/server';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isGraylaneError } from '@graylane/core';
import type { GrayCookieOptions, GrayOptions } from '@graylane/browser';
import { GrayProvider, useGrayVersion } from '@graylane/react';

function Version(): ReactNode {
  return h('b', null, useGrayVersion());
}

const options = (cookie: GrayCookieOptions): GrayOptions => ({
  versions: ['stable', 'beta'],
  default: 'stable',
  cookie,
});

const CLASHES: ReadonlyArray<readonly [string, GrayCookieOptions]> = [
  ['both set to one name', { name: 'ab', anonymousIdName: 'ab' }],
  ['anonymousIdName = the default name `gray`', { anonymousIdName: 'gray' }],
  ['name = the default anonymousIdName `gray_aid`', { name: 'gray_aid' }],
];

/** renderToString: the code and message thrown, or the HTML. */
function render(cookie: GrayCookieOptions): string {
  try {
    return renderToString(
      h(GrayProvider, { options: options(cookie), serverVersion: 'beta' }, h(Version)),
    );
  } catch (e) {
    return isGraylaneError(e) ? `${e.code} ${e.message}` : String(e);
  }
}

/** renderToPipeableStream: the error reported to onShellError, or the HTML. */
function stream(cookie: GrayCookieOptions): Promise<string> {
  return new Promise((resolve) => {
    let html = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        html += String(chunk);
        done();
      },
      final(done) {
        resolve(html);
        done();
      },
    });
    const { pipe } = renderToPipeableStream(
      h(GrayProvider, { options: options(cookie), serverVersion: 'beta' }, h(Version)),
      {
        onShellReady: () => pipe(sink),
        onShellError: (e) => resolve(isGraylaneError(e) ? `${e.code} ${e.message}` : String(e)),
        onError: () => undefined,
      },
    );
  });
}

const CLASH =
  /^INVALID_OPTIONS \[graylane\] initGray: invalid cookie\.name = cookie\.anonymousIdName "/;

describe('BC-04 SSR: GrayProvider with one cookie for both names', () => {
  it.each(CLASHES)('renderToString → INVALID_OPTIONS: %s', (_what, cookie) => {
    expect(typeof document).toBe('undefined');
    expect(render(cookie)).toMatch(CLASH);
  });

  it.each(CLASHES)('renderToPipeableStream → INVALID_OPTIONS: %s', async (_what, cookie) => {
    expect(await stream(cookie)).toMatch(CLASH);
  });

  it.each<[string, GrayCookieOptions]>([
    ['the defaults', {}],
    ['case differs', { name: 'Gray', anonymousIdName: 'gray' }],
    ['the defaults swapped', { name: 'gray_aid', anonymousIdName: 'gray' }],
  ])('control: %s renders the server version', async (_what, cookie) => {
    expect(render(cookie)).toBe('<b>beta</b>');
    expect(await stream(cookie)).toBe('<b>beta</b>');
  });
});
