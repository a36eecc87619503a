import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import axios from 'axios';
import { Agent, request as undiciRequest } from 'undici';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { readBaggageMember } from '@graylane/core';
import {
  attachGray,
  grayInterceptor,
  installGlobal,
  outboundStats,
  runWithGray,
  withGray,
} from '../src/index.js';
import { GrayStore } from '../src/context/storage.js';
import { runWithStore } from '../src/context/run.js';
import { closeAll, echoServer, type Running } from './helpers.js';
import { httpTarget } from '../src/outbound/http-target.js';

let uninstall: (() => void) | undefined;
afterEach(async () => {
  uninstall?.();
  uninstall = undefined;
  await closeAll();
});

type Seen = Record<string, string | undefined>;

/** Every client graylane covers, each sending one GET to `url` with optional caller headers. */
function clients(
  allowHosts: string[],
): Record<
  'withGray' | 'undici' | 'axios',
  (url: string, headers?: Record<string, string>) => Promise<Seen>
> {
  const agent = new Agent().compose(grayInterceptor({ allowHosts }));
  const api = axios.create();
  attachGray(api, { allowHosts });
  return {
    withGray: async (url, headers) =>
      (
        (await (await withGray(fetch, { allowHosts })(url, { headers: headers ?? {} })).json()) as {
          headers: Seen;
        }
      ).headers,
    undici: async (url, headers) =>
      (
        (await (
          await undiciRequest(url, { dispatcher: agent, headers: headers ?? {} })
        ).body.json()) as { headers: Seen }
      ).headers,
    axios: async (url, headers) =>
      ((await api.get(url, { headers: headers ?? {} })).data as { headers: Seen }).headers,
  };
}

const allowFor = (up: Running): string[] => [`127.0.0.1:${up.port}`];

describe.each(['withGray', 'undici', 'axios'] as const)('S-OUT via %s', (name) => {
  it('OUT-01 allowlisted host: exactly one X-Gray-Id; baggage has gray once, others kept', async () => {
    const up = await echoServer();
    const call = clients(allowFor(up))[name];
    const seen = await runWithGray('beta', () =>
      call(`${up.url}/x`, { baggage: 'gray=stable,a=1' }),
    );
    expect(seen['x-gray-id']).toBe('beta');
    expect(seen['baggage']).toBe('gray=beta,a=1');
    const raw = (up.seen.length, up.seen[0]);
    expect(raw?.['x-gray-id']).toBe('beta');
  });

  it('OUT-02 a non-allowlisted host gets neither header nor baggage member', async () => {
    const up = await echoServer();
    const call = clients(['orders.internal', 'https://api.example.com'])[name];
    const seen = await runWithGray('beta', () => call(`${up.url}/x`, { baggage: 'a=1' }));
    expect(seen['x-gray-id']).toBeUndefined();
    expect(seen['baggage']).toBe('a=1');
  });

  it('OUT-03 a caller-set X-Gray-Id is kept, never "stable, beta"', async () => {
    const up = await echoServer();
    const call = clients(allowFor(up))[name];
    const seen = await runWithGray('beta', () => call(`${up.url}/x`, { 'X-Gray-Id': 'stable' }));
    expect(seen['x-gray-id']).toBe('stable');
  });

  it('OUT-05 an invalid marker forced into the context is skipped without throwing', async () => {
    const up = await echoServer();
    const call = clients(allowFor(up))[name];
    const before = outboundStats().outbound.skipped_invalid;
    for (const bad of ['beta\r\n', 'b'.repeat(1024)]) {
      const store = new GrayStore(
        { version: bad, reason: 'context', source: 'context' },
        undefined,
        'x-gray-id',
        'gray',
      );
      const seen = await runWithStore(store, () => call(`${up.url}/x`));
      expect(seen['x-gray-id']).toBeUndefined();
    }
    expect(outboundStats().outbound.skipped_invalid).toBe(before + 2);
  });

  it('OUT-06 X-Gray-Id is still sent under suppressTracing', async () => {
    const up = await echoServer();
    const call = clients(allowFor(up))[name];
    const seen = await runWithGray('beta', () =>
      context.with(suppressTracing(context.active()), () => call(`${up.url}/x`)),
    );
    expect(seen['x-gray-id']).toBe('beta');
  });

  it('OUT-07 with no OTel SDK registered the marker still flows; outside a context nothing is added', async () => {
    const up = await echoServer();
    const call = clients(allowFor(up))[name];
    expect((await runWithGray('canary', () => call(`${up.url}/x`)))['x-gray-id']).toBe('canary');
    expect((await call(`${up.url}/x`))['x-gray-id']).toBeUndefined();
  });

  it('OUT-08 near the W3C limits ours still fits, never a partial member', async () => {
    const up = await echoServer();
    const call = clients(allowFor(up))[name];
    const many = Array.from({ length: 179 }, (_, i) => `m${i}=v`).join(',');
    const big = Array.from({ length: 2 }, (_, i) => `b${i}=${'x'.repeat(4070)}`).join(',');
    for (const upstream of [many, big]) {
      const seen = await runWithGray('beta', () => call(`${up.url}/x`, { baggage: upstream }));
      const out = seen['baggage'] as string;
      expect(out.length).toBeLessThanOrEqual(8192);
      expect(out.split(',').length).toBeLessThanOrEqual(180);
      expect(readBaggageMember(out, 'gray')).toEqual({ kind: 'value', value: 'beta' });
      for (const member of out.split(','))
        expect(upstream.split(',').concat('gray=beta')).toContain(member);
    }
  });
});

