// @vitest-environment happy-dom
/**
 * Who hears what: `subscribe` listeners hear every change of the version OR the reason (a QA
 * choice of the version on screen, clearing back to the default), `onAssign` only a new version
 * (exposure). Non-string hand-offs count as absent. The deferred creation React's provider uses:
 * nothing persists, reports or registers until the commit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  split,
  withGray,
  type CookieJarLike,
  type GrayClient,
  type GrayOptions,
  type GrayRules,
} from '../src/index.js';
import { at, clearCookies, initOnReload as initGray, reload } from './page.js';
import { initGray as initHere } from '../src/index.js';

const base: GrayOptions = { versions: ['stable', 'beta', 'canary'], default: 'stable' };

afterEach(() => {
  clearCookies();
  document.head.innerHTML = '';
  at('http://localhost/');
});

/** A client in the given start state, and what its listeners and onAssign heard since. */
function watched(start: string): {
  client: GrayClient;
  heard: string[];
  exposed: string[];
} {
  const exposed: string[] = [];
  const onAssign = (v: string, r: string) => void exposed.push(`${v}:${r}`);
  const o: GrayOptions = { ...base, onAssign };
  const starts: Record<string, () => GrayClient> = {
    default: () => initGray(o),
    cookie: () => ((document.cookie = 'gray=stable; Path=/'), initGray(o)),
    server: () => initGray({ ...o, serverVersion: 'stable' }),
    rule: () => initGray({ ...o, rules: () => ({ version: 'stable', reason: 'rule' }) }),
    override: () => (at('http://localhost/?gray=stable'), initGray({ ...o, override: true })),
    manual: () => {
      const c = initGray(o);
      c.setGrayVersion('stable');
      return c;
    },
  };
  const client = (starts[start] as () => GrayClient)();
  exposed.length = 0;
  const heard: string[] = [];
  client.subscribe((v, r) => void heard.push(`${v}:${r}`));
  return { client, heard, exposed };
}

describe('LST: subscribe hears a new version or reason; onAssign only a new version', () => {
  it.each<[string, string, (c: GrayClient) => unknown, string[], string[]]>([
    // [start, action, heard by subscribe, heard by onAssign]
    [
      'default',
      'pin the version on screen',
      (c) => c.setGrayVersion('stable'),
      ['stable:manual'],
      [],
    ],
    [
      'cookie',
      'pin the version on screen',
      (c) => c.setGrayVersion('stable'),
      ['stable:manual'],
      [],
    ],
    [
      'server',
      'pin the version on screen',
      (c) => c.setGrayVersion('stable'),
      ['stable:manual'],
      [],
    ],
    ['rule', 'pin the version on screen', (c) => c.setGrayVersion('stable'), ['stable:manual'], []],
    [
      'override',
      'pin the version on screen',
      (c) => c.setGrayVersion('stable'),
      ['stable:manual'],
      [],
    ],
    ['manual', 'pin it again', (c) => c.setGrayVersion('stable'), [], []],
    ['manual', 'clear back to the default', (c) => c.clearGrayVersion(), ['stable:default'], []],
    ['default', 'clear (nothing changes)', (c) => c.clearGrayVersion(), [], []],
    ['cookie', 'clear back to the default', (c) => c.clearGrayVersion(), ['stable:default'], []],
    ['default', 'an unknown version', (c) => c.setGrayVersion('gamma'), [], []],
    [
      'default',
      'another version',
      (c) => c.setGrayVersion('beta'),
      ['beta:manual'],
      ['beta:manual'],
    ],
    [
      'default',
      'another version and back',
      (c) => (c.setGrayVersion('beta'), c.setGrayVersion('stable')),
      ['beta:manual', 'stable:manual'],
      ['beta:manual', 'stable:manual'],
    ],
    [
      'manual',
      'another version, then clear',
      (c) => (c.setGrayVersion('canary'), c.clearGrayVersion()),
      ['canary:manual', 'stable:default'],
      ['canary:manual', 'stable:default'],
    ],
  ])('%s, %s', (start, _action, act, heard, exposed) => {
    const w = watched(start);
    act(w.client);
    expect(w.heard).toEqual(heard);
    expect(w.exposed).toEqual(exposed);
    expect(w.client.getTrackingFields().gray_reason).toBe(
      (heard.at(-1) ?? `x:${w.client.getGrayReason()}`).split(':')[1],
    );
  });
});

describe('SV: a hand-off that is not a string counts as absent', () => {
  it.each<[string, unknown]>([
    ['null', null],
    ['a number', 42],
    ['true', true],
    ['an object', { toString: () => 'beta' }],
    ['an array', ['beta']],
  ])('%s: no throw; the head meta, else the cookie, else the default', (_what, sv) => {
    const o = { ...base, serverVersion: sv as string };
    expect(initGray(o).getGrayVersion()).toBe('stable');
    expect(initGray(o).serverVersion).toBeUndefined();
    document.cookie = 'gray=canary; Path=/';
    expect(initGray(o).getGrayReason()).toBe('cookie');
    document.head.innerHTML = '<meta name="graylane-version" content="beta">';
    expect([initGray(o).getGrayVersion(), initGray(o).getGrayReason()]).toEqual(['beta', 'server']);
    // A QA call from untyped code with the same value: false, never a throw.
    expect(initGray(base).setGrayVersion(sv as string)).toBe(false);
  });
});

