// @vitest-environment happy-dom
/**
 * What a provider may do during render and what only when React commits it, which client it
 * hydrates from, and which providers share a client — defects an outside review (helper-54)
 * confirmed: a `client` prop hydrated from its live version (cookie, rules, `?gray=`) while the
 * server rendered the default; a render React threw away wrote the cookie, reported an exposure
 * and became `withGray()`'s client; rule functions with one source text shared a client; a
 * mounted provider lost its client after 8 other option sets. Real react-dom/client, built
 * packages.
 */
import {
  act,
  Component,
  createElement as h,
  StrictMode,
  startTransition,
  Suspense,
  use,
  useEffect,
  useLayoutEffect,
  type ReactNode,
} from 'react';
import { createRoot, hydrateRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  initGray,
  split,
  withGray,
  type CookieJarLike,
  type GrayClient,
  type GrayOptions,
  type GrayRules,
} from '@graylane/browser';
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
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const VERSIONS = ['stable', 'beta', 'canary'];
const BASE: GrayOptions = { versions: VERSIONS, default: 'stable' };
const to =
  (version: string): GrayRules =>
  () => ({ version, reason: 'rule' });

const hydrationComplaints = (): string[] =>
  errors.filter((m) => /hydrat|mismatch|did not match|server rendered/i.test(m));

/** Cookies graylane may write (version and anonymous id), whatever their names. */
const cookies = (): string =>
  document.cookie
    .split('; ')
    .filter((c) => c && !c.endsWith('='))
    .sort()
    .join('; ');

function mount(): [Root, HTMLElement] {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  roots.push(root);
  return [root, container];
}

/** The `X-Gray-Id` (or `header`) a `withGray()` call sends from this page now. */
async function sentBy(header = 'X-Gray-Id'): Promise<string | null> {
  let sent: string | null = null;
  vi.stubGlobal('fetch', async (_i: RequestInfo | URL, init?: RequestInit) => {
    sent = new Headers(init?.headers).get(header);
    return new Response('ok');
  });
  await withGray()('/api');
  return sent;
}

function Version(): ReactNode {
  return h('b', null, useGrayVersion());
}

describe('HYD-client: a `client` prop hydrates from what the server rendered, not its live version', () => {
  // The server renders `client={initGray(…)}` with no hand-off: the inert client's default. In the
  // page the client has already read the visitor's cookie, rules or ?gray=; that is for after
  // hydration. The old code hydrated from the live version: a mismatch for every returning visitor.
  it.each<[string, () => void, Partial<GrayOptions>, string]>([
    ['a sticky cookie gray=beta', () => void (document.cookie = 'gray=beta; Path=/'), {}, 'beta'],
    [
      'a sticky cookie gray=canary',
      () => void (document.cookie = 'gray=canary; Path=/'),
      {},
      'canary',
    ],
    [
      'a cookie of another name',
      () => void (document.cookie = 'lane=beta; Path=/'),
      { cookie: { name: 'lane' } },
      'beta',
    ],
    ['client rules → beta', () => undefined, { rules: to('beta') }, 'beta'],
    ['split({ canary: 100 })', () => undefined, { rules: split({ canary: 100 }) }, 'canary'],
    [
      'a ?gray= override',
      () => history.replaceState(null, '', '/?gray=canary'),
      { override: true },
      'canary',
    ],
    [
      'a persisted ?gray= override',
      () => history.replaceState(null, '', '/?gray=beta'),
      { override: true, persistOverride: true },
      'beta',
    ],
    [
      'a cookie and rules that disagree',
      () => void (document.cookie = 'gray=canary; Path=/'),
      { rules: to('beta') },
      'canary',
    ],
  ])('%s: no mismatch, then the live version', async (_what, arrange, extra, live) => {
    arrange();
    for (const strict of [false, true]) {
      Reflect.deleteProperty(globalThis, Symbol.for('@graylane/browser:client'));
      const client = initGray({ ...BASE, ...extra });
      expect(client.getGrayVersion()).toBe(live);
      const container = document.createElement('div');
      container.innerHTML = '<b>stable</b>';
      document.body.append(container);
      const tree = h(GrayProvider, { client }, h(Version));
      await act(async () => {
        roots.push(
          hydrateRoot(container, strict ? h(StrictMode, null, tree) : tree, {
            onRecoverableError: (e) => void errors.push(String(e)),
          }),
        );
      });
      expect(hydrationComplaints(), `strict ${strict}`).toEqual([]);
      expect(container.innerHTML).toBe(`<b>${live}</b>`);
    }
  });

  it('control: a server that rendered the live version instead IS reported (the check can fail)', async () => {
    document.cookie = 'gray=beta; Path=/';
    const container = document.createElement('div');
    container.innerHTML = '<b>beta</b>';
    document.body.append(container);
    await act(async () => {
      roots.push(
        hydrateRoot(container, h(GrayProvider, { client: initGray(BASE) }, h(Version)), {
          onRecoverableError: (e) => void errors.push(String(e)),
        }),
      );
    });
    expect(hydrationComplaints().length).toBeGreaterThan(0);
  });

  it('the client exposes its configured default', () => {
    expect(initGray({ ...BASE, default: 'canary' }).defaultVersion).toBe('canary');
    document.cookie = 'gray=beta; Path=/';
    expect(initGray({ ...BASE, rules: to('canary') }).defaultVersion).toBe('stable');
  });
});

