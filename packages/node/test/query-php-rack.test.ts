import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express5 from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { graylaneExpress } from '../src/adapters/express.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { closeAll, listen, type Running } from './helpers.js';
import { freePort, waitListening } from '../../../tools/loopback.js';

/**
 * GW-01/02 (review 147) with the real next hops. D1: an edge or signed gateway (express 5 +
 * http-proxy-middleware) left `?+gray=beta`, `?%20gray=beta`, `?a=1&++gray=beta` and
 * `?gray%00x=beta` in place, and the PHP app behind it read `$_GET['gray']` as `beta` (PHP skips
 * leading spaces in a name and ends it at a NUL). D3: `?gray=beta;y=2&z=1` lost `y=2` for a
 * reader that splits at `;` (qs with `delimiter: /[&;]/`, as Rack 2 reads), and fastify's
 * `request.query` disagreed with `request.url`. The PHP rows run where php-cli is installed
 * (Debian/Ubuntu package `php-cli`); rows named `(control)` held before.
 */
const php = spawnSync('php', ['-n', '-r', 'echo 1;'], { encoding: 'utf8' }).status === 0;
const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
const KEY = 'a-signing-key-of-32-bytes-long!!';
const MODES = {
  edge: { config, trust: 'edge' },
  signed: { config, trust: 'signed', keys: { k1: KEY } },
} as const;

afterAll(closeAll);

/** What the PHP app saw: its `$_GET` keys and `$_GET['gray']`. */
interface PhpSeen {
  keys: string[];
  gray: unknown;
}

describe.skipIf(!php)(
  'GW-02 a PHP app behind the gateway reads no client marker (D1; needs php-cli)',
  () => {
    let phpServer: ChildProcess;
    let phpPort = 0;
    let dir = '';
    const gateways = new Map<string, Running>();

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'graylane-php-'));
      writeFileSync(
        join(dir, 'index.php'),
        "<?php header('content-type: application/json'); echo json_encode(['keys' => array_map('strval', array_keys($_GET)), 'gray' => $_GET['gray'] ?? null]);",
      );
      phpPort = await freePort();
      phpServer = spawn('php', ['-n', '-S', `127.0.0.1:${phpPort}`, '-t', dir], {
        stdio: 'ignore',
      });
      await waitListening(phpPort);
      for (const [mode, options] of Object.entries(MODES)) {
        const app = express5();
        app.use(graylaneExpress(options));
        app.use(
          createProxyMiddleware({ target: `http://127.0.0.1:${phpPort}`, changeOrigin: true }),
        );
        gateways.set(mode, await listen(http.createServer(app)));
      }
    });
    afterAll(() => {
      phpServer?.kill();
      rmSync(dir, { recursive: true, force: true });
    });

    const get = (port: number, path: string): Promise<PhpSeen> =>
      new Promise((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve(JSON.parse(body) as PhpSeen));
          })
          .on('error', reject);
      });

    const TARGETS = [
      ...['?+gray=beta&a=1', '?%20gray=beta&a=1', '?a=1&++gray=beta', '?a=1&gray%00x=beta'],
      ...['?+%20+gray=beta&a=1', '?a=1&gray%00=beta', '?%20GRAY=beta&a=1', '?a=1&+gray[x]=beta'],
      // Spellings removed before review 147 too.
      ...['(control) ?a=1&gray[]=beta', '(control) ?GRAY=beta&a=1'],
    ];
    const rows = Object.keys(MODES).flatMap((mode) => TARGETS.map((t) => [mode, t] as const));
    it.each(rows)('GW-02 %s: /index.php%s reaches PHP without a gray key', async (mode, row) => {
      const target = row.replace('(control) ', '');
      // The premise: PHP reads this key as `gray` (in some case) when nothing is in between.
      const direct = await get(phpPort, `/index.php${target}`);
      expect(direct.keys.map((k) => k.toLowerCase())).toContain('gray');
      const seen = await get((gateways.get(mode) as Running).port, `/index.php${target}`);
      expect(seen.keys).toEqual(['a']);
      expect(seen.gray).toBeNull();
    });

    it.each(Object.keys(MODES))(
      '(control) %s: keys PHP files under another name reach it unchanged',
      async (mode) => {
        const target = '?gray+=1&gray.=2&%09gray=3&grayscale=4&a.gray=5&xgray=6';
        const seen = await get((gateways.get(mode) as Running).port, `/index.php${target}`);
        expect(seen.keys).toEqual(['gray_', '\tgray', 'grayscale', 'a_gray', 'xgray']);
        expect(seen.gray).toBeNull();
      },
    );
  },
);

describe('GW-02 a reader that splits at `;` keeps the parameter next to a removed marker (D3)', () => {
  const require = createRequire(import.meta.url);
  const qs = createRequire(require.resolve('express4'))('qs') as {
    parse(s: string, o?: object): Record<string, unknown>;
  };
  const semicolons = (s: string) => qs.parse(s, { delimiter: /[&;]/ });
  const apps = new Map<string, Running>();
  beforeAll(async () => {
    for (const [mode, options] of Object.entries(MODES)) {
      const e4 = express4();
      e4.set('query parser', semicolons);
      e4.use(graylaneExpress(options));
      e4.use((req, res) => res.json({ url: req.url, query: req.query }));
      apps.set(`express 4 (qs [&;])|${mode}`, await listen(http.createServer(e4)));
      const f = Fastify({ routerOptions: { querystringParser: semicolons } });
      await f.register(graylaneFastify, options);
      f.get('/*', async (request) => ({ url: request.url, query: request.query }));
      await f.ready();
      apps.set(`fastify (qs [&;])|${mode}`, await listen(f.server));
    }
  });

  const ask = (port: number, path: string): Promise<{ url: string; query: object }> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(JSON.parse(body) as { url: string; query: object }));
        })
        .on('error', reject);
    });

  const ROWS = [
    ['/a?gray=beta;y=2&z=1', '/a?;y=2&z=1', { y: '2', z: '1' }],
    ['/a?z=1&GRAY=beta;y=2', '/a?z=1&;y=2', { z: '1', y: '2' }],
    ['/a?+gray=beta;y=2&z=1', '/a?;y=2&z=1', { y: '2', z: '1' }],
    ['/a?gray;y=2&z=1', '/a?;y=2&z=1', { y: '2', z: '1' }],
    ['(control) /a?y=2;gray=beta&z=1', '/a?y=2;&z=1', { y: '2', z: '1' }],
    ['/a?a=1&&b=2&gray=beta', '/a?a=1&&b=2', { a: '1', b: '2' }],
  ] as const;
  const rows = ['express 4 (qs [&;])', 'fastify (qs [&;])'].flatMap((app) =>
    Object.keys(MODES).flatMap((mode) => ROWS.map((r) => [app, mode, ...r] as const)),
  );
  it.each(rows)('GW-02 %s, %s: %s → %s', async (app, mode, row, url, query) => {
    const target = row.replace('(control) ', '');
    const seen = await ask((apps.get(`${app}|${mode}`) as Running).port, target);
    expect(seen.url).toBe(url);
    // The parsed query is what the edited URL parses to: the two never disagree.
    expect(seen.query).toEqual(query);
    expect(semicolons(url.slice(url.indexOf('?') + 1))).toEqual(query);
  });
});
