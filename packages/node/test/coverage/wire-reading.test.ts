import http from 'node:http';
import { Writable } from 'node:stream';
import axios from 'axios';
import nodeFetch from 'node-fetch';
import * as undici from 'undici';
import { coverageStats, installCoverage, runWithGray } from '@graylane/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delta, HTTP_SITES, memoryLogger, startTarget, type Target } from './harness.js';

/*
 * Propagation coverage judges what a request sent the way graylane's own inbound reader does
 * (review 158, D2/D3/N2). RELIABILITY ids: OUT-01 (the lane reached an allowlisted hop), OUT-02
 * and I8 (marker material reached a host outside the allowlist: a leak, logged per call site),
 * OUT-03 (a caller's own marker is kept: a stale one of another lane breaks the lane), BG-02 /
 * BG-04 (baggage duplicates and properties), HDR-05/07 (case, lists).
 */

const here = 'wire-reading.test.ts';
const WITHHELD = 'not-allowlisted';
let a: Target; // allowlisted
let b: Target; // not allowlisted
const log = memoryLogger();
let uninstall: () => void;
const dispatchers: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  [a, b] = await Promise.all([startTarget(), startTarget()]);
  uninstall = installCoverage({ logger: log.logger });
});
afterAll(async () => {
  uninstall();
  await Promise.all(dispatchers.map((d) => d.close()));
  await Promise.all([a.close(), b.close()]);
});

const inLane = <T>(fn: () => Promise<T>) =>
  runWithGray('beta', fn, { allowHosts: [a.host] }) as Promise<T>;

type Headers = Record<string, string>;
type Client = (url: string, headers: Headers) => Promise<unknown>;

const drain = (res: http.IncomingMessage) =>
  new Promise<void>((resolve, reject) => {
    res.resume();
    res.on('end', resolve).on('error', reject);
  });

function pool(url: string): undici.Pool {
  const p = new undici.Pool(new URL(url).origin);
  dispatchers.push(p);
  return p;
}
function client(url: string): undici.Client {
  const c = new undici.Client(new URL(url).origin);
  dispatchers.push(c);
  return c;
}
const pathOf = (url: string) => new URL(url).pathname;

/**
 * Clients graylane does not wrap, each calling from its own line of this file (its call site).
 * `http`: runs on node:http, whose call site Node publishes from 22.13 on only.
 */
const CLIENTS: [string, boolean, Client][] = [
  [
    'http.request',
    true,
    (url, headers) =>
      new Promise((r, j) => {
        http
          .request(url, { headers }, (res) => r(drain(res)))
          .on('error', j)
          .end();
      }),
  ],
  [
    'http.get',
    true,
    (url, headers) =>
      new Promise((r, j) => {
        http.get(url, { headers }, (res) => r(drain(res))).on('error', j);
      }),
  ],
  ['axios', true, (url, headers) => axios.get(url, { headers })],
  ['node-fetch', true, async (url, headers) => (await nodeFetch(url, { headers })).text()],
  ['global fetch', false, async (url, headers) => (await fetch(url, { headers })).text()],
  ['undici.fetch', false, async (url, headers) => (await undici.fetch(url, { headers })).text()],
  [
    'undici.request',
    false,
    async (url, headers) => (await undici.request(url, { headers })).body.text(),
  ],
  [
    'undici.stream',
    false,
    (url, headers) =>
      undici.stream(url, { method: 'GET', headers }, () => new Writable({ write: (_c, _e, cb) => cb() })),
  ],
  [
    'undici Client',
    false,
    async (url, headers) =>
      (await client(url).request({ path: pathOf(url), method: 'GET', headers })).body.text(),
  ],
  [
    'undici Pool',
    false,
    async (url, headers) =>
      (await pool(url).request({ path: pathOf(url), method: 'GET', headers })).body.text(),
  ],
];

const linesSince = (n: number) => log.lines.slice(n);

describe('D2 a leak is logged once per call site, with the site', () => {
  // Runs first: every client's line has logged nothing yet.
  it.each(CLIENTS)(
    "I8 %s with the caller's own X-Gray-Id to a host outside the allowlist → its own line",
    async (_name, viaHttp, send) => {
      const before = log.lines.length;
      const d = await delta(WITHHELD, () => inLane(() => send(`${b.origin}/leak`, { 'x-gray-id': 'beta' })));
      expect(d).toMatchObject({ carried: 1, missing: 0, withheld: 0 });
      expect(b.seen.at(-1)).toBe('beta');
      const lines = linesSince(before).filter((l) => l.includes('outside the allowlist'));
      if (viaHttp && !HTTP_SITES) {
        // Node < 22.13 publishes no call site for node:http: one "unknown call site" line.
        for (const l of lines) expect(l).toContain('unknown call site');
        return;
      }
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(here);
      expect(lines[0]).not.toContain(b.host);
      expect(lines[0]).not.toMatch(/node_modules|packages\/node\/(dist|src)/);
    },
  );

  it('I8 every call site got its line; none suppressed (control)', () => {
    const leaks = log.lines.filter((l) => l.includes('outside the allowlist'));
    const sited = CLIENTS.filter(([, viaHttp]) => HTTP_SITES || !viaHttp).length;
    expect(leaks.filter((l) => l.includes(here))).toHaveLength(sited);
    expect(coverageStats().suppressedLogs).toBe(0);
  });

  it.each(CLIENTS)(
    'OUT-01 %s without the marker to an allowlisted host → missing, at its own site (control)',
    async (_name, viaHttp, send) => {
      const d = await delta(a.origin, () => inLane(() => send(`${a.origin}/missing`, {})));
      expect(d).toMatchObject({ carried: 0, missing: 1, withheld: 0 });
      if (!viaHttp || HTTP_SITES) expect(d.site).toContain(here);
    },
  );
});