describe('RND: a render React throws away leaves nothing behind', () => {
  const never = new Promise<never>(() => undefined);
  function Blocked(): ReactNode {
    use(never);
    return null;
  }

  // Each row: options of a committed provider, then new options rendered in a transition that
  // suspends forever (React keeps showing the old tree) — the cookie, the exposures and the page's
  // `withGray()` client must stay those of the committed tree. Rendering the new options without
  // suspending then commits them (so the row can tell "deferred" from "never").
  it.each<[string, Partial<GrayOptions>, () => void, string, string, string]>([
    [
      'rules → beta (cookie written on commit)',
      { rules: to('beta') },
      () => undefined,
      'beta',
      'X-Gray-Id',
      'rule',
    ],
    [
      'split({ beta: 100 }): anonymous id and cookie',
      { rules: split({ beta: 100 }) },
      () => undefined,
      'beta',
      'X-Gray-Id',
      'weight',
    ],
    [
      'another header',
      { header: 'X-Lane', rules: to('canary') },
      () => undefined,
      'canary',
      'X-Lane',
      'rule',
    ],
    [
      'another cookie name',
      { cookie: { name: 'lane' }, rules: to('beta') },
      () => undefined,
      'beta',
      'X-Gray-Id',
      'rule',
    ],
    [
      'a persisted ?gray= override',
      { override: true, persistOverride: true },
      () => history.replaceState(null, '', '/?gray=canary'),
      'canary',
      'X-Gray-Id',
      'override',
    ],
    [
      'an invalid cookie it would remove',
      { rules: to('beta'), cookie: { name: 'lane' } },
      () => void (document.cookie = 'lane=BETA; Path=/'),
      'beta',
      'X-Gray-Id',
      'rule',
    ],
    [
      'rules to the default (nothing to store)',
      { rules: to('stable'), header: 'X-Other' },
      () => undefined,
      'stable',
      'X-Other',
      'rule',
    ],
  ])('%s', async (_what, change, arrange, next, header, why) => {
    const exposure = `${next}/${why}`;
    const exposures: string[] = [];
    const onAssign = (v: string, r: string) => void exposures.push(`${v}/${r}`);
    const base: GrayOptions = { ...BASE, onAssign };
    const page = (o: GrayOptions, block: boolean): ReactNode =>
      h(
        Suspense,
        { fallback: 'loading' },
        h(GrayProvider, { options: o }, h(Version), block ? h(Blocked) : null),
      );
    const [root, container] = mount();
    await act(async () => root.render(h(StrictMode, null, page(base, false))));
    expect(container.textContent).toBe('stable');
    expect(exposures).toEqual(['stable/default']);
    arrange();
    const before = cookies();

    const changed: GrayOptions = { ...base, ...change };
    await act(async () =>
      startTransition(() => root.render(h(StrictMode, null, page(changed, true)))),
    );
    expect(container.textContent).toBe('stable');
    expect(cookies()).toBe(before);
    expect(exposures).toEqual(['stable/default']);
    expect(await sentBy()).toBe('stable');

    // The same options, committed: now it persists, reports and becomes the page's client.
    await act(async () => root.render(h(StrictMode, null, page(changed, false))));
    expect(container.textContent).toBe(next);
    expect(exposures).toEqual(['stable/default', exposure]);
    expect(await sentBy(header)).toBe(next);
  });

  it('a first render that never commits: no cookie, no exposure, no page client', async () => {
    const exposures: string[] = [];
    const options: GrayOptions = {
      ...BASE,
      rules: split({ canary: 100 }),
      onAssign: (v) => void exposures.push(v),
    };
    const [root] = mount();
    await act(async () =>
      startTransition(() =>
        root.render(
          h(Suspense, { fallback: 'x' }, h(GrayProvider, { options }, h(Version), h(Blocked))),
        ),
      ),
    );
    expect(cookies()).toBe('');
    expect(exposures).toEqual([]);
    expect(await sentBy()).toBeNull();
  });

  it.each([1, 2, 5])(
    'StrictMode, %i committed re-renders with inline options: one exposure, one cookie write',
    async (renders) => {
      const exposures: string[] = [];
      const writes: string[] = [];
      const jar: CookieJarLike = {
        get: () => undefined,
        set: (name, value) => void writes.push(`${name}=${value}`),
        remove: () => undefined,
      };
      const Root = (): ReactNode =>
        h(
          GrayProvider,
          {
            options: {
              ...BASE,
              cookies: jar,
              rules: to('beta'),
              onAssign: (v) => void exposures.push(v),
            },
          },
          h(Version),
        );
      const [root, container] = mount();
      for (let i = 0; i < renders; i++)
        await act(async () => root.render(h(StrictMode, null, h(Root))));
      expect(container.textContent).toBe('beta');
      expect(exposures).toEqual(['beta']);
      expect(writes.filter((w) => w.startsWith('gray='))).toEqual(['gray=beta']);
      expect(writes.filter((w) => w.startsWith('gray_aid=')).length).toBe(1);
    },
  );
});

