import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { createGraylane, getGrayDecision, signMarker, withGray } from '../src/index.js';
import {
  CONFIG,
  closeAll,
  decisionFor,
  decisionServer,
  echoServer,
  listen,
  splitConfig,
} from './helpers.js';

afterEach(closeAll);

const KEY = 'a-signing-key-of-at-least-32-byte';
const keys = { k1: KEY };

describe('trust: signed (HDR-13 end to end)', () => {
  it('HDR-13 only a valid signed token is honoured; a bare label is untrusted', async () => {
    const s = await decisionServer({ trust: 'signed', keys });
    const token = signMarker('beta', { key: KEY, kid: 'k1' });
    expect(await decisionFor(s.url, { 'x-gray-id': token })).toEqual({
      version: 'beta',
      reason: 'header',
      source: 'header',
    });
    expect(await decisionFor(s.url, { 'x-gray-id': 'beta' })).toMatchObject({
      version: 'stable',
      reason: 'untrusted_marker',
    });
    expect(
      await decisionFor(s.url, {
        'x-gray-id':
          `${token.slice(0, -1)}A` === token ? `${token.slice(0, -1)}B` : `${token.slice(0, -1)}A`,
      }),
    ).toMatchObject({ version: 'stable', reason: 'bad_signature' });
    // MISC-04: a token in a URL is not read unless markers.query asks for it.
    expect(await decisionFor(`${s.url}/?gray=${token}`)).toMatchObject({
      version: 'stable',
      reason: 'default',
    });
    const q = await decisionServer({ trust: 'signed', keys, markers: { query: 'gray' } });
    expect((await decisionFor(`${q.url}/?gray=${token}`)).version).toBe('beta');
    expect((await decisionFor(s.url, { cookie: `gray=${token}` })).version).toBe('beta');
  });

  it('HDR-13 a token bound to user A presented by user B is rejected', async () => {
    const s = await decisionServer({
      trust: 'signed',
      keys,
      subject: (req) => req.headers['x-user'] as string | undefined,
    });
    const forA = signMarker('beta', { key: KEY, kid: 'k1', subject: 'alice' });
    expect((await decisionFor(s.url, { 'x-gray-id': forA, 'x-user': 'alice' })).version).toBe(
      'beta',
    );
    expect(await decisionFor(s.url, { 'x-gray-id': forA, 'x-user': 'bob' })).toMatchObject({
      version: 'stable',
      reason: 'bad_signature',
    });
  });

  it('signed mode: the sticky version cookie holds a signed token that verifies on the next request', async () => {
    const config = splitConfig(100, 'cookie:gid');
    const s = await decisionServer({ trust: 'signed', keys, config, sticky: true });
    const res = await fetch(s.url);
    expect(await res.json()).toMatchObject({ version: 'beta', reason: 'weight' });
    const cookies = res.headers.getSetCookie();
    const version = cookies.find((c) => c.startsWith('gray='));
    expect(version).toMatch(/^gray=beta\.\d+\.k1\.[A-Za-z0-9_-]{43}; /);
    const pair = (version as string).split(';')[0] as string;
    expect(await decisionFor(s.url, { cookie: pair })).toEqual({
      version: 'beta',
      reason: 'cookie',
      source: 'cookie',
    });
  });
});

describe('trust: edge (HDR-14)', () => {
  it('HDR-14 a client marker is stripped; rules decide; outbound carries the server-assigned marker', async () => {
    const upstream = await echoServer();
    const host = `127.0.0.1:${upstream.port}`;
    const config = {
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [{ id: 'all-beta', match: { path: { prefix: '/' } }, version: 'stable' }],
    };
    const gray = createGraylane({ config, trust: 'edge', allowHosts: [host] });
    const server = http.createServer((req, res) =>
      gray.handle(req, res, async () => {
        const forwarded = req.headers['x-gray-id'];
        const r = await withGray(fetch)(`${upstream.url}/`);
        res.end(
          JSON.stringify({
            decision: getGrayDecision(),
            forwarded: forwarded ?? null,
            upstream: ((await r.json()) as { headers: Record<string, string> }).headers,
          }),
        );
      }),
    );
    const s = await listen(server);
    const out = (await (
      await fetch(s.url, {
        headers: { 'x-gray-id': 'beta', cookie: 'gray=beta', baggage: 'gray=beta' },
      })
    ).json()) as {
      decision: { version: string; reason: string; rejected: unknown };
      forwarded: unknown;
      upstream: Record<string, string>;
    };
    expect(out.decision).toMatchObject({ version: 'stable', reason: 'rule' });
    expect(gray.stats().invalidMarkers).toEqual([
      { source: 'header', reason: 'untrusted', count: 1 },
      { source: 'cookie', reason: 'untrusted', count: 1 },
      { source: 'baggage', reason: 'untrusted', count: 1 },
    ]);
    expect(out.forwarded).toBeNull();
    expect(out.upstream['x-gray-id']).toBe('stable');
    expect(out.upstream['baggage']).toBe('gray=stable');
  });

  it('HDR-14 a peer in trustedProxies is honoured as in open mode', async () => {
    const s = await decisionServer({
      trust: 'edge',
      trustedProxies: ['127.0.0.1', '::ffff:127.0.0.1'],
    });
    expect((await decisionFor(s.url, { 'x-gray-id': 'beta' })).version).toBe('beta');
  });
});

