import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestPki } from './tls.js';

/** Debian's nginx, or `undefined`. */
export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

/** The built CLI, run the way a user runs `graylane render nginx`. */
const CLI = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

/** How long nginx may take to answer its first TLS handshake. */
const READY_MS = 15_000;

/** A free loopback port (bind to 0, read, release). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** What the gateway routes to. */
export interface GatewayTargets {
  /** The graylane config the CLI renders (a JSON file). */
  readonly config: string;
  /** `version → 127.0.0.1:port` of the Node service instance serving that lane. */
  readonly lanes: Readonly<Record<string, number>>;
  /** A single Node deployment behind a TLS terminator that only passes requests through. */
  readonly terminated: number;
}

/** A running nginx with two https listeners. */
export interface Gateway {
  /** `https://127.0.0.1:<port>`: the config rendered by `graylane render nginx`, under TLS. */
  readonly routed: string;
  /** `https://127.0.0.1:<port>`: TLS termination only; the Node middleware alone reads markers. */
  readonly terminated: string;
  /** The full nginx.conf, for a failure message. */
  readonly conf: string;
  stop(): Promise<void>;
}

/**
 * The TLS wrapper around the rendered snippet. `graylane render nginx` has no TLS option, so the
 * test turns the rendered `listen` into an `ssl` one and adds the certificate at `http {}` level —
 * the only change to what the CLI printed (asserted: exactly one `listen` line). A second server
 * terminates TLS in front of one Node deployment and forwards requests untouched.
 */
export function wrapTls(
  snippet: string,
  pki: TestPki,
  dir: string,
  ports: { routed: number; terminated: number; app: number },
): string {
  const listen = `    listen 127.0.0.1:${ports.routed};`;
  const count = snippet.split('\n').filter((l) => l === listen).length;
  if (count !== 1)
    throw new Error(`expected one "${listen.trim()}" in the rendered config, found ${count}`);
  const routed = snippet.replace(listen, `    listen 127.0.0.1:${ports.routed} ssl;`);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${dir}/${t};`)
    .join('\n');
  return `pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log;
daemon off;
worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
${temp}
  ssl_certificate ${pki.chain};
  ssl_certificate_key ${pki.key};
  ssl_protocols TLSv1.2 TLSv1.3;

${routed}

  # TLS termination only: one Node deployment decides from what the browser sent.
  server {
    listen 127.0.0.1:${ports.terminated} ssl;
    location / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_pass http://127.0.0.1:${ports.app};
    }
  }
}
`;
}

/** Renders with the CLI, wraps in TLS, starts nginx and waits for a TLS answer on both ports. */
export async function startGateway(
  targets: GatewayTargets,
  pki: TestPki,
  dir: string,
  ca: string,
): Promise<Gateway> {
  for (let attempt = 0; ; attempt++) {
    const ports = { routed: await freePort(), terminated: await freePort() };
    const args = ['render', 'nginx', targets.config, '--listen', `127.0.0.1:${ports.routed}`];
    for (const [version, port] of Object.entries(targets.lanes))
      args.push('--upstream', `${version}=127.0.0.1:${port}`);
    const snippet = execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    const prefix = join(dir, `nginx-${attempt}`);
    mkdirSync(join(prefix, 'logs'), { recursive: true });
    const conf = wrapTls(snippet, pki, prefix, { ...ports, app: targets.terminated });
    writeFileSync(join(prefix, 'nginx.conf'), conf);
    const proc = spawn(
      NGINX as string,
      ['-p', prefix, '-e', join(prefix, 'logs/error.log'), '-c', join(prefix, 'nginx.conf')],
      { stdio: 'ignore' },
    );
    const gateway: Gateway = {
      routed: `https://127.0.0.1:${ports.routed}`,
      terminated: `https://127.0.0.1:${ports.terminated}`,
      conf,
      stop: () => stop(proc),
    };
    if (await ready(proc, [gateway.routed, gateway.terminated], ca)) return gateway;
    await stop(proc);
    const log = readFileSync(join(prefix, 'logs/error.log'), 'utf8');
    // A probed port may have been taken by another worker before nginx bound it.
    if (attempt < 2 && /in use/.test(log)) continue;
    throw new Error(`nginx did not come up:\n${log}\n${conf}`);
  }
}

async function ready(proc: ChildProcess, origins: readonly string[], ca: string) {
  const until = Date.now() + READY_MS;
  while (Date.now() < until && proc.exitCode === null) {
    const ok = await Promise.all(origins.map((o) => handshake(o, ca)));
    if (ok.every(Boolean)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** True when `origin` completes a TLS handshake verified against `ca` (any HTTP status). */
function handshake(origin: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${origin}/__ready`, { ca, method: 'HEAD', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    proc.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}
