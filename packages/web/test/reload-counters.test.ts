import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReloadResult, SourceClock, TimerHandle } from '@graylane/core';
import { createGraylane, createHttpRules, createKvRules, type WebCounters } from '@graylane/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The Web engine counts each refresh of its `rules` source by result, as Node's sources count
 * `graylane.config.reloads`: the store's answer to a document (`changed`, `unchanged`,
 * `rejected`…), `failed` for a read that brought none; a `304` brings nothing to count. The
 * `counters.reload` hook gets each one, `stats().reloads` adds them up.
 */

const DOC = (version: string) =>
  JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id: 'all', version }],
  });
const quiet = { warn: () => undefined, error: () => undefined };

/** A clock the test moves: every request after `advance` finds the source due. */
function manualClock(): SourceClock & { advance(ms: number): void } {
  let now = 1_800_000_000_000;
  return {
    now: () => now,
    wallNow: () => now,
    setTimeout: () => 0 as unknown as TimerHandle,
    clearTimeout: () => undefined,
    advance(ms) {
      now += ms;
    },
  };
}

type Answer = { status: number; body?: string; etag?: string } | 'hang-up';
let answers: Answer[] = [];
let server: http.Server;
let base = '';
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const a = answers.shift() ?? { status: 500 };
    if (a === 'hang-up') {
      req.socket.destroy();
      return;
    }
    if (a.status === 304 && req.headers['if-none-match'] === undefined) {
      res.writeHead(500).end();
      return;
    }
    res
      .writeHead(a.status, a.etag ? { etag: a.etag } : {})
      .end(a.status === 304 ? undefined : (a.body ?? ''));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Sends one request through `gray.handle`, then waits for the refresh it started. */
async function request(
  gray: ReturnType<typeof createGraylane>,
  clock: { advance(ms: number): void },
) {
  clock.advance(600_000); // past any interval or backoff
  const pending: Promise<unknown>[] = [];
  const res = await gray.handle(new Request('http://app.test/'), () => new Response('ok'), {
    waitUntil: (p) => void pending.push(p),
  });
  expect(await res.text()).toBe('ok');
  await Promise.all(pending);
}

function engine(rules: Parameters<typeof createGraylane>[0]['rules'], hook?: Partial<WebCounters>) {
  const calls: [string, ReloadResult][] = [];
  const counters: WebCounters = {
    decision: () => undefined,
    invalidMarker: () => undefined,
    reload: (source, result) => {
      calls.push([source, result]);
      hook?.reload?.(source, result);
    },
  };
  const gray = createGraylane({
    config: { versions: ['stable', 'beta'], default: 'stable' },
    rules,
    counters,
  });
  return { gray, calls };
}

const tally = (calls: readonly [string, ReloadResult][]) => {
  const out: Record<string, number> = {};
  for (const [source, result] of calls)
    out[`${source}:${result}`] = (out[`${source}:${result}`] ?? 0) + 1;
  return out;
};

