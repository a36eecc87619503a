import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isGraylaneError } from '@graylane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpSource, type HttpSourceOptions } from '../../src/sources/index.js';
import { doc, quietLogger, recordingStore, sleep, waitFor } from './helpers.js';

// Review rows for createHttpSource: a fetch that ignores its signal (the timeout still ends the
// poll, the schedule lives on), nothing applied after stop(), nonsense timings refused at
// construction, and a rejection reported bounded and escaped (I1, I4).

const ok = (body = doc('beta'), etag = '"a"') =>
  new Response(body, { status: 200, headers: { etag } });
const never = (): Promise<Response> => new Promise(() => undefined);

describe('a fetch that ignores its abort signal cannot hang start() or end the schedule', () => {
  const HANGS: Array<{ name: string; fetch: () => Promise<Response> }> = [
    { name: 'never settles', fetch: never },
    {
      name: 'settles long after the timeout',
      fetch: () => sleep(5_000).then(() => ok()),
    },
    {
      name: 'rejects long after the timeout',
      fetch: () => sleep(5_000).then(() => Promise.reject(new Error('late'))),
    },
    {
      name: 'redirects forever, slowly',
      fetch: () =>
        sleep(150).then(() => new Response(null, { status: 302, headers: { location: '/x' } })),
    },
  ];
  for (const h of HANGS)
    for (const timeoutMs of [50, 200])
      it(`start() settles after the timeout: fetch ${h.name} (timeout ${timeoutMs} ms)`, async () => {
        const { store } = recordingStore();
        const source = createHttpSource({
          url: 'http://127.0.0.1:9/r',
          fetch: h.fetch,
          timeoutMs,
          logger: quietLogger(),
        });
        const t0 = performance.now();
        const settled = await Promise.race([
          source.start(store).then(() => true),
          sleep(timeoutMs + 1_500).then(() => false),
        ]);
        expect(settled).toBe(true);
        expect(performance.now() - t0).toBeLessThan(timeoutMs + 1_500);
        expect(source.status().state).toBe('error');
        expect(source.status().lastError).toMatch(/timed out after/);
        await source.stop();
      });

  for (const h of HANGS)
    it(`after a success, polls survive hanging ones: fetch ${h.name}`, async () => {
      const { store } = recordingStore();
      let mode: 'ok' | 'hang' = 'ok';
      let calls = 0;
      const source = createHttpSource({
        url: 'http://127.0.0.1:9/r',
        fetch: () => {
          calls++;
          return mode === 'ok' ? Promise.resolve(ok()) : h.fetch();
        },
        intervalMs: 30,
        timeoutMs: 100,
        backoff: { initialMs: 30, maxMs: 60 },
        logger: quietLogger(),
      });
      await source.start(store);
      expect(source.status().state).toBe('ready');
      mode = 'hang';
      await waitFor(() => source.status().state === 'stale', 2_000, 'stale after a timeout');
      const during = calls;
      await waitFor(() => calls >= during + 2, 2_000, 'polls go on while the fetch hangs');
      mode = 'ok';
      await waitFor(() => source.status().state === 'ready', 2_000, 'ready again');
      await source.stop();
    });
});

describe('nothing a poll finds after stop() changes the status or the store', () => {
  const LATE: Array<{ name: string; answer: () => Response | Error }> = [
    { name: '304', answer: () => new Response(null, { status: 304 }) },
    { name: '200 with a new document', answer: () => ok(doc('stable', { rules: [] }), '"b"') },
    { name: '500', answer: () => new Response('', { status: 500 }) },
    {
      name: '429 with Retry-After',
      answer: () => new Response('', { status: 429, headers: { 'retry-after': '1' } }),
    },
    { name: '401', answer: () => new Response('', { status: 401 }) },
    { name: 'a network error', answer: () => new Error('socket hang up') },
  ];
  for (const late of LATE)
    it(`a ${late.name} landing after stop() leaves the source stopped`, async () => {
      const { store, changes } = recordingStore();
      let n = 0;
      let release: (() => void) | undefined;
      const logger = quietLogger();
      const source = createHttpSource({
        url: 'http://127.0.0.1:9/r',
        fetch: async () => {
          if (++n === 1) return ok();
          await new Promise<void>((r) => (release = r));
          const a = late.answer();
          if (a instanceof Error) throw a;
          return a;
        },
        intervalMs: 20,
        timeoutMs: 5_000,
        logger,
      });
      await source.start(store);
      const version = store.get().version;
      await waitFor(() => release !== undefined, 2_000, 'second poll in flight');
      const linesAtStop = logger.lines.length;
      await source.stop();
      expect(source.status().state).toBe('stopped');
      release?.();
      await sleep(100);
      expect(source.status().state).toBe('stopped');
      expect(store.get().version).toBe(version);
      expect(changes()).toBe(1);
      expect(logger.lines.length).toBe(linesAtStop);
      expect(n).toBe(2); // and no poll is scheduled after it
    });
});

