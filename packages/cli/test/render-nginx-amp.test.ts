import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NGINX, startNginx, stopAllNginx, type Nginx } from './nginx-harness.js';

/**
 * AMP-03 / I4: a hostile Cookie header costs the rendered nginx maps no more than a benign one
 * of the same size (≤ 5×, plus a fixed allowance for scheduling noise on a loaded machine). The
 * old duplicate-cookie pattern was retried at every pair: 7.5 KB of `gray=a;` held a worker for
 * about 5 s. Each row is a shape that could make a backtracking PCRE pattern re-scan, filled to
 * just under graylane's 16 KiB cookie cap (over it, the maps read nothing at all).
 */
const CONFIG = fileURLToPath(new URL('../examples/rules.json', import.meta.url));
const SIZE = 16_000;
/** Requests per measurement (sequential, one connection each). */
const ROUNDS = 3;
/** A request slower than this already breaks the bound: fail fast instead of hanging a worker. */
const ABORT_MS = 3_000;
const RATIO = 5;
const NOISE_MS = 200;

const fill = (unit: string, tail = ''): string =>
  unit.repeat(Math.floor((SIZE - tail.length) / unit.length)) + tail;

const HOSTILE: readonly [string, string][] = [
  ['gray=a; repeated (the reported attack)', fill('gray=a;')],
  ['gray=beta; repeated, then a different value last', fill('gray=beta;', 'gray=stable')],
  ['gray=beta; repeated (a valid read all the way)', fill('gray=beta;')],
  ['__Host-gray=a; repeated', fill('__Host-gray=a;')],
  ['__Host-gray=beta; repeated, then gray', fill('__Host-gray=beta;', 'gray=beta')],
  ['spaced names and values', fill(' gray = a ;')],
  ['quoted values', fill('gray="a";')],
  ['unbalanced quotes', fill('gray="beta;')],
  ['empty values', fill('gray=;')],
  ['names without =', fill('gray;')],
  ['empty pairs', fill(';')],
  ['spaces only', fill(' ')],
  ['tabs and spaces between pairs', fill('gray=beta;\t \t')],
  ['other cookies, the marker last', fill('a=1;', 'gray=beta')],
  ['prefix look-alikes', fill('xgray=a;gray_uid=a;')],
  ['one long value', `gray=${'b'.repeat(SIZE)}`],
  ['one long quoted value', `gray="${'b'.repeat(SIZE)}`],
];

let upstream: Server;
let nginx: Nginx;

async function timeRounds(cookie: string): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    const res = await fetch(`http://127.0.0.1:${nginx.port}/`, {
      headers: { cookie },
      signal: AbortSignal.timeout(ABORT_MS),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
  return performance.now() - start;
}

describe.skipIf(!NGINX)('AMP-03 rendered nginx cookie maps: bounded work per request', () => {
  beforeAll(async () => {
    upstream = createServer({ maxHeaderSize: 65_536 }, (_req, res) => res.end('ok'));
    const port = await new Promise<number>((r) =>
      upstream.listen(0, '127.0.0.1', () => r((upstream.address() as AddressInfo).port)),
    );
    nginx = await startNginx([CONFIG, '--upstream', `stable=127.0.0.1:${port}`]);
  }, 60_000);
  afterAll(async () => {
    stopAllNginx();
    await new Promise((r) => upstream?.close(r));
  });

  it.each(HOSTILE)(
    'AMP-03 %s: ≤ 5× a benign header of the same size',
    async (_name, cookie) => {
      expect(cookie.length).toBeLessThanOrEqual(16_384);
      const benign = fill('abcdef=1;').slice(0, cookie.length);
      await timeRounds(benign); // warm the connection path
      const calm = await timeRounds(benign);
      const hostile = await timeRounds(cookie);
      expect(hostile).toBeLessThanOrEqual(RATIO * calm + NOISE_MS);
    },
    60_000,
  );
});
