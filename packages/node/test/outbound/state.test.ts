import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

/*
 * Issue 15: every entry of @graylane/node (`.`, `/express`, `/koa`, `/fastify`, `/hono` … in ESM
 * and in CJS) bundles its own copy of the modules, so module-level state would exist once per
 * copy. The outbound and fallback counters, the installGlobal slot, the undici listener flag and
 * the OTel counters live behind `globalThis[Symbol.for('@graylane/node.…')]` instead. The child
 * process below loads the built ESM and CJS entries side by side (a fresh process: the vitest
 * worker's module cache cannot mix them), counts through several copies and reads through others.
 */

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

const SCRIPT = String.raw`
import http from 'node:http';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import * as esm from '@graylane/node';
import { graylaneKoa } from '@graylane/node/koa';
import { graylaneHono } from '@graylane/node/hono';
const require = createRequire(process.cwd() + '/');
const cjs = require('@graylane/node');
const { graylaneExpress } = require('@graylane/node/express');
const { graylaneFastify } = require('@graylane/node/fastify');

const raw = [];
const server = http.createServer((q, r) => { raw.push(q.rawHeaders); r.end('ok'); });
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const port = server.address().port;
const url = 'http://127.0.0.1:' + port + '/';
const allowHosts = ['127.0.0.1:' + port];
const config = { versions: ['stable', 'beta'], default: 'stable' };

const out = { copies: esm.withGray !== cjs.withGray && esm.outboundStats !== cjs.outboundStats };
// Count through four different copies.
await esm.runWithGray('beta', () => esm.withGray(fetch)(url).then((r) => r.text()), { allowHosts });
await cjs.runWithGray('beta', () => cjs.withGray(fetch)(url).then((r) => r.text()), { allowHosts });
await esm.runWithGray('beta', () => cjs.withGray(fetch)(url).then((r) => r.text()), { allowHosts: ['127.0.0.2'] });
await cjs.runWithGray('beta', () => esm.withGray(fetch)(url, { headers: { 'x-gray-id': 'stable' } }).then((r) => r.text()), { allowHosts });
esm.runWithGray('beta', () => esm.grayHandlers({ stable: () => 1 }, { fallback: 'stable' })());
cjs.runWithGray('beta', () => cjs.grayHandlers({ stable: () => 1 }, { fallback: 'stable' })());
// Read through every other copy.
const express = graylaneExpress({ config });
out.reads = {
  esm: esm.outboundStats(),
  cjs: cjs.outboundStats(),
  expressCjs: express.graylane.stats(),
  koaEsm: graylaneKoa({ config }).stats(),
  fastifyCjs: typeof graylaneFastify === 'function',
  honoEsm: typeof graylaneHono === 'function',
};
// installGlobal: once per process, whichever copy asks.
const before = http.request;
const uninstall = esm.installGlobal({ allowHosts });
const second = cjs.installGlobal({ allowHosts });
second();
raw.length = 0;
await esm.runWithGray('beta', () => fetch(url).then((r) => r.text()));
await cjs.runWithGray('beta', () => new Promise((res) => http.get(url, (r) => r.resume().on('end', res))));
out.globalLines = raw.map((h) => h.filter((x, i) => i % 2 === 0 && x.toLowerCase() === 'x-gray-id').length);
out.stillInstalled = http.request !== before;
uninstall();
out.restored = http.request === before;
// The undici listener is subscribed once, whichever copies set up outbound integrations.
raw.length = 0;
await esm.runWithGray('beta', () => cjs.withGray(esm.withGray(fetch))(url).then((r) => r.text()), { allowHosts });
out.wrappedTwiceLines = raw.map((h) => h.filter((x, i) => i % 2 === 0 && x.toLowerCase() === 'x-gray-id').length);
server.close();
process.stdout.write(JSON.stringify(out));
`;

it('issue 15: ESM and CJS entries (index, /express, /koa, /fastify, /hono) share one copy of process-wide state', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', SCRIPT],
    { cwd: ROOT, timeout: 30_000 },
  );
  const out = JSON.parse(stdout) as {
    copies: boolean;
    reads: Record<string, unknown>;
    globalLines: number[];
    stillInstalled: boolean;
    restored: boolean;
    wrappedTwiceLines: number[];
  };
  expect(out.copies, 'the ESM and CJS entries really are separate copies').toBe(true);
  const expected = {
    outbound: {
      injected: 2,
      skipped_host: 1,
      skipped_caller: 1,
      skipped_invalid: 0,
      skipped_context: 0,
    },
    // runWithGray('beta') binds a bare string, checked against no config (I2).
    fallbacks: [{ wanted: '(undeclared)', served: 'stable', count: 2 }],
    ignoredContexts: { malformed: 0 },
    propagation: null,
  };
  expect(out.reads.esm).toEqual(expected);
  expect(out.reads.cjs).toEqual(expected);
  expect(out.reads.expressCjs).toMatchObject(expected);
  expect(out.reads.koaEsm).toMatchObject(expected);
  expect(out.reads.fastifyCjs && out.reads.honoEsm).toBe(true);
  expect(out.globalLines, 'installGlobal from two copies: one X-Gray-Id per request').toEqual([
    1, 1,
  ]);
  expect(out.stillInstalled && out.restored).toBe(true);
  expect(out.wrappedTwiceLines).toEqual([1]);
});