describe('nonsense timings are refused at construction (INVALID_OPTIONS), never polled in a loop', () => {
  const BAD: unknown[] = [
    0,
    -0,
    -5,
    -1_000,
    Number.NaN,
    Infinity,
    -Infinity,
    '15000',
    '',
    null,
    true,
    {},
    2 ** 31,
    1e12,
    Number.MAX_VALUE,
  ];
  const OPTIONS: Array<{ name: string; make: (v: unknown) => Partial<HttpSourceOptions> }> = [
    { name: 'intervalMs', make: (v) => ({ intervalMs: v as number }) },
    { name: 'timeoutMs', make: (v) => ({ timeoutMs: v as number }) },
    { name: 'backoff.initialMs', make: (v) => ({ backoff: { initialMs: v as number } }) },
    { name: 'backoff.maxMs', make: (v) => ({ backoff: { maxMs: v as number } }) },
  ];
  for (const option of OPTIONS)
    for (const value of BAD)
      it(`${option.name} = ${typeof value === 'string' ? JSON.stringify(value) : Object.is(value, -0) ? '-0' : String(value)}`, () => {
        let calls = 0;
        let thrown: unknown;
        try {
          createHttpSource({
            url: 'http://127.0.0.1:9/r',
            fetch: () => {
              calls++;
              return Promise.resolve(ok());
            },
            logger: quietLogger(),
            ...option.make(value),
          });
        } catch (err) {
          thrown = err;
        }
        expect(isGraylaneError(thrown) && thrown.code).toBe('INVALID_OPTIONS');
        expect((thrown as Error).message).toContain(option.name);
        expect(calls).toBe(0);
      });

  for (const jitter of [-0.1, 1, 1.5, Number.NaN, '0.2'])
    it(`backoff.jitter = ${String(jitter)}`, () => {
      expect(() =>
        createHttpSource({
          url: 'http://127.0.0.1:9/r',
          backoff: { jitter: jitter as number },
          logger: quietLogger(),
        }),
      ).toThrow(/backoff\.jitter/);
    });

  for (const good of [
    { intervalMs: 1 },
    { intervalMs: 0.5 },
    { timeoutMs: 2 ** 31 - 1 },
    { backoff: { initialMs: 10, maxMs: 10, jitter: 0 } },
    { backoff: {} },
    {},
  ])
    it(`accepted: ${JSON.stringify(good)}`, () => {
      expect(() =>
        createHttpSource({ url: 'http://127.0.0.1:9/r', logger: quietLogger(), ...good }),
      ).not.toThrow();
    });
});

describe('I1/I4 a rejected document is reported bounded and escaped', () => {
  const FORGED = '\n[graylane] config file /etc/graylane/rules.json applied OK (version 7)\n';
  const CASES = [
    { name: '1,000 bad rules, 700-char keys (739 KB)', rules: 1_000, keyLen: 700, forged: true },
    { name: '1,000 bad rules', rules: 1_000, keyLen: 700, forged: false },
    { name: '20 bad rules with ESC in keys', rules: 20, keyLen: 3, forged: false },
    { name: '2 bad rules and a forging key', rules: 2, keyLen: 3, forged: true },
    { name: 'only a forging key', rules: 0, keyLen: 0, forged: true },
    { name: 'U+2028 in a key', rules: 0, keyLen: 0, forged: false, key: 'a\u2028b' },
  ];
  for (const c of CASES)
    it(c.name, async () => {
      const rules = Array.from({ length: c.rules }, (_, i) => ({
        id: `r${i}`,
        version: 'nope',
        [`${'k'.repeat(c.keyLen)}\u001b[2J${i}`]: 1,
      }));
      const text = JSON.stringify({
        versions: ['stable'],
        default: 'stable',
        rules,
        ...(c.forged ? { [FORGED]: 1 } : {}),
        ...(c.key ? { [c.key]: 1 } : {}),
      });
      const logger = quietLogger();
      const { store } = recordingStore();
      const source = createHttpSource({
        url: 'http://127.0.0.1:9/r',
        fetch: () => Promise.resolve(new Response(text)),
        logger,
      });
      await source.start(store);
      await source.stop();
      const lastError = source.status().lastError ?? '';
      expect(lastError).toMatch(/^document rejected: \[graylane\] invalid config: /);
      expect(lastError.length).toBeLessThanOrEqual(1_100);
      const line = logger.lines.find((l) => l.includes('document rejected')) ?? '';
      expect(line.length).toBeLessThanOrEqual(1_300);
      for (const t of [lastError, line])
        // eslint-disable-next-line no-control-regex
        expect(t).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      if (c.forged) expect(line).toContain('\\n[graylane] config file');
      const problems = c.rules * 2 + (c.forged ? 1 : 0) + (c.key ? 1 : 0);
      if (problems > 5) expect(lastError).toMatch(new RegExp(`and ${problems - 5} more$`));
    });
});