describe('withGray specifics', () => {
  it('BR-13 never mutates the caller Headers, init or Request; reused Headers stay clean', async () => {
    const up = await echoServer();
    const f = withGray(fetch, { allowHosts: allowFor(up) });
    const headers = new Headers({ a: '1' });
    const init = Object.freeze({ headers });
    await runWithGray('beta', async () => {
      await f(`${up.url}/1`, init);
      await f(`${up.url}/2`, init);
      const req = new Request(`${up.url}/3`, { headers });
      await f(req);
      expect(req.headers.has('x-gray-id')).toBe(false);
    });
    expect([...headers.keys()]).toEqual(['a']);
    expect(up.seen.map((h) => h['x-gray-id'])).toEqual(['beta', 'beta', 'beta']);
    expect(up.seen.map((h) => h['a'])).toEqual(['1', '1', '1']);
  });

  it('looks globalThis.fetch up at call time, not at wrap time', async () => {
    const original = globalThis.fetch;
    const calls: string[] = [];
    const f = withGray(undefined, { allowHosts: ['example.test'] });
    globalThis.fetch = (async (input: string | URL | Request) => {
      calls.push(String(input));
      return new Response('ok');
    }) as typeof fetch;
    try {
      await f('http://example.test/a');
    } finally {
      globalThis.fetch = original;
    }
    expect(calls).toEqual(['http://example.test/a']);
  });
});

describe('installGlobal', () => {
  it('covers global fetch (Node 20 bundled undici) and http.request/http.get, with the middleware allowlist', async () => {
    const up = await echoServer();
    uninstall = installGlobal({ allowHosts: allowFor(up) });
    await runWithGray('beta', async () => {
      await (await fetch(`${up.url}/fetch`)).text();
      await new Promise<void>((resolve, reject) =>
        http.get(`${up.url}/get`, (r) => r.resume().on('end', resolve)).on('error', reject),
      );
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: up.port, path: '/request' }, (r) =>
          r.resume().on('end', resolve),
        );
        req.on('error', reject).end();
      });
    });
    expect(up.seen.map((h) => [h['x-gray-id'], h['baggage']])).toEqual([
      ['beta', 'gray=beta'],
      ['beta', 'gray=beta'],
      ['beta', 'gray=beta'],
    ]);
  });

  it('installs at most once, uninstalls, and patches nothing on import', async () => {
    const before = http.request;
    const { installGlobal: fresh } = await import('../src/outbound/global.js');
    expect(http.request).toBe(before);
    uninstall = fresh({});
    const patched = http.request;
    expect(patched).not.toBe(before);
    const second = fresh({});
    second();
    expect(http.request).toBe(patched);
    uninstall();
    uninstall = undefined;
    expect(http.request).toBe(before);
    const up = await echoServer();
    await runWithGray('beta', () => fetch(`${up.url}/after`).then((r) => r.text()), {
      allowHosts: allowFor(up),
    });
    expect(up.seen[0]?.['x-gray-id']).toBeUndefined();
  });

  it('OUT-04 axios interceptor + global http patch: the header is sent once', async () => {
    const up = await echoServer();
    uninstall = installGlobal({ allowHosts: allowFor(up) });
    const api = axios.create();
    attachGray(api, { allowHosts: allowFor(up) });
    await runWithGray('beta', () => api.get(`${up.url}/x`));
    const rawHeaders = (await api.get(`${up.url}/raw`)).data as { raw: string[] };
    expect(rawHeaders.raw.filter((h) => h.toLowerCase() === 'x-gray-id')).toHaveLength(0);
    expect(up.seen[0]?.['x-gray-id']).toBe('beta');
    const raw2 = await runWithGray('beta', () => api.get(`${up.url}/raw2`));
    expect(
      (raw2.data as { raw: string[] }).raw.filter((h) => h.toLowerCase() === 'x-gray-id'),
    ).toHaveLength(1);
  });

  it('OUT-04 withGray + global fetch hook: the header is sent once', async () => {
    const up = await echoServer();
    uninstall = installGlobal({ allowHosts: allowFor(up) });
    const r = await runWithGray('beta', () =>
      withGray(fetch, { allowHosts: allowFor(up) })(`${up.url}/x`),
    );
    const raw = ((await r.json()) as { raw: string[] }).raw;
    expect(raw.filter((h) => h.toLowerCase() === 'x-gray-id')).toHaveLength(1);
    expect(raw.filter((h) => h.toLowerCase() === 'baggage')).toHaveLength(1);
  });

  it('the http target is what Node connects to, never the Host header', () => {
    expect(httpTarget(['http://a.internal:81/x'], undefined, 'http:')).toBe('http://a.internal:81');
    expect(
      httpTarget([{ host: 'evil.com', headers: { host: 'a.internal' } }], undefined, 'http:'),
    ).toBe('http://evil.com');
    expect(
      httpTarget(
        [new URL('https://a.internal/'), { hostname: 'b.internal', port: 8443 }],
        undefined,
        'https:',
      ),
    ).toBe('https://b.internal:8443');
    expect(httpTarget([{ hostname: '::1', port: 8080 }], undefined, 'http:')).toBe(
      'http://[::1]:8080',
    );
  });
});
