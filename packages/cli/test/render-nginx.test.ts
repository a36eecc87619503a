import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** `graylane render nginx` output, run for real: Debian nginx on loopback in front of two upstreams. */
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const CONFIG = fileURLToPath(new URL('../examples/rules.json', import.meta.url));
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
if (!NGINX && process.env['CI'] === 'true')
  throw new Error('nginx is required under CI (apt-get install nginx)');
if (!NGINX)
  console.warn('[graylane] nginx not found: skipping render-nginx tests (apt-get install nginx)');

let dir: string;
let nginx: ChildProcess | undefined;
const upstreams: Server[] = [];
let port = 0;

function upstream(version: string): Promise<number> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ served: version, marker: req.headers['x-gray-id'] ?? null }));
  });
  upstreams.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nginx did not come up on ${url}`);
}

describe.skipIf(!NGINX)(
  'render nginx: real nginx routes by header, signed token and cookie',
  () => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'graylane-nginx-'));
      mkdirSync(join(dir, 'logs'));
      const stable = await upstream('stable');
      const beta = await upstream('beta');
      port = await freePort();
      const snippet = execFileSync(
        process.execPath,
        [
          BIN,
          'render',
          'nginx',
          CONFIG,
          '--upstream',
          `stable=127.0.0.1:${stable}`,
          '--upstream',
          `beta=127.0.0.1:${beta}`,
          '--listen',
          `127.0.0.1:${port}`,
        ],
        { encoding: 'utf8' },
      );
      const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
        .map((t) => `${t}_temp_path ${dir};`)
        .join(' ');
      writeFileSync(
        join(dir, 'nginx.conf'),
        `pid ${dir}/nginx.pid; error_log ${dir}/logs/error.log; daemon off; events {} http { access_log off; ${temp}\n${snippet}\n}\n`,
      );
      nginx = spawn(NGINX as string, ['-p', dir, '-c', join(dir, 'nginx.conf')], {
        stdio: 'ignore',
      });
      await waitFor(`http://127.0.0.1:${port}/`);
    });
    afterAll(async () => {
      nginx?.kill('SIGTERM');
      await Promise.all(upstreams.map((s) => new Promise((r) => s.close(r))));
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const get = async (headers: Record<string, string>) => {
      const res = await fetch(`http://127.0.0.1:${port}/x`, { headers });
      return {
        route: res.headers.get('x-gray-route'),
        body: (await res.json()) as { served: string; marker: string | null },
      };
    };

    it.each([
      ['no marker → default', {}, 'stable', null],
      ['header beta', { 'x-gray-id': 'beta' }, 'beta', 'beta'],
      [
        'signed token routes by its version part',
        { 'x-gray-id': 'beta.1900000000.qa.sig' },
        'beta',
        'beta.1900000000.qa.sig',
      ],
      ['cookie beta', { cookie: 'a=1; gray=beta' }, 'beta', null],
      [
        'header wins over cookie',
        { 'x-gray-id': 'stable', cookie: 'gray=beta' },
        'stable',
        'stable',
      ],
      ['unknown label → default', { 'x-gray-id': 'gamma' }, 'stable', 'gamma'],
      ['prefix tricks do not route', { 'x-gray-id': 'betamax' }, 'stable', 'betamax'],
    ] as const)('%s', async (_name, headers, served, marker) => {
      const r = await get(headers);
      expect(r.body.served).toBe(served);
      expect(r.route).toBe(served);
      // The marker passes through unchanged for the next hop to read.
      expect(r.body.marker).toBe(marker);
    });

    it('the generated config passes nginx -t', async () => {
      const out = await new Promise<string>((resolve) =>
        execFile(NGINX as string, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], (_e, so, se) =>
          resolve(so + se),
        ),
      );
      expect(out).toMatch(/test is successful/);
    });
  },
);