describe('KEY: which providers share a client', () => {
  const factory =
    (v: string): GrayRules =>
    () => ({ version: v, reason: 'rule' });
  function bound(this: unknown, v: string) {
    return { version: v, reason: 'rule' as const };
  }
  const jar = (): CookieJarLike => {
    const m = new Map<string, string>();
    return {
      get: (n) => m.get(n),
      set: (n, v) => void m.set(n, v),
      remove: (n) => void m.delete(n),
    };
  };

  let seen: Record<string, GrayClient> = {};
  function Probe({ tag }: { tag: string }): ReactNode {
    seen[tag] = useGrayClient();
    return h('i', null, `${tag}:${useGrayVersion()};`);
  }
  async function two(a: GrayOptions, b: GrayOptions): Promise<string> {
    seen = {};
    const [root, container] = mount();
    await act(async () =>
      root.render(
        h(
          StrictMode,
          null,
          h(GrayProvider, { options: a }, h(Probe, { tag: 'a' })),
          h(GrayProvider, { options: b }, h(Probe, { tag: 'b' })),
        ),
      ),
    );
    return container.textContent ?? '';
  }

  // Options whose source text is the same but whose behaviour differs: one client each.
  it.each<[string, () => [Partial<GrayOptions>, Partial<GrayOptions>], string]>([
    [
      'two rules from one factory',
      () => [{ rules: factory('beta') }, { rules: factory('canary') }],
      'a:beta;b:canary;',
    ],
    [
      'two .bind results',
      () => [{ rules: bound.bind(null, 'beta') }, { rules: bound.bind(null, 'canary') }],
      'a:beta;b:canary;',
    ],
    [
      '.bind vs .bind on another function',
      () => [{ rules: bound.bind(null, 'canary') }, { rules: factory('beta').bind(null) }],
      'a:canary;b:beta;',
    ],
    [
      'two cookie jars from one factory',
      () => [
        { cookies: jar(), rules: factory('beta'), cookie: { name: 'x' } },
        { cookies: jar(), cookie: { name: 'x' } },
      ],
      'a:beta;b:stable;',
    ],
    [
      'the same jar, rules from one factory',
      () => {
        const j = jar();
        return [
          { cookies: j, rules: factory('canary') },
          { cookies: j, rules: factory('beta') },
        ];
      },
      'a:canary;b:beta;',
    ],
  ])('%s → a client each', async (_what, make, text) => {
    const [a, b] = make();
    expect(await two({ ...BASE, ...a }, { ...BASE, ...b })).toBe(text);
    expect(seen['a']).not.toBe(seen['b']);
  });

  // The same objects, or rules tagged by their inputs: one client, one exposure.
  it.each<[string, () => [Partial<GrayOptions>, Partial<GrayOptions>]]>([
    [
      'the same rules function',
      () => {
        const r = factory('beta');
        return [{ rules: r }, { rules: r }];
      },
    ],
    [
      'split() made twice with the same weights',
      () => [{ rules: split({ beta: 100 }) }, { rules: split({ beta: 100 }) }],
    ],
    [
      'the same jar',
      () => {
        const j = jar();
        return [{ cookies: j }, { cookies: j }];
      },
    ],
    [
      'no functions at all',
      () => [{ allow: [/^https:\/\/a\.example$/] }, { allow: [/^https:\/\/a\.example$/] }],
    ],
  ])('%s → one client', async (_what, make) => {
    const [a, b] = make();
    await two({ ...BASE, ...a }, { ...BASE, ...b });
    expect(seen['a']).toBe(seen['b']);
  });

  it.each([2, 4])('inline options re-made on %i renders keep that provider’s client', async (n) => {
    const exposures: string[] = [];
    const clients = new Set<GrayClient>();
    const Root = ({ i }: { i: number }): ReactNode =>
      h(
        GrayProvider,
        {
          options: {
            ...BASE,
            cookies: jar(),
            rules: () => ({ version: 'beta', reason: 'rule' as const }),
            onAssign: (v) => void exposures.push(`${i}:${v}`),
          },
        },
        h(function P() {
          clients.add(useGrayClient());
          return null;
        }),
      );
    const [root] = mount();
    for (let i = 0; i < n; i++)
      await act(async () => root.render(h(StrictMode, null, h(Root, { i }))));
    expect(clients.size).toBe(1);
    expect(exposures.length).toBe(1);
  });
});