describe('RDR-01 a 401/403 after a redirect to another origin is a failure, not fatal: no headers went there', () => {
  type Route = (req: IncomingMessage, res: ServerResponse) => void;
  const seen: Array<{ server: 'a' | 'b'; path: string; key: string | undefined }> = [];
  const routes = { a: new Map<string, Route>(), b: new Map<string, Route>() };
  const servers: ReturnType<typeof createServer>[] = [];
  let A = '';
  let B = '';
  const serve = async (name: 'a' | 'b'): Promise<string> => {
    const server = createServer((req, res) => {
      const path = req.url ?? '/';
      seen.push({ server: name, path, key: req.headers['x-api-key'] as string | undefined });
      const route = routes[name].get(path);
      if (route) return route(req, res);
      res.setHeader('content-type', 'application/json');
      res.end(doc(name === 'a' ? 'beta' : 'stable'));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  beforeAll(async () => {
    A = await serve('a');
    B = await serve('b');
  });
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
  const redirect =
    (status: number, location: () => string): Route =>
    (_req, res) => {
      res.statusCode = status;
      res.setHeader('location', location());
      res.end();
    };
  const refuse =
    (status: number): Route =>
    (_req, res) => {
      res.statusCode = status;
      res.end('no');
    };
  const reset = (): void => {
    seen.length = 0;
    routes.a.clear();
    routes.b.clear();
  };
  const source = (logger = quietLogger()) =>
    createHttpSource({
      url: `${A}/rules`,
      headers: { 'x-api-key': 'SECRET-KEY' },
      intervalMs: 30,
      backoff: { initialMs: 30, maxMs: 60, jitter: 0 },
      logger,
    });
  const version = (s: { get(): { config: { default: string } } }) => s.get().config.default;

  const CROSS: Array<{ name: string; status: number; setup: () => void; origin: () => string }> = [
    ...[401, 403].map((status) => ({
      name: `other origin answers ${status}`,
      status,
      setup: () => {
        routes.a.set(
          '/rules',
          redirect(302, () => `${B}/locked?token=SECRET-QUERY`),
        );
        routes.b.set('/locked?token=SECRET-QUERY', refuse(status));
      },
      origin: () => B,
    })),
    {
      name: 'other origin, then back to the URL’s origin, answers 401',
      status: 401,
      setup: () => {
        routes.a.set(
          '/rules',
          redirect(307, () => `${B}/bounce`),
        );
        routes.b.set(
          '/bounce',
          redirect(307, () => `${A}/locked`),
        );
        routes.a.set('/locked', refuse(401));
      },
      origin: () => A,
    },
  ];
  for (const row of CROSS) {
    it(`${row.name} at start: backs off, says the credentials were not sent, recovers`, async () => {
      reset();
      row.setup();
      const { store } = recordingStore();
      const logger = quietLogger();
      const s = source(logger);
      await s.start(store);
      const status = s.status();
      expect(status.fatal).toBeUndefined();
      expect(status.state).toBe('error');
      expect(status.lastError).toBe(
        `HTTP ${row.status} from ${row.origin()} after a redirect to another origin: the source's headers (credentials) were not sent to that origin; point the source's url at the final URL`,
      );
      expect(logger.lines.join('\n')).not.toMatch(/SECRET|token|locked/);
      expect(logger.lines.some((l) => l.startsWith('error'))).toBe(false);
      for (const r of seen.filter((x) => x.server === 'b' || x.path === '/locked'))
        expect(r.key).toBeUndefined();
      // Retried with backoff: the redirect goes away and the source loads.
      const before = seen.length;
      await waitFor(() => seen.length > before, 3_000, 'a retry');
      routes.a.clear();
      await waitFor(() => s.status().state === 'ready', 3_000, 'ready after the redirect is gone');
      expect(version(store)).toBe('beta');
      await s.stop();
    });

    it(`${row.name} after a success: the source goes stale and keeps polling`, async () => {
      reset();
      const { store } = recordingStore();
      const s = source();
      await s.start(store);
      expect(s.status().state).toBe('ready');
      row.setup();
      await waitFor(() => s.status().state === 'stale', 3_000, 'stale');
      expect(s.status().fatal).toBeUndefined();
      expect(s.status().lastError).toMatch(/were not sent to that origin/);
      expect(version(store)).toBe('beta');
      routes.a.clear();
      await waitFor(() => s.status().state === 'ready', 3_000, 'ready again');
      await s.stop();
    });
  }

  for (const status of [401, 403])
    it(`a same-origin redirect answering ${status} stays fatal (the key was sent and refused)`, async () => {
      reset();
      routes.a.set(
        '/rules',
        redirect(302, () => '/locked'),
      );
      routes.a.set('/locked', refuse(status));
      const { store } = recordingStore();
      const s = source();
      await s.start(store);
      expect(seen.map((r) => [r.path, r.key])).toEqual([
        ['/rules', 'SECRET-KEY'],
        ['/locked', 'SECRET-KEY'],
      ]);
      expect(s.status()).toMatchObject({
        state: 'error',
        fatal: true,
        lastError: `HTTP ${status}`,
      });
      await sleep(200);
      expect(seen).toHaveLength(2); // never asked again
      await s.stop();
    });
});
