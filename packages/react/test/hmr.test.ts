// @vitest-environment happy-dom
/**
 * What a provider does when React renders it again with other options — HMR re-runs the module
 * that builds them, or an app computes them — and what it hydrates from when the page holds
 * hostile or odd `graylane-version` metas. Real react-dom/client under StrictMode, the built
 * packages.
 */
import { act, createElement as h, StrictMode, type ReactNode } from 'react';
import { createRoot, hydrateRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { split, withGray, type GrayClient, type GrayOptions } from '@graylane/browser';
import { GrayProvider, useGrayClient, useGrayVersion } from '@graylane/react';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let roots: Root[] = [];
let errors: string[] = [];

beforeEach(() => {
  errors = [];
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
  for (const c of document.cookie.split(';')) {
    const name = c.split('=')[0]?.trim();
    if (name) document.cookie = `${name}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/`;
  }
  document.head.innerHTML = '';
  document.body.innerHTML = '';
  history.replaceState(null, '', '/');
  // Each test is a new page: forget the clients an earlier test's page made.
  for (const key of ['@graylane/browser:client', '@graylane/react:page-clients'])
    Reflect.deleteProperty(globalThis, Symbol.for(key));
});

afterEach(async () => {
  await act(async () => {
    for (const r of roots) r.unmount();
  });
  roots = [];
  vi.restoreAllMocks();
});

const BASE: GrayOptions = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  allow: ['https://api.example.com'],
  rules: split({ beta: 0 }),
};

let seenClient: GrayClient | undefined;
function App(): ReactNode {
  seenClient = useGrayClient();
  return h('b', null, useGrayVersion());
}

/** Renders the provider with `options`, then again with `next` (what HMR does). */
async function renderTwice(
  options: GrayOptions,
  next: GrayOptions,
): Promise<[GrayClient, GrayClient]> {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  roots.push(root);
  await act(async () => root.render(h(StrictMode, null, h(GrayProvider, { options }, h(App)))));
  const first = seenClient as GrayClient;
  await act(async () =>
    root.render(h(StrictMode, null, h(GrayProvider, { options: next }, h(App)))),
  );
  return [first, seenClient as GrayClient];
}

describe('HMR: a provider rendered again with changed options', () => {
  it.each<[string, Partial<GrayOptions>]>([
    ['split weights', { rules: split({ beta: 100 }) }],
    ['split salt', { rules: split({ beta: 0 }, { salt: 'ramp-2' }) }],
    ['a custom rules function edited', { rules: () => ({ version: 'canary', reason: 'rule' }) }],
    ['allow', { allow: ['https://api2.example.com'] }],
    ['allow RegExp', { allow: [/^https:\/\/svc-\d+\.example\.com$/] }],
    ['header', { header: 'X-Lane' }],
    ['cookie name', { cookie: { name: 'lane' } }],
    ['cookie: false', { cookie: false }],
    ['override', { override: true }],
    ['persistOverride', { persistOverride: true }],
  ])('%s → a new client, which the hooks and withGray follow', async (_what, change) => {
    const [first, second] = await renderTwice({ ...BASE }, { ...BASE, ...change });
    expect(second).not.toBe(first);
    // The page's default client (withGray, installFetch, attachGray) is the new one too.
    const headers: Array<[string, string | null]> = [];
    vi.stubGlobal('fetch', async (_i: RequestInfo | URL, init?: RequestInit) => {
      const h = new Headers(init?.headers);
      headers.push([second.header, h.get(second.header)]);
      return new Response('ok');
    });
    await withGray()('/api');
    expect(headers).toEqual([[second.header, second.getGrayVersion()]]);
  });

  it.each<[string, GrayOptions]>([
    ['a new but equal object', { ...BASE }],
    ['equal arrays and RegExps made again', { ...BASE, allow: ['https://api.example.com'] }],
    ['split() called again with the same weights', { ...BASE, rules: split({ beta: 0 }) }],
    ['only onAssign changed', { ...BASE, onAssign: () => undefined }],
  ])('%s → the same client (no second exposure)', async (_what, next) => {
    const [first, second] = await renderTwice({ ...BASE }, next);
    expect(second).toBe(first);
  });

  it('an edited onAssign replaces the old one: later changes reach only the new listener', async () => {
    const calls: string[] = [];
    const make = (tag: string): GrayOptions => ({
      ...BASE,
      onAssign: (v, r) => void calls.push(`${tag}:${v}:${r}`),
    });
    const [first, second] = await renderTwice(make('old'), make('new'));
    expect(second).toBe(first);
    await act(async () => void second.setGrayVersion('canary'));
    expect(calls).toEqual(['old:stable:weight', 'new:canary:manual']);
  });
});

