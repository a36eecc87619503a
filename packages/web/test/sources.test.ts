import { createConfigStore, type SourceClock, type TimerHandle } from '@graylane/core';
import { createHttpRules, createKvRules, type KeyValueLike } from '@graylane/web';
import { describe, expect, it } from 'vitest';

const DOC = (version: string) =>
  JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id: 'all', version }],
  });
const store = () =>
  createConfigStore({ initial: { versions: ['stable', 'beta'], default: 'stable' } });
const quiet = { warn: () => undefined, error: () => undefined };

/** A clock the test moves by hand; timers fire when their time is passed. */
function manualClock(): SourceClock & { advance(ms: number): void } {
  let now = 1_800_000_000_000;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let id = 0;
  return {
    now: () => now,
    wallNow: () => now,
    setTimeout(fn, ms) {
      timers.set(++id, { at: now + ms, fn });
      return id as unknown as TimerHandle;
    },
    clearTimeout(handle) {
      timers.delete(handle as unknown as number);
    },
    advance(ms) {
      now += ms;
      for (const [key, t] of [...timers]) {
        if (t.at <= now) {
          timers.delete(key);
          t.fn();
        }
      }
    },
  };
}

function kv(values: Map<string, unknown>): KeyValueLike & { reads: number } {
  const binding = {
    reads: 0,
    get(key: string) {
      binding.reads++;
      return Promise.resolve(values.get(key) ?? null);
    },
  };
  return binding;
}

/** The version the store's only rule sends everyone to. */
function target(s: ReturnType<typeof store>): string | undefined {
  const rule = s.get().config.rules[0];
  return rule?.kind === 'version' ? rule.version : undefined;
}

