/**
 * A content-hashed file on a response that sets a cookie, behind real express and the real
 * graylane middleware (found by an outside-style review). The middleware's sticky cookie goes
 * out on whatever request first reaches a new visitor, an asset too, and went out with
 * `public, max-age=31536000, immutable`: a shared cache could store it and hand one visitor's
 * lane cookie to everyone. Now such a response is `private` (same year, `immutable`) and keeps
 * its cookie — also when the cookie is added when the head goes out (graylane's own put-back,
 * session middleware's `on-headers`, `writeHead(status, headers)`).
 */
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graylaneExpress } from '../../src/adapters/express.js';
import {
  IMMUTABLE_CACHE_CONTROL,
  IMMUTABLE_PRIVATE_CACHE_CONTROL,
  createAssetLanes,
} from '../../src/assets/index.js';
import { closeAll, listen, splitConfig, type Running } from '../helpers.js';
import { rawRequest } from './raw.js';

const CONFIG = splitConfig(50, 'cookie:gray_uid');

type WriteHead = (...args: unknown[]) => unknown;
/** Ways a cookie reaches the response; `head`: when the head goes out (a `writeHead` hook). */
const HOOKS: Record<
  string,
  { head: boolean; apply: (res: Response, args: unknown[]) => unknown[] }
> = {
  'setHeader(Set-Cookie)': {
    head: true,
    apply: (res, a) => (res.setHeader('Set-Cookie', 'sid=1; Path=/'), a),
  },
  'setHeader(set-cookie, list)': {
    head: true,
    apply: (res, a) => (res.setHeader('set-cookie', ['sid=1', 'theme=dark']), a),
  },
  'appendHeader(Set-Cookie)': {
    head: true,
    apply: (res, a) => (res.appendHeader('Set-Cookie', 'sid=1'), a),
  },
  'express res.cookie': { head: true, apply: (res, a) => (res.cookie('sid', '1'), a) },
  'writeHead(status, { Set-Cookie })': {
    head: true,
    apply: (_res, a) => [a[0], { 'Set-Cookie': 'sid=1' }],
  },
  'writeHead(status, [Set-Cookie, v])': {
    head: true,
    apply: (_res, a) => [a[0], ['Set-Cookie', 'sid=1']],
  },
  'writeHead(status, reason, { SET-COOKIE })': {
    head: true,
    apply: (_res, a) => [a[0], 'OK', { 'SET-COOKIE': ['sid=1', 'b=2'] }],
  },
  'setHeader(Set-Cookie) before the handler': {
    head: false,
    apply: (res, a) => (res.setHeader('Set-Cookie', 'sid=1'), a),
  },
  'express res.cookie before the handler': {
    head: false,
    apply: (res, a) => (res.cookie('sid', '1'), a),
  },
};

/** Installs the row's hook: at head time (wrapping `writeHead`), or now. */
function hook(position: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    const [where, name] = String(req.headers['x-hook'] ?? '').split('|');
    const h = where === position ? HOOKS[name ?? ''] : undefined;
    if (h?.head) {
      const writeHead = res.writeHead as WriteHead;
      (res as unknown as { writeHead: WriteHead }).writeHead = function (
        this: unknown,
        ...args: unknown[]
      ) {
        return writeHead.apply(this, h.apply(res, args));
      };
    } else if (h) h.apply(res, []);
    else if (where === position && name === 'non-cookie header at head') {
      const writeHead = res.writeHead as WriteHead;
      (res as unknown as { writeHead: WriteHead }).writeHead = function (
        this: unknown,
        ...args: unknown[]
      ) {
        res.setHeader('X-Frame-Options', 'DENY');
        res.setHeader('Set-Cookie', []);
        return writeHead.apply(this, args);
      };
    }
    next();
  };
}