describe('EVI: a mounted provider keeps its client whatever other option sets come and go', () => {
  it.each<[string, number, (i: number) => Partial<GrayOptions>]>([
    ['8 cookie lifetimes', 8, (i) => ({ cookie: { name: 'lane_b', maxAgeSeconds: 1000 + i } })],
    ['9 cookie lifetimes', 9, (i) => ({ cookie: { name: 'lane_b', maxAgeSeconds: 1000 + i } })],
    ['12 headers', 12, (i) => ({ header: `X-B-${i}`, cookie: false })],
    ['20 allowlists', 20, (i) => ({ allow: [`https://api${i}.example.com`], cookie: false })],
    [
      '10 rules functions',
      10,
      (i) => ({
        rules: () => ({ version: i % 2 ? 'beta' : 'stable', reason: 'rule' as const }),
        cookie: false,
      }),
    ],
  ])('%s', async (_what, n, other) => {
    const exposures: string[] = [];
    const A: GrayOptions = {
      ...BASE,
      cookie: { name: 'lane_a' },
      onAssign: (v, r) => void exposures.push(`${v}/${r}`),
    };
    const clients = new Set<GrayClient>();
    function Probe(): ReactNode {
      clients.add(useGrayClient());
      return null;
    }
    const [root] = mount();
    for (let i = 0; i <= n; i++)
      await act(async () =>
        root.render(
          h(
            StrictMode,
            null,
            h(GrayProvider, { options: A }, h(Probe)),
            h(GrayProvider, { options: { ...BASE, ...other(i) } }),
          ),
        ),
      );
    expect(clients.size).toBe(1);
    expect(exposures).toEqual(['stable/default']);
  });

  it('a provider that mounts after 8 others were used re-uses the first client it finds (LRU)', async () => {
    const A: GrayOptions = { ...BASE, header: 'X-A' };
    const seen: GrayClient[] = [];
    function Probe(): ReactNode {
      seen.push(useGrayClient());
      return null;
    }
    const [root] = mount();
    // A renders on every pass (refreshing its entry) while 10 other option sets come and go.
    for (let i = 0; i < 10; i++)
      await act(async () =>
        root.render(
          h(
            'div',
            null,
            h(GrayProvider, { options: A }, h(Probe)),
            h(GrayProvider, { options: { ...BASE, header: `X-${i}` } }),
          ),
        ),
      );
    const [late] = mount();
    await act(async () => late.render(h(GrayProvider, { options: { ...A } }, h(Probe))));
    expect(new Set(seen).size).toBe(1);
  });
});

