import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { createGraylane, getGrayVersion, grayInterceptor } from '../src/index.js';
import { closeAll, listen } from './helpers.js';

afterEach(closeAll);

const VERSIONS = Array.from({ length: 16 }, (_, i) => `v${i}`);
const TOTAL = 10_000;

describe('I7 / LD-04 (bounded): isolation under load', () => {
  it('I7 10,000 concurrent requests with random markers through one outbound hop: 0 mismatches', async () => {
    const upstream = await listen(
      http.createServer((req, res) => res.end(String(req.headers['x-gray-id']))),
    );
    const hopAgent = new Agent({ connections: 64, keepAliveTimeout: 10_000 }).compose(
      grayInterceptor({ allowHosts: [`127.0.0.1:${upstream.port}`] }),
    );
    const gray = createGraylane({ config: { versions: VERSIONS, default: 'v0' } });
    const edge = await listen(
      http.createServer((req, res) =>
        gray.handle(req, res, async () => {
          if (Math.random() < 0.5) await sleep(Math.floor(Math.random() * 3));
          const before = getGrayVersion();
          const r = await request(`${upstream.url}/`, { dispatcher: hopAgent });
          const echoed = await r.body.text();
          res.end(`${before} ${echoed} ${getGrayVersion()}`);
        }),
      ),
    );
    const client = new Agent({ connections: 32, keepAliveTimeout: 10_000 });
    const t0 = Date.now();
    const results = await Promise.all(
      Array.from({ length: TOTAL }, async () => {
        const marker = VERSIONS[Math.floor(Math.random() * VERSIONS.length)] as string;
        const r = await request(edge.url, { dispatcher: client, headers: { 'x-gray-id': marker } });
        const [before, echoed, after] = (await r.body.text()).split(' ');
        return before === marker && echoed === marker && after === marker;
      }),
    );
    const mismatches = results.filter((ok) => !ok).length;
    console.log(`I7: ${TOTAL} requests in ${Date.now() - t0} ms, ${mismatches} mismatches`);
    await Promise.all([client.close(), hopAgent.close()]);
    expect(results).toHaveLength(TOTAL);
    expect(mismatches).toBe(0);
  }, 90_000);
});