describe('Web engine: every refresh of the rules source is counted by result', () => {
  it.each<[string, Answer[], ReloadResult[]]>([
    ['a first document', [{ status: 200, body: DOC('beta'), etag: '"a"' }], ['changed']],
    [
      'the same document again under a new ETag',
      [
        { status: 200, body: DOC('beta'), etag: '"a"' },
        { status: 200, body: DOC('beta'), etag: '"b"' },
      ],
      ['changed', 'unchanged'],
    ],
    [
      'a 304 to its If-None-Match (nothing to count)',
      [{ status: 200, body: DOC('beta'), etag: '"a"' }, { status: 304 }],
      ['changed'],
    ],
    [
      'an invalid document',
      [{ status: 200, body: '{"versions":["stable"],"default":"beta"}' }],
      ['rejected'],
    ],
    // The store parses what a read brought (Node's sources count these the same way).
    ['a truncated JSON body', [{ status: 200, body: '{"versions":["sta' }], ['rejected']],
    ['an empty 200', [{ status: 200, body: '' }], ['rejected']],
    ['HTTP 500', [{ status: 500 }], ['failed']],
    [
      'HTTP 503, then a document',
      [{ status: 503 }, { status: 200, body: DOC('beta') }],
      ['failed', 'changed'],
    ],
    ['HTTP 404', [{ status: 404 }], ['failed']],
    [
      'HTTP 401 (fatal: the source stops)',
      [{ status: 401 }, { status: 200, body: DOC('beta') }],
      ['failed'],
    ],
    ['the connection dropped', ['hang-up'], ['failed']],
    [
      'a document, a bad one, the first again',
      [
        { status: 200, body: DOC('beta'), etag: '"a"' },
        { status: 200, body: '[]' },
        { status: 200, body: DOC('beta'), etag: '"a"' },
      ],
      ['changed', 'rejected', 'unchanged'],
    ],
  ])('%s', async (_name, script, expected) => {
    answers = [...script];
    const clock = manualClock();
    const { gray, calls } = engine(
      createHttpRules({ url: `${base}/rules.json`, clock, logger: quiet, name: 'cdn' }),
    );
    for (let i = 0; i < script.length; i++) await request(gray, clock);
    expect(calls.map(([, r]) => r)).toEqual(expected);
    expect(calls.every(([s]) => s === 'cdn')).toBe(true);
    // stats() adds up what the hook was told.
    const stats = Object.fromEntries(
      gray.stats().reloads.map((r) => [`${r.source}:${r.result}`, r.count]),
    );
    expect(stats).toEqual(tally(calls));
  });

  // Review 155 D1: `gray.refresh()` (the warm-up web.md recommends) handed the source the raw store.
  it.each<[string, ('refresh' | 'request')[], Answer[], ReloadResult[]]>([
    [
      'a warm-up refresh() that loads a document',
      ['refresh'],
      [{ status: 200, body: DOC('beta') }],
      ['changed'],
    ],
    ['a warm-up refresh() that fails', ['refresh'], [{ status: 500 }], ['failed']],
    [
      'refresh(), then a request',
      ['refresh', 'request'],
      [
        { status: 200, body: DOC('beta'), etag: '"a"' },
        { status: 200, body: DOC('stable') },
      ],
      ['changed', 'changed'],
    ],
    [
      'a request, then refresh()',
      ['request', 'refresh'],
      [{ status: 503 }, { status: 200, body: '[]' }],
      ['failed', 'rejected'],
    ],
  ])('%s', async (_name, steps, script, expected) => {
    answers = [...script];
    const clock = manualClock();
    const { gray, calls } = engine(
      createHttpRules({ url: `${base}/rules.json`, clock, logger: quiet, name: 'cdn' }),
    );
    for (const step of steps) {
      if (step === 'request') await request(gray, clock);
      else {
        clock.advance(600_000);
        await gray.refresh();
      }
    }
    expect(calls).toEqual(expected.map((r) => ['cdn', r]));
    expect(gray.stats().reloads.reduce((n, r) => n + r.count, 0)).toBe(expected.length);
  });

  it('a refused connection (nothing listening) is failed', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const clock = manualClock();
    const { gray, calls } = engine(
      createHttpRules({ url: `http://127.0.0.1:${port}/r.json`, clock, logger: quiet }),
    );
    await request(gray, clock);
    await request(gray, clock);
    expect(calls.map(([, r]) => r)).toEqual(['failed', 'failed']);
  });

  it.each<[string, unknown[], ReloadResult[]]>([
    ['a KV document, then the same', [DOC('beta'), DOC('beta')], ['changed', 'unchanged']],
    ['a KV key missing', [null], ['failed']],
    ['a KV value that is not a document', ['not json'], ['rejected']],
    ['a KV document the store refuses', ['{"versions":[],"default":"x"}'], ['rejected']],
  ])('%s', async (_name, values, expected) => {
    const queue = [...values];
    const clock = manualClock();
    const { gray, calls } = engine(
      createKvRules({
        binding: { get: () => Promise.resolve(queue.shift() ?? null) },
        key: 'rules',
        clock,
        logger: quiet,
        minIntervalMs: 0,
      }),
    );
    for (let i = 0; i < values.length; i++) await request(gray, clock);
    expect(calls.map(([, r]) => r)).toEqual(expected);
  });

  it('a hook that throws never fails a reload or a request: the document still applies', async () => {
    answers = [{ status: 200, body: DOC('beta') }];
    const clock = manualClock();
    const { gray, calls } = engine(
      createHttpRules({ url: `${base}/r.json`, clock, logger: quiet }),
      {
        reload: () => {
          throw new Error('metrics SDK bug');
        },
      },
    );
    await request(gray, clock);
    expect(calls.map(([, r]) => r)).toEqual(['changed']);
    expect(gray.store.get().config.rules).toHaveLength(1);
    expect(gray.stats().reloads).toEqual([{ source: 'http', result: 'changed', count: 1 }]);
  });

  it('(control) without a rules source nothing is counted, and stats() says so', async () => {
    const clock = manualClock();
    const { gray, calls } = engine(undefined);
    await request(gray, clock);
    expect(calls).toEqual([]);
    expect(gray.stats().reloads).toEqual([]);
  });
});
