import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createConfigStore } from '@graylane/core';
import { createKvRules, type KeyValueLike } from '@graylane/web';
import { createClient } from '@vercel/edge-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The documented Vercel Edge Config setup (docs/vercel-edge.md) with the real
 * `@vercel/edge-config` client: its `get(key, options?)` type-checks as a `KeyValueLike` as it is
 * typed (it did not: `options` is `{ consistentRead? }`, not `'text'`; helper 88 on 1.5.1), and its
 * reads, made over its item API against a loopback stand-in, arrive as rules.
 */
const DOC = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [{ id: 'all', version: 'beta' }],
};

let origin = '';
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
let item: unknown = DOC;
const server = createServer((req, res) => {
  seen.push({ url: req.url ?? '', headers: req.headers });
  if (req.url?.startsWith('/ecfg_graylane/item/graylane') && item !== undefined) {
    res.setHeader('content-type', 'application/json');
    return void res.end(JSON.stringify(item));
  }
  res.writeHead(404, { 'x-edge-config-digest': 'd' }).end();
});
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('edge rules: the real Vercel Edge Config client', () => {
  it('is a KeyValueLike as typed, and its document becomes the rules', async () => {
    const edgeConfig = createClient(`${origin}/ecfg_graylane?token=t0k`);
    // The assignment is the type check (`tsc` runs over the tests): no cast.
    const binding: KeyValueLike = edgeConfig;
    const store = createConfigStore({
      initial: { versions: ['stable', 'beta'], default: 'stable' },
    });
    const source = createKvRules({ binding, key: 'graylane', minIntervalMs: 0 });
    await source.refresh(store);
    expect(store.get()).toMatchObject({ version: 2, source: 'kv' });
    expect(store.get().config.rules[0]).toMatchObject({ id: 'all', version: 'beta' });
    expect(seen.at(-1)?.headers.authorization).toBe('Bearer t0k');
    // A key Edge Config does not hold keeps the last good config.
    item = undefined;
    await source.refresh(store);
    expect(store.get().version).toBe(2);
    expect(source.status().state).toBe('stale');
  });
});
