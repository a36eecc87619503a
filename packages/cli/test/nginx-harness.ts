import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './helpers.js';

/** Debian's nginx, or `undefined` (tests skip; under CI=true they fail instead). */
export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
if (!NGINX && process.env['CI'] === 'true')
  throw new Error('nginx is required under CI (apt-get install nginx)');
if (!NGINX)
  console.warn('[graylane] nginx not found: skipping render-nginx tests (apt-get install nginx)');

/** A free loopback port (bind to 0, read, release). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * Header buffers big enough for graylane's 16 KiB cookie cap plus a margin, so the cap itself
 * (and a hostile header just under it) reaches the rendered maps instead of nginx's 400.
 */
const BUFFERS = 'large_client_header_buffers 4 32k;';

/** A running nginx. */
export interface Nginx {
  readonly port: number;
  readonly dir: string;
  stop(): void;
}
const running: Nginx[] = [];

/** Stops every nginx started here and removes its directory. */
export function stopAllNginx(): void {
  for (const n of running.splice(0)) {
    n.stop();
    rmSync(n.dir, { recursive: true, force: true });
  }
}

/**
 * Runs `graylane render nginx ...args --listen 127.0.0.1:<free port>`, starts nginx on it in a
 * temp prefix, and waits until it answers (retrying on a port taken meanwhile).
 */
export async function startNginx(args: readonly string[]): Promise<Nginx> {
  for (let attempt = 0; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'graylane-nginx-'));
    mkdirSync(join(dir, 'logs'));
    const port = await freePort();
    const snippet = execFileSync(
      process.execPath,
      [BIN, 'render', 'nginx', ...args, '--listen', `127.0.0.1:${port}`],
      { encoding: 'utf8' },
    );
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
      .map((t) => `${t}_temp_path ${dir};`)
      .join(' ');
    writeFileSync(
      join(dir, 'nginx.conf'),
      `pid ${dir}/nginx.pid; error_log ${dir}/logs/error.log; daemon off; events {} http { access_log off; ${BUFFERS} ${temp}\n${snippet}\n}\n`,
    );
    const proc: ChildProcess = spawn(NGINX as string, ['-p', dir, '-c', join(dir, 'nginx.conf')], {
      stdio: 'ignore',
    });
    const nginx = { port, dir, stop: () => proc.kill('SIGTERM') };
    for (let i = 0; i < 300 && proc.exitCode === null; i++) {
      try {
        await fetch(`http://127.0.0.1:${port}/`);
        running.push(nginx);
        return nginx;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    proc.kill('SIGKILL');
    const log = readFileSync(join(dir, 'logs', 'error.log'), 'utf8');
    // The free port may have been taken by another worker between the probe and nginx's bind.
    if (attempt < 2 && /in use/.test(log)) continue;
    throw new Error(`nginx did not come up: ${log}`);
  }
}