describe('edge rules: KV binding', () => {
  it('I5 validate then swap; a bad document or a missing key keeps the last good config', async () => {
    const values = new Map<string, unknown>([['graylane', DOC('beta')]]);
    const s = store();
    const source = createKvRules({
      binding: kv(values),
      key: 'graylane',
      minIntervalMs: 0,
      logger: quiet,
    });
    await source.refresh(s);
    expect(s.get()).toMatchObject({ version: 2, source: 'kv' });
    expect(source.status().state).toBe('ready');
    for (const bad of [
      '{"versions":[]}',
      '{',
      '{"__proto__":{"x":1},"versions":["stable"],"default":"stable"}',
      undefined,
    ]) {
      if (bad === undefined) values.delete('graylane');
      else values.set('graylane', bad);
      await source.refresh(s);
      expect(s.get().version).toBe(2);
      expect(source.status()).toMatchObject({ state: 'stale' });
    }
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it('I6 an identical document (reformatted, or an Edge Config object) does not bump the version', async () => {
    const values = new Map<string, unknown>([['graylane', DOC('beta')]]);
    const s = store();
    const source = createKvRules({ binding: kv(values), key: 'graylane', minIntervalMs: 0 });
    await source.refresh(s);
    values.set('graylane', `\n  ${DOC('beta')}  \n`);
    await source.refresh(s);
    values.set('graylane', JSON.parse(DOC('beta')));
    await source.refresh(s);
    expect(s.get().version).toBe(2);
  });

  it.each([
    ['a second KV source with the default name on a shared store', 'kv', 'kv'],
    ['an HTTP source re-created on the same store (a redeploy, HMR)', 'http', 'http'],
    ['a KV and an HTTP source on one store', 'kv', 'http'],
  ] as const)('SRC-03 %s: every new document applies', async (_label, a, b) => {
    const s = store();
    const make = (kind: 'kv' | 'http', doc: string) =>
      kind === 'kv'
        ? createKvRules({
            binding: kv(new Map([['graylane', doc]])),
            key: 'graylane',
            minIntervalMs: 0,
          })
        : createHttpRules({
            url: 'https://config.internal/graylane.json',
            minIntervalMs: 0,
            fetch: () =>
              Promise.resolve(new Response(doc, { headers: { etag: `"${doc.length}"` } })),
          });
    // The first source applies a few documents (its own count of reads grows).
    const first = make(a, DOC('beta'));
    for (let i = 0; i < 3; i++) await first.refresh(s);
    expect(target(s)).toBe('beta');
    // A new source on the same store must not look older than the first one's reads.
    const second = make(b, DOC('stable'));
    await second.refresh(s);
    expect(second.status().state).toBe('ready');
    expect(target(s)).toBe('stable');
  });

  it('refreshes at most every minIntervalMs, once at a time (single-flight)', async () => {
    const clock = manualClock();
    const binding = kv(new Map([['graylane', DOC('beta')]]));
    const s = store();
    const source = createKvRules({ binding, key: 'graylane', minIntervalMs: 30_000, clock });
    const first = source.refreshIfDue(s);
    expect(first).toBeDefined();
    expect(source.refreshIfDue(s)).toBeUndefined();
    await first;
    expect(source.refreshIfDue(s)).toBeUndefined();
    clock.advance(29_999);
    expect(source.refreshIfDue(s)).toBeUndefined();
    clock.advance(1);
    await source.refreshIfDue(s);
    expect(binding.reads).toBe(2);
  });

  // A request's due refresh may be reading when the rules change and `refresh()` is called:
  // the explicit refresh must not join that read (which began before the write), and reads
  // stay one at a time.
  describe('refresh() after a write reads again, even with a read in flight', () => {
    /** A binding whose reads wait until released, so a read can be held in flight. */
    function heldKv(values: Map<string, unknown>) {
      const waiting: (() => void)[] = [];
      let inFlight = 0;
      let maxInFlight = 0;
      const binding = {
        reads: 0,
        async get(key: string) {
          binding.reads++;
          const value = values.get(key) ?? null;
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise<void>((release) => waiting.push(release));
          inFlight--;
          return value;
        },
      };
      const releaseAll = async () => {
        // Releases reads as they arrive until none is left waiting.
        for (let i = 0; i < 20; i++) {
          await new Promise((r) => setImmediate(r));
          waiting.splice(0).forEach((release) => release());
        }
      };
      return { binding, releaseAll, maxInFlight: () => maxInFlight };
    }
    type Start = 'a due refresh (refreshIfDue)' | 'an earlier refresh()';
    const STARTS: Start[] = ['a due refresh (refreshIfDue)', 'an earlier refresh()'];
    const AFTER = [
      ['a good document', DOC('stable'), 'stable', 'ready'],
      ['a rejected document', '{"versions": ["stable"], "default": "beta"}', 'beta', 'stale'],
      ['a missing key', undefined, 'beta', 'stale'],
    ] as const;
    describe.each(STARTS)('a read begun by %s', (start) => {
      it.each(AFTER)(
        'then %s is written: refresh() serves it',
        async (_what, written, expected, state) => {
          const values = new Map<string, unknown>([['graylane', DOC('beta')]]);
          const held = heldKv(values);
          const s = store();
          const source = createKvRules({
            binding: held.binding,
            key: 'graylane',
            minIntervalMs: 0,
            logger: quiet,
          });
          const first =
            start === 'an earlier refresh()' ? source.refresh(s) : source.refreshIfDue(s);
          expect(first).toBeDefined();
          // The first read took its value (beta) before this write.
          if (written === undefined) values.delete('graylane');
          else values.set('graylane', written);
          const explicit = [source.refresh(s), source.refresh(s)];
          // A request meanwhile does not start a third read.
          expect(source.refreshIfDue(s)).toBeUndefined();
          await held.releaseAll();
          await Promise.all([first, ...explicit]);
          expect(target(s)).toBe(expected);
          expect(source.status().state).toBe(state);
          // One read for the first refresh, one shared by both explicit ones, never two at once.
          expect(held.binding.reads).toBe(2);
          expect(held.maxInFlight()).toBe(1);
        },
      );
    });
  });

  it('FLT-03 failures back off (1 s doubling, ±20 %) before the next attempt', async () => {
    const clock = manualClock();
    const binding = kv(new Map());
    const s = store();
    const source = createKvRules({
      binding,
      key: 'graylane',
      minIntervalMs: 0,
      clock,
      logger: quiet,
    });
    const waits: number[] = [];
    await source.refreshIfDue(s);
    for (let i = 0; i < 5; i++) {
      let waited = 0;
      let next = source.refreshIfDue(s);
      while (next === undefined && waited < 120_000) {
        clock.advance(50);
        waited += 50;
        next = source.refreshIfDue(s);
      }
      await next;
      waits.push(waited);
    }
    expect(waits[0]).toBeGreaterThanOrEqual(800);
    expect(waits[0]).toBeLessThanOrEqual(1_250);
    for (let i = 1; i < waits.length; i++)
      expect(waits[i]).toBeGreaterThan((waits[i - 1] as number) * 1.2);
    expect(source.status().state).toBe('error');
  });
});

describe('edge rules: HTTP endpoint', () => {
  const respond = (status: number, body = '', headers: Record<string, string> = {}) =>
    new Response(status === 304 ? null : body, { status, headers });

  it('SRC-05 ETag revalidation: If-None-Match is sent, 304 keeps the config and counts as a success', async () => {
    const sent: (string | null)[] = [];
    const answers = [respond(200, DOC('beta'), { etag: '"a"' }), respond(304)];
    const source = createHttpRules({
      url: 'http://rules.test/graylane.json',
      minIntervalMs: 0,
      fetch: async (_url, init) => {
        sent.push(new Headers(init.headers).get('if-none-match'));
        return answers.shift() as Response;
      },
    });
    const s = store();
    await source.refresh(s);
    await source.refresh(s);
    expect(sent).toEqual([null, '"a"']);
    expect(s.get().version).toBe(2);
    expect(source.status().state).toBe('ready');
  });

  // A CDN with replicas out of step answers different documents, or the same one under
  // different ETags, from one poll to the next. Only real content changes may swap (I6);
  // a bad answer in between never replaces the good one (I5); status follows the last read.
  it.each([
    ['the same content under alternating ETags', ['A@a', 'A@b', 'A@a', 'A@b'], 2, 'ready'],
    ['reformatted copies of one document', ['A@a', 'A2@b', 'A@c'], 2, 'ready'],
    ['a bad document between two good ones', ['A@a', 'BAD@b', 'A@a'], 2, 'ready'],
    ['a bad document last', ['A@a', 'BAD@b'], 2, 'stale'],
    ['an empty 200 between two good ones', ['A@a', 'EMPTY@b', 'A@c'], 2, 'ready'],
    ['two documents flip-flopping (each a real change)', ['A@a', 'B@b', 'A@a', 'B@b'], 5, 'ready'],
  ] as const)('I6 flip-flopping answers: %s', async (_label, answers, version, state) => {
    const bodies: Record<string, string> = {
      A: DOC('beta'),
      A2: JSON.stringify(JSON.parse(DOC('beta')), null, 2),
      B: DOC('stable'),
      BAD: '{"versions":["stable"],"default":"beta"}',
      EMPTY: '',
    };
    const queue = [...answers];
    const source = createHttpRules({
      url: 'http://rules.test/graylane.json',
      minIntervalMs: 0,
      logger: quiet,
      fetch: async () => {
        const [body, etag] = (queue.shift() ?? '').split('@') as [string, string];
        return respond(200, bodies[body], { etag: `"${etag}"` });
      },
    });
    const s = store();
    const changes: number[] = [];
    s.subscribe((e) => e.type === 'change' && changes.push(e.snapshot.version));
    for (let i = 0; i < answers.length; i++) await source.refresh(s);
    expect(s.get().version).toBe(version);
    expect(changes).toEqual(Array.from({ length: version - 1 }, (_, i) => i + 2));
    expect(source.status().state).toBe(state);
  });

  /** An HTTP source on a manual clock whose every read answers `answer()`. */
  const answering = (answer: () => Response) => {
    const clock = manualClock();
    const calls = { n: 0 };
    const source = createHttpRules({
      url: 'http://rules.test/',
      minIntervalMs: 0,
      clock,
      logger: quiet,
      fetch: async () => (calls.n++, answer()),
    });
    return { clock, calls, source };
  };

  it.each([401, 403])('FLT-04 %i stops the source for good; the config stays', async (status) => {
    const { clock, calls, source } = answering(() => respond(status));
    const s = store();
    await source.refresh(s);
    clock.advance(3_600_000);
    expect(source.refreshIfDue(s)).toBeUndefined();
    expect(calls.n).toBe(1);
    expect(source.status()).toMatchObject({ state: 'error', fatal: true });
  });

  it.each([
    [429, '30', 30_000],
    [503, '3600', 60_000],
  ])(
    'FLT-05 %i with Retry-After %s s waits that long, capped at the 60 s backoff cap',
    async (status, after, wait) => {
      const { clock, source } = answering(() => respond(status, '', { 'retry-after': after }));
      const s = store();
      await source.refresh(s);
      clock.advance(wait - 1_000);
      expect(source.refreshIfDue(s)).toBeUndefined();
      clock.advance(1_000);
      expect(source.refreshIfDue(s)).toBeDefined();
    },
  );

  // The document's bytes, as Node's HTTP source reads them: a UTF-8 BOM is accepted, bytes
  // that are not UTF-8 refuse the whole document (never U+FFFD smuggled into a rule value).
  const utf8 = (text: string) => new TextEncoder().encode(text);
  const withBytes = (...parts: (Uint8Array | number[])[]) =>
    Uint8Array.from(parts.flatMap((p) => [...p]));
  const doc = JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id: 'all', match: { header: { 'x-team': { equals: 'é' } } }, version: 'beta' }],
  });
  const [head, tail] = doc.split('é') as [string, string];
  it.each([
    ['a UTF-8 BOM', withBytes([0xef, 0xbb, 0xbf], utf8(doc)), 2],
    ['plain UTF-8', utf8(doc), 2],
    ['a Latin-1 byte inside a value', withBytes(utf8(head), [0xe9], utf8(tail)), 1],
    ['a truncated UTF-8 sequence', withBytes(utf8(head), [0xc3], utf8(tail)), 1],
    ['a lone continuation byte', withBytes(utf8(head), [0x80], utf8(tail)), 1],
  ] as const)('SRC-05 a body with %s', async (_label, bytes, version) => {
    const source = createHttpRules({
      url: 'http://rules.test/',
      minIntervalMs: 0,
      logger: quiet,
      fetch: async () => new Response(bytes),
    });
    const s = store();
    await source.refresh(s);
    expect(s.get().version).toBe(version);
    // Nothing good was ever read from this source: `error` (with the reason), not `stale`.
    expect(source.status()).toMatchObject(
      version === 2 ? { state: 'ready' } : { state: 'error', lastError: 'document is not UTF-8' },
    );
  });

  it('CFG-07 a body over 1 MiB is refused (declared or streamed), the config stays', async () => {
    const big = 'x'.repeat(1024 * 1024 + 1);
    for (const res of [
      () => respond(200, big),
      () =>
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode(big));
              c.close();
            },
          }),
        ),
    ]) {
      const source = createHttpRules({
        url: 'http://rules.test/',
        minIntervalMs: 0,
        logger: quiet,
        fetch: async () => res(),
      });
      const s = store();
      await source.refresh(s);
      expect(s.get().version).toBe(1);
      expect(source.status().lastError).toMatch(/larger than/);
    }
  });

  it('FLT-01 a read that hangs is abandoned after timeoutMs; requests never wait on it', async () => {
    const source = createHttpRules({
      url: 'http://rules.test/',
      minIntervalMs: 0,
      timeoutMs: 50,
      logger: quiet,
      fetch: (_url, init) =>
        new Promise((_resolve, reject) =>
          init.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
        ),
    });
    const s = store();
    const started = Date.now();
    await source.refresh(s);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(source.status()).toMatchObject({ state: 'error' });
    expect(source.status().lastError).toMatch(/timed out|aborted/);
  });
});

