import { createHash } from 'node:crypto';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createConfigStore, type ConfigStore, type RuleSource } from '@graylane/core';
import { createHttpSource, startSources } from '@graylane/node/sources';
import { closeAll, listen, sleep, waitFor } from './helpers.js';

/**
 * SRC-05 (an HTTP 304 to the first poll; a UTF-8 BOM) and SRC-03 (HTTP sources are guarded per
 * instance, not by a shared name) against real HTTP servers on loopback, through the built
 * `@graylane/node/sources`.
 */
const quiet = { warn: () => undefined, error: () => undefined };
const doc = (id: string): string =>
  JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id, version: 'beta' }],
  });
const ruleOf = (store: ConfigStore): string | undefined => store.get().config.rules[0]?.id;
const newStore = (): ConfigStore => createConfigStore({ initial: doc('embedded') });
const FAST = { initialMs: 20, maxMs: 40, jitter: 0 };

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  await closeAll();
});

/** A server whose n-th answer (0-based) is `answer(n, req)`; it records the requests. */
async function scripted(
  answer: (n: number, req: http.IncomingMessage, res: http.ServerResponse) => void,
) {
  const seen: { ifNoneMatch: string | undefined }[] = [];
  const { url } = await listen(
    http.createServer((req, res) => {
      seen.push({ ifNoneMatch: req.headers['if-none-match'] });
      answer(seen.length - 1, req, res);
    }),
  );
  return { url: `${url}/graylane.json`, seen };
}

function source(url: string, name?: string): RuleSource {
  const s = createHttpSource({
    url,
    logger: quiet,
    intervalMs: 20,
    backoff: FAST,
    ...(name ? { name } : {}),
  });
  stops.push(() => s.stop());
  return s;
}

const NOT_MODIFIED: readonly [string, Record<string, string>][] = [
  ['with a strong ETag', { etag: '"v1"' }],
  ['with a weak ETag', { etag: 'W/"v1"' }],
  ['without an ETag', {}],
  ['with Last-Modified only', { 'last-modified': 'Tue, 01 Dec 2026 00:00:00 GMT' }],
  [
    'with Cache-Control from a shared cache',
    { 'cache-control': 'max-age=60', age: '30', etag: '"cached"' },
  ],
];