describe('QA: a client committed by a child before the provider still reports its exposures', () => {
  // Children's layout effects run before their provider's: a QA call there commits the deferred
  // client first, and its exposures (the assignment, then the switch) must reach `onAssign`.
  it.each<[string, typeof useLayoutEffect, Partial<GrayOptions>, string[]]>([
    ['layout effect, default', useLayoutEffect, {}, ['stable/default', 'beta/manual']],
    [
      'layout effect, a rule',
      useLayoutEffect,
      { rules: to('canary') },
      ['canary/rule', 'beta/manual'],
    ],
    ['passive effect, default', useEffect, {}, ['stable/default', 'beta/manual']],
    ['passive effect, a rule', useEffect, { rules: to('canary') }, ['canary/rule', 'beta/manual']],
  ])('%s', async (_n, effect, extra, expected) => {
    const exposures: string[] = [];
    const options: GrayOptions = {
      ...BASE,
      ...extra,
      onAssign: (v, r) => void exposures.push(`${v}/${r}`),
    };
    function QA(): ReactNode {
      const client = useGrayClient();
      effect(() => void client.setGrayVersion('beta'), []);
      return h('b', null, useGrayVersion());
    }
    const [root, container] = mount();
    await act(async () => root.render(h(GrayProvider, { options }, h(QA))));
    expect(exposures).toEqual(expected);
    expect(container.textContent).toBe('beta');
    expect(cookies()).toContain('beta');
  });
});

// Review 105 F3: checking that the jar keeps a new anonymous id (written, read back, removed)
// must not destroy a cookie of the name already there — a server-minted id in another format —
// in a render React throws away (an error boundary above the provider renders its fallback).
describe('RND: a thrown-away render keeps the anonymous-id cookie already there', () => {
  function Boom(): ReactNode {
    throw new Error('boom');
  }
  class Boundary extends Component<{ children: ReactNode }, { failed: boolean }> {
    override state = { failed: false };
    static getDerivedStateFromError(): { failed: boolean } {
      return { failed: true };
    }
    override render(): ReactNode {
      return this.state.failed ? null : this.props.children;
    }
  }
  const thrownAway = async (): Promise<void> => {
    const root = createRoot(document.createElement('div'));
    roots.push(root);
    await act(async () =>
      root.render(
        h(
          Boundary,
          null,
          h(GrayProvider, { options: { ...BASE, rules: split({ beta: 50 }) } }, h(Boom)),
        ),
      ),
    );
  };

  it.each([
    ['a server-minted UUID', '123e4567-e89b-12d3-a456-426614174000'],
    ['an older, shorter id', 'abc123'],
    ['an uppercase id', 'F'.repeat(32)],
  ])('%s survives; no new id is left behind', async (_n, value) => {
    document.cookie = `gray_aid=${value}; Path=/`;
    const before = cookies();
    await thrownAway();
    expect(cookies()).toBe(before);
  });

  it('control: with no cookie of the name, the probe leaves none behind', async () => {
    await thrownAway();
    expect(cookies()).toBe('');
  });
});
