// The LD-04 topology, shared by the bounded test (isolation.test.ts) and `npm run soak`:
// client → server A (graylane, withGray(fetch)) → server B (graylane, echoes getGrayVersion()).
// Plain ESM so `node tests/reliability/soak.mjs` runs it against the built packages.
import http from 'node:http';
import { setImmediate as tick } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { createGraylane, getGrayVersion, grayInterceptor, withGray } from '@graylane/node';

/** 16 markers: enough that a bleed between two concurrent requests is almost always visible. */
export const VERSIONS = Array.from({ length: 16 }, (_, i) => `v${i}`);

function listen(server) {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(server.address().port)),
  );
}

function close(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Starts B then A on loopback. Returns A's URL and a close function. */
export async function startTwoHop({ versions = VERSIONS, client = 'undici' } = {}) {
  const config = { versions, default: versions[0] };
  const grayB = createGraylane({ config });
  const serverB = http.createServer((req, res) =>
    grayB.handle(req, res, async () => {
      if (Math.random() < 0.3) await tick();
      res.end(getGrayVersion());
    }),
  );
  const portB = await listen(serverB);
  const grayA = createGraylane({ config, allowHosts: [`127.0.0.1:${portB}`] });
  // `undici`: request() through an Agent composed with grayInterceptor (the fast path);
  // `fetch`: withGray(fetch) on the global fetch. Both inject from the request context.
  const pool = new Agent({ connections: 128, keepAliveTimeout: 10_000 }).compose(grayInterceptor());
  const grayFetch = withGray(fetch);
  const hop =
    client === 'fetch'
      ? async (url) => (await grayFetch(url)).text()
      : async (url) => (await request(url, { dispatcher: pool })).body.text();
  const serverA = http.createServer((req, res) =>
    grayA.handle(req, res, async () => {
      try {
        const before = getGrayVersion();
        if (Math.random() < 0.3) await new Promise((r) => setTimeout(r, 0));
        const echoed = await hop(`http://127.0.0.1:${portB}/`);
        res.end(`${before} ${echoed} ${getGrayVersion()}`);
      } catch (err) {
        res.statusCode = 500;
        res.end(String(err));
      }
    }),
  );
  const portA = await listen(serverA);
  return {
    url: `http://127.0.0.1:${portA}/`,
    /** Decision counters of both hops (LD-05: series count stays ≤ #markers + 1). */
    stats: () => ({ a: grayA.stats(), b: grayB.stats() }),
    async close() {
      await Promise.all([close(serverA), close(serverB)]);
      await pool.close();
    },
  };
}

/**
 * Sends requests over `connections` keep-alive sockets, each with a random marker, until `total`
 * were sent or `until()` says stop; counts mismatches (any hop observing another marker), errors
 * and non-2xx. Never throws.
 */
export async function runIsolation({
  url,
  total = Infinity,
  connections = 64,
  versions = VERSIONS,
  until = () => false,
  onProgress,
}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const stats = { sent: 0, ok: 0, mismatches: 0, errors: 0, non2xx: 0, examples: [] };
  const t0 = performance.now();
  const one = (marker) =>
    new Promise((resolve) => {
      const req = http.get(url, { agent, headers: { 'x-gray-id': marker } }, (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          if (res.statusCode !== 200) stats.non2xx++;
          else if (body !== `${marker} ${marker} ${marker}`) {
            stats.mismatches++;
            if (stats.examples.length < 5) stats.examples.push(`${marker} → ${body}`);
          } else stats.ok++;
          resolve();
        });
        res.on('error', () => {
          stats.errors++;
          resolve();
        });
      });
      req.on('error', () => {
        stats.errors++;
        resolve();
      });
    });
  const worker = async () => {
    while (stats.sent < total && !until()) {
      stats.sent++;
      await one(versions[Math.floor(Math.random() * versions.length)]);
      if (onProgress && stats.sent % 10_000 === 0) onProgress(stats);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  agent.destroy();
  const elapsedMs = performance.now() - t0;
  return { ...stats, elapsedMs, rps: (stats.sent / elapsedMs) * 1000 };
}
