// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { initGray, type GrayClient, type GrayOptions } from '../src/index.js';
import { createRemoteRules, type RemoteRulesOptions, type RerollEvent } from '../src/remote.js';
import { clearCookies, reload } from './page.js';

// @graylane/browser/remote, fast checks with a scripted endpoint (the Chromium rows, with a real
// HTTP server and reloads, are in test/chromium/remote.test.ts).

const split = (beta: number, salt = 'ramp', id = 'ramp') => ({
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    {
      id,
      salt,
      bucketBy: 'attr:anonymousId',
      split: [
        { version: 'beta', weight: beta },
        { version: 'stable', weight: 100 - beta },
      ],
    },
  ],
});
const base: GrayOptions = { versions: ['stable', 'beta', 'canary'], default: 'stable' };

type Reply = { status: number; body?: string; etag?: string } | Error;

/** A scripted endpoint: answers in order (the last one repeats); records every request. */
function endpoint(...replies: Reply[]) {
  const requests: Array<{ url: string; ifNoneMatch: string | null }> = [];
  const fetch = vi.fn(async (url: string, init: RequestInit) => {
    requests.push({ url, ifNoneMatch: new Headers(init.headers).get('if-none-match') });
    const reply = replies.length > 1 ? replies.shift() : replies[0];
    if (!reply || reply instanceof Error) throw reply ?? new TypeError('Failed to fetch');
    return new Response(reply.status === 304 ? null : (reply.body ?? ''), {
      status: reply.status,
      headers: reply.etag ? { etag: reply.etag } : {},
    });
  });
  return { fetch, requests };
}

/** The stop functions of every started remote: a test's page views end with the test. */
const running: Array<() => void> = [];

function remote(extra: Partial<RemoteRulesOptions> = {}) {
  const r = createRemoteRules({ url: '/rules.json', refreshMs: 0, retries: 2, ...extra });
  return {
    ...r,
    start: (c: GrayClient) => {
      const stop = r.start(c);
      running.push(stop);
      return stop;
    },
  };
}

beforeEach(() => {
  localStorage.clear();
  document.body.innerHTML = '';
});

afterEach(() => {
  // One window plays every page view here: a page view's listeners end with it, as in a browser.
  for (const stop of running.splice(0)) stop();
  clearCookies();
  reload();
  vi.useRealTimers();
});