describe('sticky cookies', () => {
  const split = splitConfig(50, 'cookie:gid');

  it('mints an anonymous subject cookie for bucketBy cookie:NAME and stays sticky with it', async () => {
    const s = await decisionServer({ config: split, sticky: true });
    const res = await fetch(s.url);
    const d = (await res.json()) as { version: string; reason: string };
    expect(d.reason).toBe('weight');
    const cookies = res.headers.getSetCookie();
    const gid = cookies.find((c) => c.startsWith('gid='));
    expect(gid).toMatch(
      /^gid=[0-9a-f-]{36}; Path=\/; Max-Age=2592000; SameSite=Lax; HttpOnly; Priority=High$/,
    );
    expect(cookies.find((c) => c.startsWith('gray='))).toBe(
      `gray=${d.version}; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly; Priority=High`,
    );
    const subject = (gid as string).split(';')[0] as string;
    for (let i = 0; i < 5; i++) {
      const again = await fetch(s.url, { headers: { cookie: subject } });
      expect(((await again.json()) as { version: string }).version).toBe(d.version);
      expect(again.headers.getSetCookie().some((c) => c.startsWith('gid='))).toBe(false);
    }
  });

  it('BC-06 Max-Age is clamped to 30 days; Secure forced for __Host- names; off by default', async () => {
    const s = await decisionServer({
      config: split,
      sticky: { maxAgeSeconds: 99_999_999, httpOnly: false },
      markers: { cookie: '__Host-gray' },
    });
    const res = await fetch(s.url);
    const cookies = res.headers.getSetCookie();
    expect(cookies.find((c) => c.startsWith('__Host-gray='))).toMatch(
      /Max-Age=2592000; SameSite=Lax; Secure; Priority=High$/,
    );
    expect(cookies.find((c) => c.startsWith('gid='))).not.toMatch(/HttpOnly|Secure/);
    const plain = await decisionServer({ config: split });
    expect(
      (await fetch(plain.url, { headers: { cookie: 'gid=x' } })).headers.getSetCookie(),
    ).toEqual([]);
  });

  it('Secure is added automatically on TLS (auto)', async () => {
    const { formatSetCookie } = await import('@graylane/core');
    const sticky = {
      cookie: true,
      subjectCookie: undefined,
      maxAgeSeconds: 60,
      secure: 'auto' as const,
      httpOnly: true,
    };
    expect(formatSetCookie('gray', 'beta', sticky, true)).toBe(
      'gray=beta; Path=/; Max-Age=60; SameSite=Lax; HttpOnly; Secure; Priority=High',
    );
    expect(formatSetCookie('gray', 'beta', sticky, false)).toBe(
      'gray=beta; Path=/; Max-Age=60; SameSite=Lax; HttpOnly; Priority=High',
    );
  });
});

describe('debug header', () => {
  it('X-Gray-Decision is sent only when enabled', async () => {
    const off = await decisionServer();
    expect(
      (await fetch(off.url, { headers: { 'x-gray-id': 'beta' } })).headers.get('x-gray-decision'),
    ).toBeNull();
    const on = await decisionServer({
      debugHeader: true,
      config: {
        ...CONFIG,
        rules: [
          { id: 'qa', match: { header: { 'x-group': { equals: 'qa' } } }, version: 'canary' },
        ],
      },
    });
    expect(
      (await fetch(on.url, { headers: { 'x-group': 'qa' } })).headers.get('x-gray-decision'),
    ).toBe('version=canary; reason=rule; source=rules; rule=qa');
  });
});
