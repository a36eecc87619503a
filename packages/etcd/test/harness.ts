import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long a started etcd may take to report healthy. */
const HEALTH_TIMEOUT_MS = 15_000;
const INSTALL_HINT = 'apt-get install etcd-server';

/**
 * The etcd binary, or `undefined` (tests skip with {@link ETCD_SKIP_MESSAGE}). Under `CI=true` a
 * missing binary throws: CI must run the real thing.
 */
export function findEtcdBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  if (process.env['CI'] === 'true')
    throw new Error(`etcd is not installed: ${INSTALL_HINT} (CI requires it)`);
  return undefined;
}

/** Printed when the etcd tests skip. */
export const ETCD_SKIP_MESSAGE = `etcd binary not found: skipping the etcd integration tests (${INSTALL_HINT})`;

/** A free loopback port (bind to 0, read, release). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** A real etcd process on loopback with a temp data dir. */
export interface EtcdProcess {
  readonly endpoint: string;
  readonly port: number;
  readonly dataDir: string;
  /** SIGTERM and wait; the data dir stays for a restart. */
  stop(): Promise<void>;
  /** Start again on the same ports and data. */
  start(): Promise<void>;
  /** Stop, delete the data, start empty on the same ports: a rebuilt cluster (revision 1). */
  rebuild(): Promise<void>;
  /** `etcdctl snapshot save` into `file` (the cluster keeps running). */
  snapshot(file: string): Promise<void>;
  /** Stop, replace the data with `etcdctl snapshot restore file`, start on the same ports. */
  restore(file: string): Promise<void>;
  /** Stop and delete the data dir. */
  dispose(): Promise<void>;
  /** SIGSTOP: the process is frozen, its sockets stay open and silent (a hung member). */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
}

/** Runs etcdctl (Debian's etcd-client) with the v3 API; rejects with its stderr. */
export function etcdctl(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'etcdctl',
      [...args],
      { env: { ...process.env, ETCDCTL_API: '3', ...env }, timeout: 30_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`etcdctl ${args[0]}: ${stderr}`)) : resolve(stdout),
    );
  });
}

/**
 * Starts etcd on free 127.0.0.1 ports with a temp data dir and waits for `/health`.
 *
 * @example
 * ```ts
 * const etcd = await startEtcd(binary);
 * await etcd.stop(); await etcd.start(); // a real outage
 * await etcd.dispose();
 * ```
 */
export async function startEtcd(
  binary: string,
  options: EtcdStartOptions = {},
): Promise<EtcdProcess> {
  const port = await freePort();
  const peer = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'graylane-etcd-'));
  const { tls } = options;
  const endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const cluster = [
    '--name=graylane-test',
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=graylane-test=${peerUrl}`,
  ];
  const args = [
    ...cluster,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peerUrl}`,
    '--logger=zap',
    '--log-level=error',
    ...(tls ? [`--cert-file=${tls.certFile}`, `--key-file=${tls.keyFile}`] : []),
    ...(tls?.clientCaFile ? ['--client-cert-auth', `--trusted-ca-file=${tls.clientCaFile}`] : []),
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    await waitHealthy(endpoint, proc, () => stderr, tls);
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    endpoint,
    port,
    dataDir,
    stop,
    start,
    async rebuild() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
      await start();
    },
    async snapshot(file) {
      await etcdctl([`--endpoints=${endpoint}`, 'snapshot', 'save', file]);
    },
    async restore(file) {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
      await etcdctl(['snapshot', 'restore', file, `--data-dir=${dataDir}`, ...cluster]);
      await start();
    },
    async dispose() {
      child?.kill('SIGCONT');
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
  };
}

async function waitHealthy(
  endpoint: string,
  proc: ChildProcess,
  stderr: () => string,
  tls: EtcdStartOptions['tls'],
): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`etcd exited with ${proc.exitCode}: ${stderr()}`);
    try {
      const body = JSON.parse(await getText(`${endpoint}/health`, tls)) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error(`etcd did not become healthy in ${HEALTH_TIMEOUT_MS} ms: ${stderr()}`);
}