describe('bootstrap: the first paint needs no request', () => {
  it('FLT-01 page tag → cache → initial, in that order; nothing fetched before start', () => {
    const ep = endpoint({ status: 500 });
    document.body.innerHTML = `<script type="application/json" id="graylane-rules" data-etag='"v1"'>${JSON.stringify(split(100))}</script>`;
    const r = remote({ fetch: ep.fetch, initial: split(0) });
    expect(initGray({ ...base, rules: r.rules }).getGrayVersion()).toBe('beta');
    expect(ep.requests).toEqual([]);
    expect(r.status().state).toBe('starting');
    // The next page view without a tag reads the cache the first one wrote.
    document.body.innerHTML = '';
    clearCookies();
    reload();
    const cached = remote({ fetch: ep.fetch, initial: split(0) });
    expect(initGray({ ...base, rules: cached.rules }).getGrayVersion()).toBe('beta');
    localStorage.clear();
    clearCookies();
    reload();
    const floor = remote({ fetch: ep.fetch, initial: split(0) });
    expect(initGray({ ...base, rules: floor.rules }).getGrayVersion()).toBe('stable');
  });

  it.each([
    ['CFG-01 truncated JSON', JSON.stringify(split(100)).slice(0, 40)],
    ['CFG-04 weights sum to 99', JSON.stringify(split(100)).replace('"weight":0', '"weight":-1')],
    [
      'CFG-06 __proto__ key',
      '{"__proto__":{"polluted":1},"versions":["stable"],"default":"stable"}',
    ],
    [
      'CFG-07 2 MiB document',
      `{"versions":["stable"],"default":"stable","x":"${'a'.repeat(2 << 20)}"}`,
    ],
    ['empty tag', ''],
  ])('%s in the page tag is ignored (cache, then initial); never thrown', (_id, text) => {
    document.body.innerHTML = `<script type="application/json" id="graylane-rules">${text}</script>`;
    const r = remote({ initial: split(0) });
    expect(r.config()?.rules[0]?.id).toBe('ramp');
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('an invalid initial document is a configuration mistake: it throws at construction', () => {
    expect(() => remote({ initial: { versions: ['stable'], default: 'beta' } })).toThrow(
      /\[graylane\]/,
    );
  });

  it('no document anywhere: rules give nothing (the default), status says nothing is loaded', () => {
    const r = remote();
    expect(r.config()).toBeUndefined();
    expect(initGray({ ...base, rules: r.rules }).getGrayReason()).toBe('default');
  });
});

describe('revalidation: validate, then swap; last-known-good', () => {
  it('I6/CFG-12 an identical document (other key order) changes nothing; a new one swaps and is cached with its ETag', async () => {
    const { rules, versions, default: fallback } = split(10);
    const same = JSON.stringify({ rules, default: fallback, versions }, null, 2);
    const ep = endpoint(
      { status: 200, body: same, etag: '"a"' },
      { status: 304 },
      { status: 200, body: JSON.stringify(split(30)), etag: '"b"' },
    );
    const changes: number[] = [];
    const r = remote({
      fetch: ep.fetch,
      initial: split(10),
      onChange: (c) => changes.push(c.rules.length),
    });
    r.start(initGray({ ...base, rules: r.rules }));
    await r.refresh();
    expect(changes).toEqual([]);
    await r.refresh();
    await r.refresh();
    expect(changes).toEqual([1]);
    expect(ep.requests.map((q) => q.ifNoneMatch)).toEqual([null, '"a"', '"a"']);
    expect(JSON.parse(localStorage.getItem('graylane:rules') ?? '{}')).toMatchObject({
      etag: '"b"',
    });
  });

  it.each([
    ['CFG-01 truncated JSON', { status: 200, body: '{"versions":["st' }],
    [
      'CFG-03 weight as a string',
      { status: 200, body: JSON.stringify(split(10)).replace('"weight":10', '"weight":"10"') },
    ],
    [
      'CFG-06 prototype keys',
      {
        status: 200,
        body: '{"constructor":{"prototype":{"x":1}},"versions":["stable"],"default":"stable"}',
      },
    ],
    ['CFG-07 body over 1 MiB', { status: 200, body: ' '.repeat((1 << 20) + 1) }],
  ] as const)(
    'I5 %s: the last good document stays, no change event, status reports it',
    async (_id, reply) => {
      const ep = endpoint(reply);
      const changes: unknown[] = [];
      const r = remote({ fetch: ep.fetch, initial: split(10), onChange: (c) => changes.push(c) });
      r.start(initGray({ ...base, rules: r.rules }));
      await r.refresh();
      expect(r.config()?.rules[0]?.id).toBe('ramp');
      expect(changes).toEqual([]);
      expect(ep.requests).toHaveLength(1);
      expect(r.status().state).toBe('error');
    },
  );

  const R304 = { status: 304 } as const;
  const doc10 = { status: 200, body: JSON.stringify(split(10)), etag: '"a"' } as const;
  /** Where the document in force came from before the first request. */
  type Held =
    'nothing' | 'initial' | 'tag with etag' | 'tag, no etag' | 'cache with etag' | 'cache, no etag';
  function held(how: Held): Partial<RemoteRulesOptions> {
    const text = JSON.stringify(split(100));
    if (how === 'initial') return { initial: split(100) };
    if (how.startsWith('tag'))
      document.body.innerHTML = `<script type="application/json" id="graylane-rules"${how === 'tag with etag' ? ` data-etag='"a"'` : ''}>${text}</script>`;
    if (how.startsWith('cache'))
      localStorage.setItem(
        'graylane:rules',
        JSON.stringify({ doc: text, etag: how === 'cache with etag' ? '"a"' : undefined }),
      );
    return {};
  }
  const NOT_LOADED = /^HTTP 304 before any document$/;
  const EMPTY = /^document rejected: empty$/;
  it.each([
    ['304, nothing held, no If-None-Match', 'nothing', [R304], 'error', NOT_LOADED, [null]],
    [
      '304, only `initial` (never loaded from the endpoint)',
      'initial',
      [R304],
      'error',
      NOT_LOADED,
      [null],
    ],
    ['304, a page tag without data-etag', 'tag, no etag', [R304], 'error', NOT_LOADED, [null]],
    [
      '304, a cached document without an ETag',
      'cache, no etag',
      [R304],
      'error',
      NOT_LOADED,
      [null],
    ],
    ['304 to If-None-Match of the page tag', 'tag with etag', [R304], 'ready', undefined, ['"a"']],
    [
      '304 to If-None-Match of the cached document',
      'cache with etag',
      [R304],
      'ready',
      undefined,
      ['"a"'],
    ],
    [
      '200 then 304 (the ETag it was served with)',
      'nothing',
      [doc10, R304],
      'ready',
      undefined,
      [null, '"a"'],
    ],
    ['204, nothing held', 'nothing', [{ status: 204 }], 'error', EMPTY, [null]],
    [
      '204, a cached document with an ETag',
      'cache with etag',
      [{ status: 204 }],
      'error',
      EMPTY,
      ['"a"'],
    ],
    ['200 with an empty body', 'nothing', [{ status: 200, body: '' }], 'error', EMPTY, [null]],
    [
      '200 with only whitespace',
      'initial',
      [{ status: 200, body: ' \r\n\t ' }],
      'error',
      EMPTY,
      [null],
    ],
    [
      '200, then 204: the last good document, stale',
      'nothing',
      [doc10, { status: 204 }],
      'stale',
      EMPTY,
      [null, '"a"'],
    ],
    [
      '200 served without an ETag, then 304 (nothing named, nothing confirmed)',
      'initial',
      [{ ...doc10, etag: '' }, R304],
      'stale',
      NOT_LOADED,
      [null, null],
    ],
  ] as const)(
    'SRC-05 %s: readiness says whether anything was loaded',
    async (_case, before, replies, state, lastError, ifNoneMatch) => {
      const start = held(before);
      const ep = endpoint(...replies);
      const r = remote({ fetch: ep.fetch, retries: 0, ...start });
      const config = r.config();
      for (const _ of replies) await r.refresh();
      expect(ep.requests.map((q) => q.ifNoneMatch)).toEqual(ifNoneMatch);
      expect(r.status().state).toBe(state);
      expect(r.status().lastError).toEqual(
        lastError === undefined ? undefined : expect.stringMatching(lastError),
      );
      // Only a 200 with a document changes the document in force.
      if (!replies.some((x) => 'body' in x && x.body)) expect(r.config()).toBe(config);
    },
  );

  it.each([202, 206, 207, 208, 226, 299])(
    'SRC-05 a %i with a document in its body is not the document: a failure, nothing adopted',
    async (status) => {
      const other = JSON.stringify(split(50));
      const ep = endpoint(doc10, { status, body: other, etag: '"b"' }, { status, body: other });
      const r = remote({ fetch: ep.fetch, retries: 0 });
      await r.refresh();
      const config = r.config();
      await r.refresh();
      await r.refresh();
      expect(r.config()).toBe(config);
      expect(r.status()).toMatchObject({ state: 'stale', lastError: `HTTP ${status}` });
    },
  );

  it.each([
    ['FLT-02 network down', new TypeError('Failed to fetch'), 3],
    ['FLT-02 HTTP 500', { status: 500 }, 3],
    ['FLT-05 HTTP 503', { status: 503 }, 3],
    ['FLT-05 HTTP 429', { status: 429 }, 3],
    ['FLT-04 HTTP 401 stops at once', { status: 401 }, 1],
    ['FLT-04 HTTP 403 stops at once', { status: 403 }, 1],
  ] as const)(
    '%s: bounded retries with backoff (retries: 2), LKG in force',
    async (_id, reply, requests) => {
      vi.useFakeTimers();
      const ep = endpoint(reply);
      const statuses: string[] = [];
      const r = remote({
        fetch: ep.fetch,
        initial: split(100),
        onStatus: (s) => statuses.push(s.state),
      });
      const c = initGray({ ...base, rules: r.rules });
      r.start(c);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(ep.requests).toHaveLength(requests);
      expect(c.getGrayVersion()).toBe('beta');
      expect(r.status()).toMatchObject({
        state: 'error',
        ...(requests === 1 ? { fatal: true } : {}),
      });
      // The next refresh tries again within the same bound; a fatal source stays stopped.
      const again = r.refresh();
      await vi.advanceTimersByTimeAsync(60_000);
      await again;
      expect(ep.requests).toHaveLength(requests === 1 ? 1 : 2 * requests);
      expect(statuses.every((s) => s === 'error')).toBe(true);
    },
  );

  it('a timeout counts as a failure (the request is aborted)', async () => {
    vi.useFakeTimers();
    const fetch = vi.fn(
      (_u: string, init: RequestInit) =>
        new Promise<Response>((_, reject) =>
          init.signal?.addEventListener('abort', () =>
            reject(new DOMException('aborted', 'AbortError')),
          ),
        ),
    );
    const r = remote({ fetch, initial: split(10), retries: 0, timeoutMs: 500 });
    r.start(initGray({ ...base, rules: r.rules }));
    await vi.advanceTimersByTimeAsync(600);
    expect(r.status()).toMatchObject({ state: 'error', lastError: 'timed out after 500 ms' });
  });

  it('single flight: concurrent refreshes make one request', async () => {
    const ep = endpoint({ status: 200, body: JSON.stringify(split(10)) });
    const r = remote({ fetch: ep.fetch });
    await Promise.all([r.refresh(), r.refresh(), r.refresh()]);
    expect(ep.requests).toHaveLength(1);
  });
});

describe('STK-03 sticky: a rules change never flips a visitor silently', () => {
  /** A visitor's page views: each one reads the cache the last one left, like reloads. */
  function pageView(doc: object, onReroll?: (e: RerollEvent) => void) {
    reload();
    const r = remote({ bootstrap: doc, onReroll, fetch: endpoint({ status: 304 }).fetch });
    const c = initGray({ ...base, rules: r.rules });
    r.start(c);
    return c;
  }

  it.each([
    ['a lowered weight keeps the visitor', split(10), undefined],
    ['weight 0 on the arm keeps the visitor', split(0), undefined],
    [
      'a new rule in front keeps the visitor',
      {
        ...split(100),
        rules: [
          { id: 'vip', match: { attrs: { userId: { equals: 'x' } } }, version: 'canary' },
          ...split(100).rules,
        ],
      },
      undefined,
    ],
    ['a new bucket salt re-rolls', split(100, 'ramp-2'), 'salt_changed'],
    ['the rule removed re-rolls', { ...split(100), rules: [] }, 'rule_removed'],
    ['the rule renamed re-rolls', split(100, 'ramp', 'ramp-v2'), 'rule_removed'],
    [
      'the rule disabled re-rolls',
      { ...split(100), rules: [{ ...split(100).rules[0], enabled: false }] },
      'rule_removed',
    ],
    [
      'the arm removed re-rolls',
      {
        ...split(100),
        rules: [{ ...split(100).rules[0], split: [{ version: 'canary', weight: 100 }] }],
      },
      'version_removed',
    ],
  ] as const)('%s', (_case, next, reason) => {
    const first = pageView(split(100));
    expect([first.getGrayVersion(), first.getGrayReason()]).toEqual(['beta', 'weight']);
    const events: RerollEvent[] = [];
    const again = pageView(next, (e) => events.push(e));
    if (reason === undefined) {
      expect([again.getGrayVersion(), again.getGrayReason()]).toEqual(['beta', 'cookie']);
      expect(events).toEqual([]);
    } else {
      expect(events).toEqual([
        { from: 'beta', to: again.getGrayVersion(), reason, ruleId: 'ramp' },
      ]);
      expect(again.getGrayReason()).not.toBe('cookie');
    }
  });

  it('a QA choice and a server hand-off are never re-rolled', () => {
    const first = pageView(split(100));
    first.setGrayVersion('canary');
    expect(pageView({ ...split(100), rules: [] }).getGrayVersion()).toBe('canary');
    document.head.innerHTML = '<meta name="graylane-version" content="beta">';
    const events: RerollEvent[] = [];
    expect(pageView({ ...split(100), rules: [] }, (e) => events.push(e)).getGrayReason()).toBe(
      'server',
    );
    expect(events).toEqual([]);
    document.head.innerHTML = '';
  });

  /** What a QA person (or the server) does in a page view, before or after `start`. */
  type Act = 'set:beta' | 'set:stable' | 'set:canary' | 'clear';
  interface Visit {
    readonly doc: object;
    readonly before?: readonly Act[];
    readonly after?: readonly Act[];
    /** The server hands this version over in the page (a `graylane-version` meta). */
    readonly meta?: string;
    /** The page's URL, e.g. with `?gray=beta` (the override is on and persisted here). */
    readonly url?: string;
  }
  const act = (c: GrayClient, a: Act): void =>
    void (a === 'clear' ? c.clearGrayVersion() : c.setGrayVersion(a.slice(4)));
  const R = split(100);
  const NONE = { ...split(100), rules: [] };
  const SALT = split(100, 'ramp-2');
  const ARM = {
    ...R,
    rules: [{ ...R.rules[0], split: [{ version: 'canary', weight: 100 }] }],
  };

  /**
   * A visitor's page views in a row; each ends the way a page ends (`pagehide`, or
   * `visibilitychange` to hidden when the tab goes to the background first) and stops its remote.
   * Returns the last page view's version, reason and re-rolls.
   */
  function visits(leave: 'pagehide' | 'visibilitychange', list: readonly Visit[]) {
    let last: { c: GrayClient; events: RerollEvent[] } | undefined;
    let stop = (): void => undefined;
    for (const v of list) {
      if (leave === 'pagehide') dispatchEvent(new Event('pagehide'));
      else document.dispatchEvent(new Event('visibilitychange'));
      stop();
      document.head.innerHTML = v.meta ? `<meta name="graylane-version" content="${v.meta}">` : '';
      reload(v.url ?? 'http://localhost:3000/');
      const events: RerollEvent[] = [];
      const r = remote({
        bootstrap: v.doc,
        onReroll: (e) => events.push(e),
        fetch: endpoint({ status: 304 }).fetch,
      });
      const c = initGray({ ...base, override: true, persistOverride: true, rules: r.rules });
      for (const a of v.before ?? []) act(c, a);
      stop = r.start(c);
      for (const a of v.after ?? []) act(c, a);
      last = { c, events };
    }
    stop();
    document.head.innerHTML = '';
    return last && [last.c.getGrayVersion(), last.c.getGrayReason(), last.events];
  }

  const kept = (v: string) => [v, 'cookie', []] as const;
  const rerolled = (from: string, reason: string) =>
    ['stable', 'default', [{ from, to: 'stable', reason, ruleId: 'ramp' }]] as const;
  const ROWS: ReadonlyArray<readonly [string, readonly Visit[], readonly unknown[]]> = [
    [
      'control: no choice, the rule removed re-rolls',
      [{ doc: R }, { doc: R }, { doc: NONE }],
      rerolled('beta', 'rule_removed'),
    ],
    [
      'control: no choice, a new salt re-rolls',
      [{ doc: R }, { doc: SALT }],
      // Re-rolled: bucketed afresh, and at 100 % the fresh roll is beta again.
      ['beta', 'weight', [{ from: 'beta', to: 'beta', reason: 'salt_changed', ruleId: 'ramp' }]],
    ],
    [
      'QA stable then beta after the rules gave beta, the rule removed',
      [{ doc: R, after: ['set:stable', 'set:beta'] }, { doc: NONE }, { doc: NONE }],
      kept('beta'),
    ],
    [
      'QA of the version the rules gave, after start, the rule removed',
      [{ doc: R, after: ['set:beta'] }, { doc: NONE }],
      kept('beta'),
    ],
    [
      'QA of the version the rules gave, before start, the rule removed',
      [{ doc: R, before: ['set:beta'] }, { doc: NONE }],
      kept('beta'),
    ],
    [
      'QA of the version the rules gave, a new salt',
      [{ doc: R, after: ['set:beta'] }, { doc: SALT }],
      kept('beta'),
    ],
    [
      'QA of the version the rules gave, the arm removed',
      [{ doc: R, after: ['set:beta'] }, { doc: ARM }],
      kept('beta'),
    ],
    [
      'QA of the version the rules gave in a later page view',
      [{ doc: R }, { doc: R }, { doc: R, after: ['set:beta'] }, { doc: NONE }],
      kept('beta'),
    ],
    [
      'QA of another version, the rule removed',
      [{ doc: R, after: ['set:stable'] }, { doc: NONE }],
      kept('stable'),
    ],
    [
      'QA of another version, back to the rules version a page view later',
      [{ doc: R, after: ['set:stable'] }, { doc: R, after: ['set:beta'] }, { doc: NONE }],
      kept('beta'),
    ],
    [
      'QA canary then beta across page views, a new salt',
      [{ doc: R, after: ['set:canary'] }, { doc: SALT, after: ['set:beta'] }, { doc: SALT }],
      kept('beta'),
    ],
    [
      'QA before any rules, then the rules arrive and leave',
      [{ doc: NONE, after: ['set:beta'] }, { doc: R }, { doc: NONE }],
      kept('beta'),
    ],
    [
      'QA, then clear: the rules version again, which the policy re-rolls',
      [{ doc: R, after: ['set:stable', 'clear'] }, { doc: NONE }],
      rerolled('beta', 'rule_removed'),
    ],
    [
      'QA of the rules version, clear, then the same choice again',
      [{ doc: R, after: ['set:beta', 'clear', 'set:beta'] }, { doc: NONE }],
      kept('beta'),
    ],
    [
      'clear in a later page view gives the choice back to the rules',
      [{ doc: R, after: ['set:beta'] }, { doc: R, after: ['clear'] }, { doc: NONE }],
      rerolled('beta', 'rule_removed'),
    ],
    [
      // A hand-off rules its page view and is never stored: the cookie is still the rules'.
      'a server hand-off in between leaves the rules version to the policy',
      [{ doc: R }, { doc: R, meta: 'stable' }, { doc: NONE }],
      rerolled('beta', 'rule_removed'),
    ],
    [
      'a server hand-off of another version, then the rule removed',
      [{ doc: R }, { doc: NONE, meta: 'stable' }, { doc: NONE, meta: 'stable' }],
      ['stable', 'server', []],
    ],
    [
      'a persisted ?gray= override of the rules version',
      [{ doc: R }, { doc: R, url: 'http://localhost:3000/?gray=beta' }, { doc: NONE }],
      kept('beta'),
    ],
  ];
  it.each(
    ROWS.flatMap(([name, list, want]) =>
      (['pagehide', 'visibilitychange'] as const).map(
        (leave) => [name, leave, list, want] as const,
      ),
    ),
  )(
    'STK-03 %s (page left by %s): QA choices and hand-offs are never re-rolled',
    (_case, leave, list, want) => {
      expect(visits(leave, list)).toEqual(want);
    },
  );

  it('a new document during the page view never changes the version on screen', async () => {
    const ep = endpoint({ status: 200, body: JSON.stringify(split(100, 'other')) });
    reload();
    const r = remote({ bootstrap: split(100), fetch: ep.fetch });
    const c = initGray({ ...base, rules: r.rules });
    const seen: string[] = [];
    c.subscribe((v) => seen.push(v));
    r.start(c);
    await r.refresh();
    expect(r.config()?.rules[0]).toMatchObject({ salt: 'other' });
    expect([c.getGrayVersion(), seen]).toEqual(['beta', []]);
  });
});

describe('SSR', () => {
  it('started with an inert (SSR) client: no throw, nothing re-rolled', () => {
    const ep = endpoint({ status: 200, body: '{}' });
    const r = remote({ fetch: ep.fetch, initial: split(100) });
    const stop = r.start({
      getGrayVersion: () => 'stable',
      getGrayReason: () => 'default',
      subscribe: () => () => undefined,
    } as never);
    expect(typeof stop).toBe('function');
  });
});