describe('SRC-05 an HTTP 304 to the first poll', () => {
  it.each(NOT_MODIFIED)(
    'SRC-05 an endpoint that answers 304 %s before any document was loaded: never ready, nothing loaded, degraded, retried',
    async (_name, headers) => {
      const server = await scripted((_n, _req, res) => res.writeHead(304, headers).end());
      const store = newStore();
      const s = source(server.url);
      const handle = startSources(store, [s], { meter: false, logger: quiet });
      stops.push(() => handle.stop());
      const status = await handle.ready;
      expect(status.state).toBe('degraded');
      expect(s.status().state).toBe('error');
      expect(s.status().lastError).toMatch(/304/);
      expect(store.get().source).toBe('embedded');
      await waitFor(() => server.seen.length >= 3, 5_000, 'retries');
      expect(s.status().state).toBe('error'); // still nothing loaded
      expect(server.seen.every((r) => r.ifNoneMatch === undefined)).toBe(true);
    },
  );

  it.each(NOT_MODIFIED)(
    'SRC-05 304 %s first, then a 200: the document loads and the source becomes ready',
    async (_name, headers) => {
      const server = await scripted((n, _req, res) =>
        n === 0
          ? res.writeHead(304, headers).end()
          : res
              .writeHead(200, { etag: '"v2"', 'content-type': 'application/json' })
              .end(doc('loaded')),
      );
      const store = newStore();
      const s = source(server.url);
      await s.start(store);
      expect(s.status().state).toBe('error');
      await waitFor(() => ruleOf(store) === 'loaded', 5_000, 'document after the 304');
      await waitFor(() => s.status().state === 'ready', 5_000, 'ready');
    },
  );

  it('SRC-05 after a document is loaded, a 304 confirms it (ready, no change, If-None-Match sent)', async () => {
    const server = await scripted((n, req, res) =>
      n === 0 || req.headers['if-none-match'] !== '"v1"'
        ? res.writeHead(200, { etag: '"v1"' }).end(doc('v1'))
        : res.writeHead(304, { etag: '"v1"' }).end(),
    );
    const store = newStore();
    const events: string[] = [];
    store.subscribe((e) => events.push(e.type));
    const s = source(server.url);
    await s.start(store);
    await waitFor(() => server.seen.length >= 5, 5_000, 'polls');
    expect(s.status().state).toBe('ready');
    expect(events).toEqual(['change']);
    expect(server.seen.slice(1).every((r) => r.ifNoneMatch === '"v1"')).toBe(true);
  });

  it('SRC-05 a rejected first document followed by 304s is still not ready (the 304 confirms nothing)', async () => {
    const server = await scripted((n, _req, res) =>
      n === 0
        ? res.writeHead(200, { etag: '"bad"' }).end('{"versions":')
        : res.writeHead(304, { etag: '"bad"' }).end(),
    );
    const store = newStore();
    const s = source(server.url);
    await s.start(store);
    await waitFor(() => server.seen.length >= 4, 5_000, 'polls');
    expect(s.status().state).toBe('error');
    expect(store.get().source).toBe('embedded');
  });

  const BODIES: readonly [string, () => Buffer][] = [
    ['UTF-8 BOM', () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(doc('bom'))])],
    [
      'UTF-8 BOM, chunked in 1-byte pieces',
      () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(doc('bom'))]),
    ],
  ];
  it.each(BODIES)('SRC-05 a body with a %s is accepted', async (name, body) => {
    const server = await scripted(async (_n, _req, res) => {
      const bytes = body();
      if (!name.includes('chunked')) return void res.writeHead(200).end(bytes);
      res.writeHead(200);
      for (const b of bytes) {
        res.write(Buffer.from([b]));
        if (b === 0xbb) await sleep(5);
      }
      res.end();
    });
    const store = newStore();
    const s = source(server.url);
    await s.start(store);
    expect(ruleOf(store)).toBe('bom');
    expect(s.status().state).toBe('ready');
  });
});

describe('SRC-03 HTTP sources are guarded per instance, never by a shared name', () => {
  it.each([
    ['two default-named HTTP sources', undefined, undefined],
    ['two HTTP sources both named "rules"', 'rules', 'rules'],
  ] as const)(
    'SRC-03 %s feeding one store: every change on either endpoint applies',
    async (_n, na, nb) => {
      const bodies = { a: doc('a-0'), b: doc('b-0') };
      // ETags: each source offers the store a document only when its own endpoint changed.
      const etagged =
        (which: 'a' | 'b') =>
        (_n2: number, req: http.IncomingMessage, res: http.ServerResponse) => {
          const etag = `"${createHash('sha256').update(bodies[which]).digest('hex').slice(0, 16)}"`;
          if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end();
          res.writeHead(200, { etag }).end(bodies[which]);
        };
      const a = await scripted(etagged('a'));
      const b = await scripted(etagged('b'));
      const store = newStore();
      for (let i = 1; i <= 15; i++) {
        if (i === 1) await source(a.url, na).start(store);
        bodies.a = doc(`a-${i}`); // a's own sequence runs far ahead of b's
        await waitFor(() => ruleOf(store) === `a-${i}`, 5_000, `a-${i}`);
      }
      await source(b.url, nb).start(store);
      expect(ruleOf(store)).toBe('b-0');
      for (const [which, id] of [
        ['b', 'b-1'],
        ['a', 'a-16'],
        ['b', 'b-2'],
        ['b', 'b-3'],
      ] as const) {
        bodies[which] = doc(id);
        await waitFor(() => ruleOf(store) === id, 5_000, `${id} applied`);
      }
    },
  );

  it('SRC-03 a stopped and re-created HTTP source (same name, same store) applies its first answer', async () => {
    let body = doc('first');
    const server = await scripted((_n, _req, res) => res.writeHead(200).end(body));
    const store = newStore();
    const first = source(server.url);
    await first.start(store);
    await waitFor(() => server.seen.length > 20, 5_000, 'many polls');
    await first.stop();
    body = doc('second');
    const second = source(server.url);
    await second.start(store);
    expect(ruleOf(store)).toBe('second');
    expect(second.status().state).toBe('ready');
  });
});