/** GET over http, or https trusting the test CA (and presenting the client certificate). */
function getText(url: string, tls: EtcdStartOptions['tls']): Promise<string> {
  if (!tls) return fetch(url).then((r) => r.text());
  return new Promise((resolve, reject) => {
    const req = httpsGet(
      url,
      {
        ca: readFileSync(tls.caFile),
        ...(tls.clientCaFile && tls.clientCertFile && tls.clientKeyFile
          ? { cert: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile) }
          : {}),
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
  });
}

/** Options of {@link startEtcd}. */
export interface EtcdStartOptions {
  /** Extra etcd flags, e.g. `--grpc-keepalive-min-time=1s`. */
  readonly args?: readonly string[] | undefined;
  /** Serve clients over TLS with this certificate; `clientCaFile` also requires client certs. */
  readonly tls?:
    | {
        readonly certFile: string;
        readonly keyFile: string;
        /** The CA that signed `certFile` (for the health check). */
        readonly caFile: string;
        readonly clientCaFile?: string | undefined;
        readonly clientCertFile?: string | undefined;
        readonly clientKeyFile?: string | undefined;
      }
    | undefined;
}

/** Test PKI made with openssl: a CA, a server certificate for 127.0.0.1, a client certificate. */
export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  dispose(): void;
}

/** Creates a {@link TestPki} in a temp dir (openssl is part of the Debian base system). */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'graylane-pki-'));
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
  };
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=graylane test CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  );
  for (const who of ['server', 'client']) {
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=graylane ${who}`,
      '-keyout',
      `${who}.key`,
      '-out',
      `${who}.csr`,
    );
    ssl(
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${who}.ext`,
      '-out',
      `${who}.pem`,
    );
  }
  return {
    dir,
    caFile: f('ca.pem'),
    certFile: f('server.pem'),
    keyFile: f('server.key'),
    clientCertFile: f('client.pem'),
    clientKeyFile: f('client.key'),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A loopback TCP proxy that can cut every connection, to disconnect one client while etcd stays up. */
export interface TcpProxy {
  readonly endpoint: string;
  /** Destroys open connections and refuses new ones. */
  block(): void;
  unblock(): void;
  /**
   * A silent partition: connections stay open, new ones are accepted, but bytes in the given
   * directions are dropped — no RST, no FIN, as when a network path blackholes packets.
   */
  silence(directions: 'both' | 'to-etcd' | 'to-client'): void;
  /** Bytes flow again (on connections opened after the silence; dropped bytes stay lost). */
  heal(): void;
  /** Cuts open connections; new ones go to `port` (a failover behind one address). */
  retarget(port: number): void;
  close(): Promise<void>;
}

/** Starts a {@link TcpProxy} to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let blocked = false;
  let target = targetPort;
  let silent: 'both' | 'to-etcd' | 'to-client' | undefined;
  const forward = (from: Socket, to: Socket, direction: 'to-etcd' | 'to-client'): void => {
    from.on('data', (chunk: Buffer) => {
      if (silent === 'both' || silent === direction) return; // dropped on the floor
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => to.end());
  };
  const server: Server = createServer((inbound) => {
    if (blocked) return void inbound.destroy();
    const outbound = connect(target, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    forward(inbound, outbound, 'to-etcd');
    forward(outbound, inbound, 'to-client');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no proxy port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    block() {
      blocked = true;
      for (const s of sockets) s.destroy();
    },
    unblock() {
      blocked = false;
    },
    silence(directions) {
      silent = directions;
    },
    heal() {
      silent = undefined;
    },
    retarget(port) {
      target = port;
      for (const s of sockets) s.destroy();
    },
    async close() {
      blocked = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
