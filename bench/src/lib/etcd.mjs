// A real etcd on free 127.0.0.1 ports with a temp data dir, started like
// packages/etcd/test/harness.ts does, and a put through etcd's JSON gateway (no extra client).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HEALTH_TIMEOUT_MS = 15_000;

export function findEtcd() {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  return found || undefined;
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startEtcd(binary) {
  const port = await freePort();
  const peer = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'graylane-bench-etcd-'));
  const endpoint = `http://127.0.0.1:${port}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const proc = spawn(
    binary,
    [
      '--name=graylane-bench',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=graylane-bench=${peerUrl}`,
      '--logger=zap',
      '--log-level=error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr.on('data', (c) => (stderr = (stderr + c).slice(-4000)));
  const dispose = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  for (;;) {
    if (proc.exitCode !== null) {
      await dispose();
      throw new Error(`etcd exited with ${proc.exitCode}: ${stderr}`);
    }
    try {
      const body = await (await fetch(`${endpoint}/health`)).json();
      if (body.health === 'true') break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await dispose();
      throw new Error(`etcd did not become healthy: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    endpoint,
    dispose,
    async put(key, value) {
      const b64 = (s) => Buffer.from(s).toString('base64');
      const res = await fetch(`${endpoint}/v3/kv/put`, {
        method: 'POST',
        body: JSON.stringify({ key: b64(key), value: b64(value) }),
      });
      if (!res.ok) throw new Error(`etcd put: HTTP ${res.status}`);
      await res.arrayBuffer();
    },
  };
}