// I1: the provider keys its client by the options' JSON. A cookie jar holding a circular reference
// (a consent manager's object graph), or options JSON cannot spell, threw "Converting circular
// structure to JSON" out of the render: the page crashed.
describe('I1 options JSON cannot spell: the provider renders, and keeps its client', () => {
  /** A jar over a Map that refers to itself, as a consent manager's objects may. */
  const circularJar = () => {
    const store = new Map<string, string>();
    const jar = {
      get: (name: string) => store.get(name),
      set: (name: string, value: string) => void store.set(name, value),
      remove: (name: string) => void store.delete(name),
      owner: {} as Record<string, unknown>,
    };
    jar.owner['jar'] = jar;
    return jar;
  };
  const odd = (): GrayOptions => {
    const extra: Record<string, unknown> = { n: 10n };
    extra['self'] = extra;
    return { ...BASE, meta: extra } as GrayOptions;
  };
  it.each<[string, () => GrayOptions]>([
    ['a cookie jar with a circular reference', () => ({ ...BASE, cookies: circularJar() })],
    ['a field holding a BigInt and a circular reference', odd],
  ])('%s', async (_what, make) => {
    const options = make();
    const [first, second] = await renderTwice(options, options);
    expect(second).toBe(first);
    expect(first.getGrayVersion()).toBe('stable');
    expect(document.body.textContent).toContain('stable');
    expect(errors).toEqual([]);
  });
});

describe('several providers on one page', () => {
  // docs/react.md: one client and one exposure per page and options, however often React
  // renders. Two providers with different options used to replace each other's client on every
  // render: a new initGray, a new exposure and a cookie write per render.
  it.each<[string, Partial<GrayOptions>, Partial<GrayOptions>]>([
    ['different allow', {}, { allow: ['https://other.example.com'] }],
    ['different rules', {}, { rules: split({ beta: 100 }) }],
    ['one with a serverVersion', {}, { serverVersion: 'beta' } as Partial<GrayOptions>],
    ['different headers', { header: 'X-A' }, { header: 'X-B' }],
  ])('%s: each keeps its client across re-renders', async (_what, a, b) => {
    const calls: string[] = [];
    const seen: Record<string, GrayClient[]> = { a: [], b: [] };
    function Probe({ tag }: { tag: string }): ReactNode {
      seen[tag]?.push(useGrayClient());
      return h('i', null, useGrayVersion());
    }
    const provider = (tag: string, o: Partial<GrayOptions>): ReactNode => {
      const { serverVersion, ...rest } = o as GrayOptions;
      const options = { ...BASE, ...rest, onAssign: () => void calls.push(tag) };
      return h(GrayProvider, { options, serverVersion }, h(Probe, { tag }));
    };
    const container = document.createElement('div');
    document.body.append(container);
    const root = createRoot(container);
    roots.push(root);
    for (let i = 0; i < 4; i++)
      await act(async () =>
        root.render(
          h(StrictMode, null, h('div', { 'data-i': i }, provider('a', a), provider('b', b))),
        ),
      );
    expect(new Set(seen['a']).size, 'clients of a').toBe(1);
    expect(new Set(seen['b']).size, 'clients of b').toBe(1);
    expect(calls.sort()).toEqual(['a', 'b']);
    expect(container.textContent).toBe(
      `${seen['a']?.[0]?.getGrayVersion()}${seen['b']?.[0]?.getGrayVersion()}`,
    );
  });
});

describe('hydration with hostile or odd graylane-version metas', () => {
  /** The server rendered `rendered` into a page whose head and body (outside the app) hold these. */
  async function hydrate(head: string, body: string, rendered: string): Promise<string> {
    document.head.innerHTML = head;
    document.body.innerHTML = body;
    const container = document.createElement('div');
    container.innerHTML = `<b>${rendered}</b>`;
    document.body.append(container);
    const options: GrayOptions = { versions: ['stable', 'beta'], default: 'stable' };
    await act(async () => {
      roots.push(
        hydrateRoot(container, h(StrictMode, null, h(GrayProvider, { options }, h(App))), {
          onRecoverableError: (e) => void errors.push(String(e)),
        }),
      );
    });
    expect(container.innerHTML).toBe(`<b>${rendered}</b>`);
    return (seenClient as GrayClient).getGrayVersion();
  }

  const meta = (content: string): string => `<meta name="graylane-version" content="${content}">`;

  it.each([
    [
      'a meta injected in <body> that disagrees',
      meta('beta'),
      `<div>${meta('stable')}</div>`,
      'beta',
    ],
    ['a meta injected in <body> with no head meta', '', `<div>${meta('beta')}</div>`, 'stable'],
    ['two head metas that agree', meta('beta') + meta('beta'), '', 'beta'],
    ['a NUL after the label', meta('beta\u0000'), '', 'stable'],
    ['an unknown version', meta('gamma'), '', 'stable'],
    ['upper case', meta('BETA'), '', 'stable'],
    ['65 bytes', meta(`beta${' '.repeat(61)}`), '', 'stable'],
    ['OWS around the label', meta(' beta\t'), '', 'beta'],
  ])(
    '%s: hydrates without a mismatch, on the version the server rendered',
    async (_what, head, body, rendered) => {
      const version = await hydrate(head, body, rendered);
      expect(errors.filter((e) => /hydrat|mismatch|did not match/i.test(e))).toEqual([]);
      expect(version).toBe(rendered);
    },
  );
});
