import { AsyncLocalStorage } from 'node:async_hooks';
import { Hono } from 'hono';
import { provideAsyncLocalStorage, withGray } from '@graylane/web';
import { graylaneHono, type GrayVariables } from '@graylane/web/hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecorder, type Recorder } from './support/recorder.js';

provideAsyncLocalStorage(AsyncLocalStorage);

let downstream: Recorder;
beforeAll(async () => {
  downstream = await startRecorder();
});
afterAll(() => downstream.close());

const config = { versions: ['stable', 'beta'], default: 'stable' };

describe('@graylane/web/hono with real hono', () => {
  it('puts the lane on the context, runs the chain in it, writes sticky cookies', async () => {
    const app = new Hono<{ Variables: GrayVariables }>();
    app.use(graylaneHono({ config, allowHosts: [downstream.host], sticky: true }));
    app.get('/', async (c) => {
      const res = await withGray(fetch)(`${downstream.origin}/x`);
      const seen = (await res.json()) as { marker?: string };
      return c.json({
        version: c.get('grayVersion'),
        reason: c.get('grayDecision').reason,
        downstream: seen.marker,
      });
    });
    const res = await app.request('/', { headers: { 'x-gray-id': 'beta' } });
    expect(await res.json()).toEqual({ version: 'beta', reason: 'header', downstream: 'beta' });
    const cookie = await app.request('/', { headers: { cookie: 'gray=nope' } });
    // PREC-03: an ignored cookie marker is rewritten on the response with the decided version.
    expect(cookie.headers.getSetCookie()).toContain(
      'gray=stable; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly',
    );
  });

  it('GW-02 edge mode: later handlers see the request without the client carriers', async () => {
    const app = new Hono<{ Variables: GrayVariables }>();
    app.use(graylaneHono({ config, trust: 'edge' }));
    app.get('/', (c) =>
      c.json({
        version: c.get('grayVersion'),
        marker: c.req.header('x-gray-id') ?? null,
        cookie: c.req.header('cookie') ?? null,
        query: c.req.query('gray') ?? null,
      }),
    );
    const res = await app.request('/?gray=beta', {
      headers: { 'x-gray-id': 'beta', cookie: 'gray=beta; a=1' },
    });
    expect(await res.json()).toEqual({
      version: 'stable',
      marker: null,
      cookie: 'a=1',
      query: null,
    });
  });
});