describe('SRC-05 / MISC-03 the HTTP source never shows its URL’s secrets, never claims what it did not load', () => {
  const respond = (status: number, body = '', headers: Record<string, string> = {}) =>
    new Response(status === 304 ? null : body, { status, headers });

  it('SRC-05 a 304 to the first poll (nothing loaded, no ETag sent) is not ready; a later 200 is', async () => {
    const answers = [respond(304), respond(200, DOC('beta'), { etag: '"a"' })];
    const source = createHttpRules({
      url: 'http://rules.test/graylane.json',
      minIntervalMs: 0,
      logger: quiet,
      fetch: async () => answers.shift() as Response,
    });
    const s = store();
    await source.refresh(s);
    expect(source.status()).toMatchObject({ state: 'error' });
    expect(source.status().lastError).toMatch(/304/);
    expect(s.get().version).toBe(1);
    await source.refresh(s);
    expect(source.status().state).toBe('ready');
    expect(s.get().version).toBe(2);
  });

  const URLS = [
    'https://ops:PASSWORD99@rules.test/cfg.json',
    'https://ops:PASS%2FWORD@rules.test/cfg.json',
    'https://rules.test/cfg.json?X-Amz-Signature=PRESIGNEDSECRET&X-Amz-Credential=AKIAEXAMPLE',
    'https://ops:PASSWORD99@rules.test/cfg.json?token=PRESIGNEDSECRET',
  ];
  const FAILURES: [string, (url: string) => Promise<Response>][] = [
    ['401', async () => respond(401)],
    ['403', async () => respond(403)],
    ['500', async () => respond(500)],
    ['429', async () => respond(429, '', { 'retry-after': '1' })],
    [
      'a fetch that throws quoting the URL',
      async (url) => {
        throw new TypeError(
          `Request cannot be constructed from a URL that includes credentials: ${url}`,
        );
      },
    ],
    [
      'a fetch that rejects with the URL in a cause',
      async (url) => Promise.reject(new Error(`connect ECONNREFUSED for ${url}`)),
    ],
  ];
  const SECRETS = [
    'PASSWORD99',
    'PASS%2FWORD',
    'PASS/WORD',
    'PRESIGNEDSECRET',
    'AKIAEXAMPLE',
    'ops:',
  ];

  it.each(URLS.flatMap((u) => FAILURES.map(([f, fetch]) => [u, f, fetch] as const)))(
    'MISC-03 %s, %s: status and logs carry no secret',
    async (url, _f, fetch) => {
      const lines: string[] = [];
      const logger = {
        warn: (m: string) => void lines.push(m),
        error: (m: string, e?: unknown) => void lines.push(m, String(e)),
      };
      const source = createHttpRules({ url, minIntervalMs: 0, logger, fetch: (u) => fetch(u) });
      await source.refresh(store());
      const shown = [JSON.stringify(source.status()), ...lines].join('\n');
      expect(source.status().state).not.toBe('ready');
      for (const secret of SECRETS) expect(shown, secret).not.toContain(secret);
      // Where the message names the URL, it names it without the secrets.
      if (shown.includes('rules.test')) expect(shown).toContain('https://rules.test/cfg.json');
    },
  );
});