describe('DEF: deferred creation (React’s provider) persists, reports and registers on commit only', () => {
  // React's provider's hold (packages/react/src/page-client.ts): effects wait for the commit.
  const HOLD = Symbol.for('@graylane/browser:client');
  const deferred = (o: GrayOptions, reloaded = true): [GrayClient, () => void] => {
    let held: Array<() => void> | undefined = [];
    const commit = (): void => {
      const effects = held;
      held = undefined;
      effects?.map((effect) => effect());
    };
    const hold = (effect?: () => void) =>
      effect ? (held ? held.push(effect) : effect()) : commit();
    if (reloaded) reload();
    const client = initHere({ ...o, [HOLD]: hold } as GrayOptions);
    return [client, commit];
  };
  const memoryJar = (writes: string[]): CookieJarLike => {
    const m = new Map<string, string>();
    return {
      get: (n) => m.get(n),
      set: (n, v) => void (writes.push(`set ${n}=${v}`), m.set(n, v)),
      remove: (n) => void (writes.push(`remove ${n}`), m.delete(n)),
    };
  };

  it.each<[string, Partial<GrayOptions>, string, string[]]>([
    [
      'rules → beta',
      { rules: () => ({ version: 'beta', reason: 'rule' }) },
      'beta',
      ['set gray_aid=*', 'set gray=beta'],
    ],
    [
      'split: anonymous id, then the version',
      { rules: split({ canary: 100 }) },
      'canary',
      ['set gray_aid=*', 'set gray=canary'],
    ],
    ['the default: nothing stored', {}, 'stable', []],
    ['a persisted override', { override: true, persistOverride: true }, 'beta', ['set gray=beta']],
  ])('%s', async (_what, extra, version, writes) => {
    if (extra.override) at('http://localhost/?gray=beta');
    const seen: string[] = [];
    const exposed: string[] = [];
    const [client, commit] = deferred({
      ...base,
      ...extra,
      cookies: memoryJar(seen),
      onAssign: (v) => void exposed.push(v),
    });
    expect(client.getGrayVersion()).toBe(version);
    // A new anonymous id is tried during the render (written, read back, removed: an id the jar
    // cannot keep is never bucketed on, BC-05); nothing of it stays before the commit.
    const tried = extra.rules ? ['set gray_aid=*', 'remove gray_aid'] : [];
    expect(seen.splice(0).map((w) => w.replace(/=[0-9a-f]{32}$/, '=*'))).toEqual(tried);
    expect(exposed).toEqual([]);
    let sent: string | null = 'none';
    const fetch = async (_i: RequestInfo | URL, init?: RequestInit) => {
      sent = new Headers(init?.headers).get('X-Gray-Id');
      return new Response('ok');
    };
    await withGray(fetch)('/api');
    expect(sent).toBeNull();
    commit();
    commit();
    expect(seen.map((w) => w.replace(/=[0-9a-f]{32}$/, '=*'))).toEqual(writes);
    expect(exposed).toEqual([version]);
    await withGray(fetch)('/api');
    expect(sent).toBe(version);
  });

  it('a QA call before the commit commits first, in order', () => {
    const seen: string[] = [];
    const [client] = deferred({
      ...base,
      rules: () => ({ version: 'beta', reason: 'rule' }),
      cookies: memoryJar(seen),
    });
    expect(client.setGrayVersion('canary')).toBe(true);
    expect(seen.filter((w) => w.startsWith('set gray='))).toEqual([
      'set gray=beta',
      'set gray=canary',
    ]);
  });

  // What happens during the render, on a QA call before the commit (if any) and on the commit, in
  // order: jar writes and removes, reads of the anonymous id (a read repairs its copies on other
  // paths, STK-04), exposures.
  const AID = 'a'.repeat(32);
  const rule = (): ReturnType<GrayRules> => ({ version: 'beta', reason: 'rule' });
  type Row = {
    stored?: Record<string, string>;
    extra?: Partial<GrayOptions>;
    qa?: (c: GrayClient) => unknown;
    render: string[];
    onQa?: string[];
    onCommit: string[];
  };
  it.each<[string, Row]>([
    [
      'an invalid cookie: removed on commit',
      {
        stored: { gray: 'BETA' },
        render: [],
        onCommit: ['remove gray', 'exposed stable/invalid_marker', 'get gray_aid'],
      },
    ],
    [
      'no rules: the anonymous id is read (its copies repaired) on commit only',
      { render: [], onCommit: ['exposed stable/default', 'get gray_aid'] },
    ],
    [
      'rules with a stored anonymous id: read for the rules, the version written on commit',
      {
        stored: { gray_aid: AID },
        extra: { rules: rule },
        render: ['get gray_aid'],
        onCommit: ['set gray=beta', 'exposed beta/rule', 'get gray_aid'],
      },
    ],
    [
      'a QA choice before the commit commits first',
      {
        extra: { rules: rule },
        // Read for the rules; none there, so the probe: written, read back, removed.
        render: [
          'get gray_aid',
          'get gray_aid',
          'set gray_aid=*',
          'get gray_aid',
          'remove gray_aid',
        ],
        qa: (c) => expect(c.setGrayVersion('canary')).toBe(true),
        onQa: [
          'set gray_aid=*',
          'get gray_aid',
          'set gray=beta',
          'exposed beta/rule',
          'get gray_aid',
          'set gray=canary',
          'exposed canary/manual',
        ],
        onCommit: [],
      },
    ],
    [
      'a QA choice of an unknown version before the commit commits too',
      {
        extra: { rules: rule },
        // Read for the rules; none there, so the probe: written, read back, removed.
        render: [
          'get gray_aid',
          'get gray_aid',
          'set gray_aid=*',
          'get gray_aid',
          'remove gray_aid',
        ],
        qa: (c) => expect(c.setGrayVersion('gamma')).toBe(false),
        onQa: [
          'set gray_aid=*',
          'get gray_aid',
          'set gray=beta',
          'exposed beta/rule',
          'get gray_aid',
        ],
        onCommit: [],
      },
    ],
    [
      'clearGrayVersion before the commit commits first',
      {
        stored: { gray: 'canary' },
        extra: { rules: rule },
        render: [],
        qa: (c) => c.clearGrayVersion(),
        onQa: [
          'exposed canary/cookie',
          'get gray_aid',
          'remove gray',
          'get gray_aid',
          'set gray_aid=*',
          'get gray_aid',
          'set gray=beta',
          'exposed beta/rule',
        ],
        onCommit: [],
      },
    ],
  ])('%s', (_what, row) => {
    const seen: string[] = [];
    const m = new Map(Object.entries(row.stored ?? {}));
    const jar: CookieJarLike = {
      get: (n) => (n === 'gray_aid' && seen.push(`get ${n}`), m.get(n)),
      set: (n, v) => void (seen.push(`set ${n}=${v}`), m.set(n, v)),
      remove: (n) => void (seen.push(`remove ${n}`), m.delete(n)),
    };
    const onAssign = (v: string, r: string) => void seen.push(`exposed ${v}/${r}`);
    const [client, commit] = deferred({ ...base, ...row.extra, cookies: jar, onAssign });
    const masked = () => seen.map((w) => w.replace(/=[0-9a-f]{32}$/, '=*'));
    expect(masked()).toEqual(row.render);
    row.qa?.(client);
    const qa = [...row.render, ...(row.onQa ?? [])];
    expect(masked()).toEqual(qa);
    commit();
    commit();
    expect(masked()).toEqual([...qa, ...row.onCommit]);
  });

  const pageClient = (): GrayClient | undefined =>
    (globalThis as { [k: symbol]: { client: GrayClient } | undefined })[
      Symbol.for('@graylane/browser:client')
    ]?.client;

  it.each([
    ['commits', true],
    ['is thrown away', false],
  ])(
    'the page’s default client stays the one before until the render %s',
    async (_what, commits) => {
      const before = initGray({ ...base, header: 'X-Before', cookie: false });
      const hold = Symbol.for('@graylane/browser:client');
      let held: Array<() => void> = [];
      const client = initHere({
        ...base,
        cookie: false,
        [hold]: (effect?: () => void) => void (effect && held.push(effect)),
      } as GrayOptions);
      const headers: string[] = [];
      const fetch = async (_i: RequestInfo | URL, init?: RequestInit) => {
        headers.push([...new Headers(init?.headers).keys()].join().toLowerCase());
        return new Response('ok');
      };
      await withGray(fetch)('/api');
      expect(pageClient()).toBe(before);
      if (commits) [held, (held = [])][0]?.forEach((effect) => effect());
      await withGray(fetch)('/api');
      expect(pageClient()).toBe(commits ? client : before);
      expect(headers).toEqual(['x-before', commits ? 'x-gray-id' : 'x-before']);
    },
  );

  it('the same options as the page’s client: its onAssign is replaced on commit, not before', () => {
    const heard: string[] = [];
    const o: GrayOptions = { ...base, cookie: false, onAssign: (v) => void heard.push(`old ${v}`) };
    const page = initGray(o);
    const [client, commit] = deferred(
      { ...o, onAssign: (v) => void heard.push(`new ${v}`) },
      false,
    );
    expect(client).toBe(page);
    page.setGrayVersion('beta');
    commit();
    page.setGrayVersion('canary');
    expect(heard).toEqual(['old stable', 'old beta', 'new canary']);
  });
});