let dir: string;
let gw: Running;
const HASHED = '/assets/main-7QZ3X2AB.js';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-cookie-cache-'));
  for (const lane of ['stable', 'beta']) {
    mkdirSync(join(dir, lane, 'assets'), { recursive: true });
    writeFileSync(join(dir, lane, 'robots.txt'), `${lane} robots`);
  }
  writeFileSync(join(dir, 'stable/assets/main-7QZ3X2AB.js'), 'window.MAIN=1;');
  const app = express();
  // Session middleware sits before graylane or after it: both orders of `writeHead` wrappers.
  app.use(hook('before'));
  app.use(graylaneExpress({ config: CONFIG, sticky: { httpOnly: false } }));
  app.use(hook('after'));
  app.use(createAssetLanes({ root: dir, fallback: 'stable' }));
  gw = await listen(http.createServer(app));
});
afterAll(async () => {
  await closeAll();
  rmSync(dir, { recursive: true, force: true });
});

/** GET, HEAD and a conditional GET answered 304: the same head rules. */
const REQUESTS: readonly [string, string, Record<string, string>][] = [
  ['GET', 'GET', {}],
  ['HEAD', 'HEAD', {}],
  ['304', 'GET', { 'If-None-Match': '*' }],
];
/** A returning visitor (no sticky cookie to write) and a new one (graylane writes `gray`). */
const VISITORS: Record<string, Record<string, string>> = {
  returning: { Cookie: 'gray=stable; gray_uid=u2' },
  new: { Cookie: 'gray_uid=u2' },
};

describe('AST-22 an immutable file that sets a cookie is never for shared caches', () => {
  const rows = Object.keys(HOOKS).flatMap((name) =>
    ['before', 'after'].flatMap((where) =>
      Object.keys(VISITORS).flatMap((visitor) =>
        REQUESTS.map(
          ([label, method, headers]) => [name, where, visitor, label, method, headers] as const,
        ),
      ),
    ),
  );
  it.each(rows)(
    '%s (hook %s graylane), %s visitor, %s: private, cookie kept',
    async (name, where, visitor, _label, method, headers) => {
      const r = await rawRequest(
        gw.port,
        HASHED,
        { ...VISITORS[visitor], ...headers, 'X-Hook': `${where}|${name}` },
        method,
      );
      expect(r.status).toBe(headers['If-None-Match'] ? 304 : 200);
      expect(r.headers['set-cookie']).toBeDefined();
      expect(r.headers['cache-control']).toBe(IMMUTABLE_PRIVATE_CACHE_CONTROL);
      expect(r.headers['vary']).toBeUndefined();
    },
  );

  it.each(REQUESTS.map(([label, method, headers]) => [label, method, headers] as const))(
    "graylane's sticky cookie for a new visitor (%s): private, cookie kept",
    async (_label, method, headers) => {
      const r = await rawRequest(gw.port, HASHED, { ...VISITORS.new, ...headers }, method);
      expect(r.headers['set-cookie']).toMatch(/^gray=(stable|beta);/);
      expect(r.headers['cache-control']).toBe(IMMUTABLE_PRIVATE_CACHE_CONTROL);
    },
  );

  it.each(
    ['before', 'after'].flatMap((where) =>
      REQUESTS.map(([label, method, headers]) => [where, label, method, headers] as const),
    ),
  )(
    'no cookie at all (hook %s graylane sets other headers, an empty Set-Cookie; %s): public',
    async (where, _label, method, headers) => {
      const r = await rawRequest(
        gw.port,
        HASHED,
        { ...VISITORS.returning, ...headers, 'X-Hook': `${where}|non-cookie header at head` },
        method,
      );
      expect(r.headers['set-cookie']).toBeUndefined();
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['cache-control']).toBe(IMMUTABLE_CACHE_CONTROL);
      const plain = await rawRequest(
        gw.port,
        HASHED,
        { ...VISITORS.returning, ...headers },
        method,
      );
      expect(plain.headers['cache-control']).toBe(IMMUTABLE_CACHE_CONTROL);
    },
  );

  it.each(Object.keys(VISITORS))(
    'a lane file stays private, no-cache (%s visitor)',
    async (visitor) => {
      const r = await rawRequest(gw.port, '/robots.txt', {
        ...VISITORS[visitor],
        'X-Hook': 'after|express res.cookie',
      });
      expect(r.headers['cache-control']).toBe('private, no-cache');
      expect(r.headers['set-cookie']).toBeDefined();
    },
  );
});
