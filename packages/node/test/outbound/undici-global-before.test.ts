import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * CTX-13 (found by the packed-tarball suite): a connection global `fetch` opened before graylane
 * watched undici — a warm-up call at boot, any earlier fetch to the same service — is kept alive
 * by the global dispatcher, and the next marked request on it lost the marker: its Client was
 * unknown, so its connection counted as unproven. The global dispatcher's Clients are now learned
 * when graylane starts watching (and again when an unknown one writes), and judged by their
 * socket. (A dispatcher of the app's own made and connected before graylane watched is still
 * unknown for its first request: docs/node.md, "The real connection".)
 */

const seen = new Map<string, string | undefined>();
let server: http.Server;
let origin = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.set(new URL(req.url ?? '/', 'http://x').pathname, req.headers['x-gray-id'] as string);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('CTX-13 connections opened before graylane watched undici', () => {
  it('global fetch: a kept-alive connection from before keeps the lane on its first marked request, with withGray and with installGlobal', async () => {
    // Before anything of graylane runs: global fetch keeps a connection (and npm undici's too).
    await (await fetch(`${origin}/warm`)).text();
    await (await undici.fetch(`${origin}/warm-npm`)).text();
    expect(seen.get('/warm')).toBeUndefined();

    const { installGlobal, runWithGray, withGray } = await import('../../src/index.js');
    const allowHosts = [new URL(origin).host];
    await runWithGray(
      'beta',
      async () => {
        for (const path of ['/wrapped-1', '/wrapped-2'])
          await (await withGray(fetch, { allowHosts })(`${origin}${path}`)).text();
      },
      { allowHosts },
    );
    const uninstall = installGlobal({ allowHosts });
    try {
      await runWithGray('beta', async () => {
        for (const path of ['/global-1', '/global-2'])
          await (await fetch(`${origin}${path}`)).text();
      });
    } finally {
      uninstall();
    }
    expect(['/wrapped-1', '/wrapped-2', '/global-1', '/global-2'].map((p) => seen.get(p))).toEqual([
      'beta',
      'beta',
      'beta',
      'beta',
    ]);
  });
});
