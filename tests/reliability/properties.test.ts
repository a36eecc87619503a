import { EventEmitter } from 'node:events';
import http, { validateHeaderValue, type IncomingMessage } from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGraylaneError, isVersionLabel, type Decision } from '@graylane/core';
import {
  bindGray,
  createGraylane,
  getGrayVersion,
  runWithGray,
  type Graylane,
  signMarker,
  tryGetGrayVersion,
  withGray,
} from '@graylane/node';
import { propertyBudget, propertyTimeout } from '../../tools/fc-budget.js';

/**
 * RELIABILITY §4 P1, P3 and P9, end to end through the built public API (`@graylane/node`).
 * Budgets come from `tools/fc-budget.ts`: unbounded runs inside a time box.
 */
const budget = propertyBudget();
const VERSIONS = ['stable', 'beta', 'canary-2'] as const;
const KNOWN = new Set<string>(VERSIONS);
const KEY = 'k1-test-secret-that-is-long-enough-for-hmac-sha256';

const CONFIG = {
  versions: [...VERSIONS],
  default: 'stable',
  rules: [
    { id: 'regex', match: { header: { 'x-user': { regex: '^(a+)+$' } } }, version: 'beta' },
    { id: 'cookie', match: { cookie: { team: { in: ['qa', 'ops'] } } }, version: 'canary-2' },
    {
      id: 'split',
      match: { header: { 'x-split': { exists: true } } },
      split: [
        { version: 'stable', weight: 50 },
        { version: 'beta', weight: 50 },
      ],
      bucketBy: 'header:x-split',
    },
  ],
};

const open = createGraylane({ config: CONFIG });
const signed = createGraylane({ config: CONFIG, trust: 'signed', keys: { k1: KEY } });
const edge = createGraylane({ config: CONFIG, trust: 'edge', trustedProxies: ['10.0.0.1'] });

/** Latin-1 (binary) header text, as Node delivers non-ASCII bytes. */
const latin1 = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1'));
const carrierName = fc
  .constantFrom('x-gray-id', 'cookie', 'baggage', 'x-user', 'x-split', 'host')
  .chain((n) =>
    fc
      .array(fc.boolean(), { minLength: n.length, maxLength: n.length })
      .map((up) => [...n].map((c, i) => (up[i] ? c.toUpperCase() : c)).join('')),
  );
