// @vitest-environment happy-dom
/**
 * BC-04 in the page (real react-dom/client, built packages): a provider's options whose
 * `cookie.name` and `cookie.anonymousIdName` name one cookie fail the render with
 * INVALID_OPTIONS (from `act`, or the root's onUncaughtError), write no cookie and make no page
 * client; the server render is test/cookie-name-clash-ssr.test.ts. Controls: two cookies mount,
 * and a QA choice and the anonymous id persist.
 */
import { act, createElement as h, type ReactNode } from 'react';
import { createRoot, hydrateRoot } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isGraylaneError } from '@graylane/core';
import type { GrayCookieOptions, GrayOptions } from '@graylane/browser';
import { GrayProvider, useGrayClient, useGrayVersion } from '@graylane/react';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const PAGE_CLIENT = Symbol.for('@graylane/browser:client');

beforeEach(() => {
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
  for (const c of document.cookie.split(';')) {
    const name = c.split('=')[0]?.trim();
    if (name) document.cookie = `${name}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/`;
  }
  document.body.innerHTML = '';
  for (const key of ['@graylane/browser:client', '@graylane/react:page-clients'])
    Reflect.deleteProperty(globalThis, Symbol.for(key));
});

afterEach(() => vi.restoreAllMocks());

const options = (cookie: GrayCookieOptions, rules?: GrayOptions['rules']): GrayOptions => ({
  versions: ['stable', 'beta'],
  default: 'stable',
  cookie,
  ...(rules ? { rules } : {}),
});

let qa: ((v: string) => boolean) | undefined;

function Version(): ReactNode {
  const client = useGrayClient();
  qa = (v) => client.setGrayVersion(v);
  return h('b', null, useGrayVersion());
}

/** Mounts (or hydrates server HTML) a provider: what reached onUncaughtError, and the HTML. */
async function mount(
  o: GrayOptions,
  hydrate: boolean,
): Promise<{ errors: string[]; html: string }> {
  const errors: string[] = [];
  const container = document.createElement('div');
  document.body.append(container);
  const onUncaughtError = (e: unknown): void =>
    void errors.push(isGraylaneError(e) ? `${e.code} ${e.message}` : String(e));
  const tree = h(GrayProvider, { options: o }, h(Version));
  try {
    await act(async () => {
      if (hydrate) {
        container.innerHTML = '<b>stable</b>';
        hydrateRoot(container, tree, { onUncaughtError, onRecoverableError: onUncaughtError });
      } else createRoot(container, { onUncaughtError }).render(tree);
    });
  } catch (e) {
    // act rethrows what the render threw.
    onUncaughtError(e);
  }
  return { errors, html: container.innerHTML };
}

const CLASHES: ReadonlyArray<readonly [string, GrayCookieOptions]> = [
  ['both set to one name', { name: 'ab', anonymousIdName: 'ab' }],
  ['anonymousIdName = the default name `gray`', { anonymousIdName: 'gray' }],
  ['name = the default anonymousIdName `gray_aid`', { name: 'gray_aid' }],
];

const CLASH =
  /^INVALID_OPTIONS \[graylane\] initGray: invalid cookie\.name = cookie\.anonymousIdName "/;

describe('BC-04 page: GrayProvider with one cookie for both names', () => {
  it.each(
    [false, true].flatMap((hydrate) =>
      CLASHES.map(([what, cookie]) => ({ hydrate, what, cookie })),
    ),
  )('INVALID_OPTIONS (hydrate: $hydrate): $what', async ({ hydrate, cookie }) => {
    const rules = vi.fn(() => undefined);
    const { errors, html } = await mount(options(cookie, rules), hydrate);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e).toMatch(CLASH);
    expect(html).not.toContain('<b>');
    expect(document.cookie).toBe('');
    expect(rules).not.toHaveBeenCalled();
    expect((globalThis as { [PAGE_CLIENT]?: unknown })[PAGE_CLIENT]).toBeUndefined();
  });

  it.each<[string, GrayCookieOptions, readonly [string, string]]>([
    ['the defaults', {}, ['gray', 'gray_aid']],
    ['case differs', { name: 'Gray', anonymousIdName: 'gray' }, ['Gray', 'gray']],
    ['the defaults swapped', { name: 'gray_aid', anonymousIdName: 'gray' }, ['gray_aid', 'gray']],
  ])('control: %s mounts; the QA choice and the id are two cookies', async (_w, cookie, names) => {
    const ids: string[] = [];
    const rules: GrayOptions['rules'] = ({ anonymousId }) => void ids.push(anonymousId);
    const { errors, html } = await mount(options(cookie, rules), false);
    expect(errors).toEqual([]);
    expect(html).toBe('<b>stable</b>');
    await act(async () => void qa?.('beta'));
    const jar = Object.fromEntries(document.cookie.split('; ').map((p) => p.split('=')));
    expect(ids[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(jar).toEqual({ [names[0]]: 'beta', [names[1]]: ids[0] });
  });
});
