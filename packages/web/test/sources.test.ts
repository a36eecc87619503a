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
    expect(s.get().config.rules[0]?.version).toBe('beta');
    // A new source on the same store must not look older than the first one's reads.
    const second = make(b, DOC('stable'));
    await second.refresh(s);
    expect(second.status().state).toBe('ready');
    expect(s.get().config.rules[0]?.version).toBe('stable');
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