const headerName = fc.oneof(
  { weight: 5, arbitrary: carrierName },
  {
    weight: 1,
    arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty'),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
);
const markerish = fc.oneof(
  fc.constantFrom(...VERSIONS, 'gamma', 'BETA', ' beta ', 'beta, stable', '"beta"', '__proto__'),
  fc.constantFrom('gray=beta', 'gray=beta; gray=stable', 'gray=%ZZ', 'gray=beta%0d%0a', 'team=qa'),
  fc.constantFrom('gray=beta,gray=stable', 'gray=beta;ttl=1', 'a=1,gray=canary-2'),
  signMarkerArb(),
);
const headerValue = fc.oneof(
  markerish,
  latin1,
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.array(fc.oneof(markerish, latin1), { maxLength: 3 }),
  fc.constant(undefined),
  fc.constant('a'.repeat(5_000)),
);
const headersArb = fc.dictionary(headerName, headerValue, { maxKeys: 50 });
const urlArb = fc.oneof(
  fc.constantFrom('/', '/?gray=beta', '/?gray=beta&gray=stable', '/?gray[]=beta', '/?gray=%ZZ'),
  fc.string({ unit: 'binary', maxLength: 80 }).map((s) => `/${s}`),
  fc.constant(undefined),
);

function signMarkerArb(): fc.Arbitrary<string> {
  return fc.constantFrom(...VERSIONS).map((v) => {
    try {
      return signMarker(v, { key: KEY, kid: 'k1' } as never);
    } catch {
      return v;
    }
  });
}

function fakeRequest(headers: Record<string, unknown>, url: string | undefined): IncomingMessage {
  return {
    headers,
    url,
    method: 'GET',
    socket: { remoteAddress: '10.0.0.2', encrypted: false },
  } as unknown as IncomingMessage;
}

describe('properties (RELIABILITY §4, end to end)', () => {
  it(
    'P1 extraction never throws and yields a configured version for arbitrary header dictionaries (open/signed/edge)',
    () => {
      const protoBefore = Object.getOwnPropertyNames(Object.prototype).join();
      fc.assert(
        fc.property(
          fc.constantFrom(open, signed, edge),
          headersArb,
          urlArb,
          (gray, headers, url) => {
            const decision = gray.decideRequest(fakeRequest({ ...headers }, url));
            expect(KNOWN.has(decision.version)).toBe(true);
          },
        ),
        {
          ...budget,
          // Regression examples (inputs that once were interesting, kept forever).
          examples: [
            [open, { 'x-gray-id': '__proto__', cookie: 'constructor=beta' }, '/?gray=toString'],
            [open, { 'X-GRAY-ID': 'beta', baggage: ['gray=beta', 'gray=stable'] }, '/'],
            [signed, { 'x-gray-id': 'a'.repeat(5_000), 'x-user': `${'a'.repeat(255)}!` }, '/'],
            [edge, { 'x-gray-id': 'b\u00e9ta', 'x-split': '' }, undefined],
          ],
        },
      );
      expect(Object.getOwnPropertyNames(Object.prototype).join()).toBe(protoBefore);
    },
    propertyTimeout(),
  );

  it(
    'P1 through handle(): sticky cookies and the debug header on a real ServerResponse never throw and every Set-Cookie is a valid header value',
    () => {
      const SPLIT = {
        versions: [...VERSIONS],
        default: 'stable',
        rules: [
          {
            id: 'sp',
            split: [
              { version: 'stable', weight: 50 },
              { version: 'beta', weight: 50 },
            ],
            bucketBy: 'cookie:sid',
          },
        ],
      };
      const sticky = { sticky: true, debugHeader: true } as const;
      const grays = [
        createGraylane({ config: SPLIT, ...sticky }),
        createGraylane({
          config: SPLIT,
          ...sticky,
          trust: 'signed',
          keys: { k1: KEY },
          subject: (r) => String(r.headers['x-user']),
        }),
      ];
      fc.assert(
        fc.property(fc.constantFrom(...grays), headersArb, (gray, headers) => {
          const req = new http.IncomingMessage(new net.Socket());
          req.headers = { ...headers } as IncomingMessage['headers'];
          req.url = '/';
          req.method = 'GET';
          const res = new http.ServerResponse(req);
          let seen: string | undefined;
          expect(() =>
            gray.handle(req, res, () => {
              seen = getGrayVersion();
            }),
          ).not.toThrow();
          expect(KNOWN.has(seen as string)).toBe(true);
          const cookies = res.getHeader('set-cookie');
          for (const c of Array.isArray(cookies) ? cookies : cookies ? [String(cookies)] : [])
            expect(() => validateHeaderValue('set-cookie', c)).not.toThrow();
          const debug = res.getHeader('x-gray-decision');
          if (debug !== undefined)
            expect(() => validateHeaderValue('x-gray-decision', String(debug))).not.toThrow();
        }),
        { ...budget, examples: [[grays[0] as Graylane, { cookie: 'gray=beta; sid=x\r\n' }]] },
      );
    },
    propertyTimeout(),
  );

  it(
    'P3 injection safety: a string forced into context is refused by runWithGray or sent only as a valid header',
    async () => {
      const hostile = fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc
          .array(
            fc.oneof(fc.constantFrom('\r', '\n', '\0', '\r\n', 'beta', 'x-evil: 1'), fc.string()),
            { maxLength: 6 },
          )
          .map((parts) => parts.join('')),
        fc.constantFrom(...VERSIONS, 'gamma', 'beta\r\n', 'b'.repeat(1024), '__proto__'),
      );
      const seen: (Headers | undefined)[] = [];
      const fakeFetch = (_: string | URL | Request, init?: RequestInit): Promise<Response> => {
        seen.push(init?.headers instanceof Headers ? init.headers : undefined);
        return Promise.resolve(new Response('ok'));
      };
      const grayFetch = withGray(fakeFetch);
      const URL_ALLOWED = 'http://orders.internal/v1';

      const checkSent = (forced: string): void => {
        const h = seen.pop();
        const value = h?.get('x-gray-id') ?? null;
        if (value === null) return; // "or sets none"
        expect(isVersionLabel(value)).toBe(true);
        expect(value).toBe(forced);
        expect(() => validateHeaderValue('x-gray-id', value)).not.toThrow();
        const baggage = h?.get('baggage');
        if (baggage != null) {
          expect(() => validateHeaderValue('baggage', baggage)).not.toThrow();
          expect(baggage.split(',').filter((m) => m.startsWith('gray=')).length).toBe(1);
        }
      };

      await fc.assert(
        fc.asyncProperty(hostile, fc.array(hostile, { maxLength: 3 }), async (s, sequence) => {
          // 1. The public entry: an invalid label is refused synchronously (that is the safety).
          let accepted = false;
          try {
            await runWithGray(
              s,
              async () => {
                accepted = true;
                await grayFetch(URL_ALLOWED);
              },
              { allowHosts: ['orders.internal'] },
            );
          } catch (err) {
            expect(isGraylaneError(err)).toBe(true);
            expect(isVersionLabel(s)).toBe(false);
          }
          if (accepted) checkSent(s);
          else seen.length = 0;

          // 2. Below the entry check: a valid Decision mutated to `s` after binding.
          const decision = { version: 'beta', reason: 'context', source: 'context' } as Decision;
          await runWithGray(
            decision,
            async () => {
              (decision as { version: string }).version = s;
              await expect(grayFetch(URL_ALLOWED)).resolves.toBeInstanceOf(Response);
            },
            { allowHosts: ['orders.internal'] },
          );
          checkSent(s);

          // 3. A Decision whose `version` getter changes between reads (check-then-use).
          const values = ['beta', ...sequence, s];
          let reads = 0;
          const shifty = {
            reason: 'context',
            source: 'context',
            get version() {
              return values[Math.min(reads++, values.length - 1)];
            },
          } as unknown as Decision;
          let sent: string | null = null;
          await runWithGray(
            shifty,
            async () => {
              await expect(grayFetch(URL_ALLOWED)).resolves.toBeInstanceOf(Response);
              sent = seen.at(-1)?.get('x-gray-id') ?? null;
            },
            { allowHosts: ['orders.internal'] },
          );
          seen.length = 0;
          if (sent !== null) {
            expect(isVersionLabel(sent)).toBe(true);
            expect(() => validateHeaderValue('x-gray-id', sent as string)).not.toThrow();
          }
        }),
        {
          ...budget,
          examples: [
            ['beta\r\nx-evil: 1', ['\0']],
            ['b'.repeat(1024), []],
            ['__proto__', ['beta\n']],
          ],
        },
      );
    },
    propertyTimeout(),
  );

  it(
    'P9 context isolation (model-based): random interleavings of awaits, timers, emitters and a pool; every observation is its own marker',
    async () => {
      const step = fc.constantFrom('await', 'timer', 'immediate', 'emitter', 'pool', 'nested');
      const tasksArb = fc.array(fc.array(step, { minLength: 1, maxLength: 6 }), {
        minLength: 2,
        maxLength: 8,
      });
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), tasksArb, async (s, tasks) => {
          const bus = new EventEmitter();
          bus.setMaxListeners(0);
          const pool = createPool();
          const mismatches: string[] = [];
          const observe = (own: string, where: string): void => {
            const seenVersion = tryGetGrayVersion();
            if (seenVersion !== own) mismatches.push(`${own} saw ${seenVersion} at ${where}`);
          };
          let done = 0;
          // The emitter pump runs in its own context: listeners registered by tasks fire there.
          const pump = runWithGray('pump', async () => {
            while (done < tasks.length) {
              await s.schedule(Promise.resolve(), 'pump');
              await new Promise((r) => setImmediate(r));
              bus.emit('tick');
            }
          });
          const running = tasks.map((steps, i) =>
            runWithGray(`t${i}`, async () => {
              const own = `t${i}`;
              for (const [k, kind] of steps.entries()) {
                const where = `${kind}#${k}`;
                switch (kind) {
                  case 'await':
                    await s.schedule(Promise.resolve(), `${own} ${where}`);
                    break;
                  case 'timer':
                    await new Promise((r) => setTimeout(r, 0));
                    break;
                  case 'immediate':
                    await new Promise((r) => setImmediate(r));
                    break;
                  case 'emitter':
                    await new Promise<void>((r) =>
                      bus.once(
                        'tick',
                        bindGray(() => {
                          observe(own, `${where} listener`);
                          r();
                        }),
                      ),
                    );
                    break;
                  case 'pool':
                    await new Promise<void>((r) =>
                      pool.acquire(
                        bindGray((release: () => void) => {
                          observe(own, `${where} acquired`);
                          void s.schedule(Promise.resolve(), `${own} release`).then(() => {
                            release();
                            r();
                          });
                        }),
                      ),
                    );
                    break;
                  case 'nested':
                    await runWithGray(`${own}-n`, async () => {
                      await s.schedule(Promise.resolve(), `${own} nested`);
                      observe(`${own}-n`, where);
                    });
                    break;
                }
                observe(own, where);
              }
              done++;
            }),
          );
          await s.waitFor(Promise.all([...running, pump]));
          expect(mismatches, `${mismatches.join('; ')}\n${s.report().length} steps`).toEqual([]);
          expect(getGrayVersion).toThrow(); // outside every scope: no context leaked out
        }),
        { ...budget, examples: [] },
      );
    },
    propertyTimeout(),
  );
});

/** A callback pool with one resource (generic-pool / pg.Pool shape, CTX-03). */
function createPool(): { acquire(cb: (release: () => void) => void): void } {
  let busy = false;
  const queue: ((release: () => void) => void)[] = [];
  const release = (): void => {
    const nextCb = queue.shift();
    if (nextCb) nextCb(release);
    else busy = false;
  };
  return {
    acquire(cb) {
      if (busy) queue.push(cb);
      else {
        busy = true;
        cb(release);
      }
    },
  };
}