/**
 * What a request sends, and what graylane's inbound reader makes of it in lane `beta`:
 * `lane` → the next hop serves beta; `none` → no marker (it serves its default);
 * `other` → it serves another lane (stable). `material`: a hop outside the allowlist would be
 * stripped of it by graylane's hooks (any marker header, a member whose key decodes to `gray`).
 */
interface Spelling {
  readonly name: string;
  readonly headers: Headers;
  readonly reads: 'lane' | 'none' | 'other';
  readonly material: boolean;
}

const SPELLINGS: Spelling[] = [
  { name: 'header beta', headers: { 'x-gray-id': 'beta' }, reads: 'lane', material: true },
  { name: 'header Beta-case name', headers: { 'X-GRAY-ID': 'beta' }, reads: 'lane', material: true },
  { name: 'header BETA', headers: { 'x-gray-id': 'BETA' }, reads: 'none', material: true },
  { name: 'header list beta, beta', headers: { 'x-gray-id': 'beta, beta' }, reads: 'none', material: true },
  { name: 'header stable (stale)', headers: { 'x-gray-id': 'stable' }, reads: 'other', material: true },
  {
    name: 'header stable + member beta',
    headers: { 'x-gray-id': 'stable', baggage: 'gray=beta' },
    reads: 'other',
    material: true,
  },
  {
    name: 'header junk + member beta',
    headers: { 'x-gray-id': 'no!', baggage: 'gray=beta' },
    reads: 'lane',
    material: true,
  },
  { name: 'member gray=beta', headers: { baggage: 'gray=beta' }, reads: 'lane', material: true },
  { name: 'member GRAY=beta', headers: { baggage: 'GRAY=beta' }, reads: 'none', material: false },
  { name: 'member %67ray=beta', headers: { baggage: '%67ray=beta' }, reads: 'lane', material: true },
  {
    name: 'member gr%61y=beta with a property',
    headers: { baggage: 'a=1,gr%61y=beta;ttl=1' },
    reads: 'lane',
    material: true,
  },
  {
    name: 'member gray=beta;p among others',
    headers: { baggage: 'a=1, gray=beta;p' },
    reads: 'lane',
    material: true,
  },
  { name: 'member twice, same value', headers: { baggage: 'gray=beta,gray=beta' }, reads: 'lane', material: true },
  {
    name: 'member twice, different values',
    headers: { baggage: 'gray=beta,gray=stable' },
    reads: 'none',
    material: true,
  },
  { name: 'member value %62eta', headers: { baggage: 'gray=%62eta' }, reads: 'lane', material: true },
  { name: 'member value BETA', headers: { baggage: 'gray=BETA' }, reads: 'none', material: true },
  { name: 'member gray=stable', headers: { baggage: 'gray=stable' }, reads: 'other', material: true },
  { name: 'member %67ray=stable', headers: { baggage: '%67ray=stable' }, reads: 'other', material: true },
  { name: 'member empty value', headers: { baggage: 'a=1,gray=' }, reads: 'none', material: false },
  { name: 'member grayx=beta', headers: { baggage: 'grayx=beta' }, reads: 'none', material: false },
];

const rows = SPELLINGS.flatMap((s) =>
  CLIENTS.map(([client, , send]) => [`${client}, ${s.name}`, s, send] as const),
);

describe('D3/N2 coverage reads the marker as graylane does', () => {
  it.each(rows)('OUT-01 OUT-03 %s to an allowlisted host', async (_name, s, send) => {
    const before = log.lines.length;
    const d = await delta(a.origin, () => inLane(() => send(`${a.origin}/spell`, { ...s.headers })));
    const carried = s.reads === 'lane' ? 1 : 0;
    expect(d).toMatchObject({ carried, missing: 1 - carried, withheld: 0 });
    const lines = linesSince(before);
    if (s.reads === 'other')
      for (const l of lines) expect(l).toContain('left with the marker of lane stable, not its own (lane beta)');
    if (s.reads === 'none') for (const l of lines) expect(l).toContain('left without the marker');
  });

  it('OUT-03 a stale marker of another lane is logged as such (control over the rows above)', () => {
    expect(log.lines.some((l) => l.includes('marker of lane stable, not its own'))).toBe(true);
  });

  it.each(rows)('OUT-02 I8 %s to a host outside the allowlist', async (_name, s, send) => {
    const d = await delta(WITHHELD, () => inLane(() => send(`${b.origin}/spell`, { ...s.headers })));
    expect(d).toMatchObject({ carried: s.material ? 1 : 0, missing: 0, withheld: s.material ? 0 : 1 });
  });
});
