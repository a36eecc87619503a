import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReloadResult, SourceClock, TimerHandle } from '@graylane/core';
import { createGraylane, createHttpRules, type WebCounters } from '@graylane/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Review 58 (SRC-05), the Web engine's HTTP rules source as @graylane/node's: a 206 to a request
 * sent without `Range` was adopted as the whole document, and so was any other 2xx (226 a delta,
 * 207, 299). Only 200 and 203 carry the document; any other 2xx is counted `failed` like a 500,
 * and the last good config keeps deciding. Real HTTP server on 127.0.0.1. Rows named `(control)`
 * held before.
 */
const DOC = (version: string): string =>
  JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id: 'all', version }],
  });
const quiet = { warn: () => undefined, error: () => undefined };

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

interface Answer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}
let answers: Answer[] = [];
const ranges: (string | undefined)[] = [];
let server: http.Server;
let base = '';
beforeAll(async () => {
  server = http.createServer((req, res) => {
    ranges.push(req.headers['range']);
    const a = answers.shift() ?? { status: 500 };
    res.writeHead(a.status, a.headers ?? {}).end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** One request through the engine (which refreshes its rules first): the version it decided. */
async function decided(
  gray: ReturnType<typeof createGraylane>,
  clock: { advance(ms: number): void },
): Promise<string> {
  clock.advance(600_000);
  const pending: Promise<unknown>[] = [];
  await gray.handle(new Request('http://app.test/'), () => new Response('ok'), {
    waitUntil: (p) => void pending.push(p),
  });
  await Promise.all(pending);
  const res = await gray.handle(
    new Request('http://app.test/'),
    (_req, { decision }) => new Response(decision.version),
  );
  return res.text();
}

const whole = Buffer.byteLength(DOC('stable'));
const BAD: [string, Answer][] = [
  [
    '206 with the whole document and a Content-Range for all of it',
    {
      status: 206,
      headers: { 'content-range': `bytes 0-${whole - 1}/${whole}` },
      body: DOC('stable'),
    },
  ],
  ['206 with the whole document, no Content-Range', { status: 206, body: DOC('stable') }],
  [
    '206 with the first 20 bytes',
    {
      status: 206,
      headers: { 'content-range': `bytes 0-19/${whole}` },
      body: DOC('stable').slice(0, 20),
    },
  ],
  ['226 IM Used with the document', { status: 226, body: DOC('stable') }],
  ['207 Multi-Status with the document', { status: 207, body: DOC('stable') }],
  ['299 with the document', { status: 299, body: DOC('stable') }],
  ['204 No Content', { status: 204 }],
  ['205 Reset Content', { status: 205 }],
];

describe('SRC-05: createHttpRules takes only 200 and 203 as the document (review 58)', () => {
  it.each([...BAD, ['(control) 500', { status: 500 }] as [string, Answer]])(
    'a document, then %s: counted failed, the last good config keeps deciding',
    async (_name, bad) => {
      answers = [{ status: 200, body: DOC('beta') }, bad];
      ranges.length = 0;
      const clock = manualClock();
      const calls: ReloadResult[] = [];
      const counters: WebCounters = {
        decision: () => undefined,
        invalidMarker: () => undefined,
        reload: (_source, result) => void calls.push(result),
      };
      const gray = createGraylane({
        config: { versions: ['stable', 'beta'], default: 'stable' },
        rules: createHttpRules({ url: `${base}/rules.json`, clock, logger: quiet, name: 'cdn' }),
        counters,
      });
      expect(await decided(gray, clock)).toBe('beta');
      expect(await decided(gray, clock)).toBe('beta');
      expect(calls).toEqual(['changed', 'failed']);
      expect(ranges).toEqual([undefined, undefined]);
    },
  );

  it.each([
    ['(control) 200', 200],
    ['(control) 203', 203],
  ])('%s loads the document', async (_name, status) => {
    answers = [{ status, body: DOC('beta') }];
    const clock = manualClock();
    const gray = createGraylane({
      config: { versions: ['stable', 'beta'], default: 'stable' },
      rules: createHttpRules({ url: `${base}/rules.json`, clock, logger: quiet }),
    });
    expect(await decided(gray, clock)).toBe('beta');
  });
});
