import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgeRuntime } from 'edge-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorker } from './support/bundle.js';
import {
  memberValues,
  siteUrl,
  startMarkerSite,
  type MarkerHops,
  type MarkerSite,
} from './support/marker-site.js';
import type { Served } from './support/process.js';
import { startWorkerd } from './support/workerd.js';

/*
 * GW-01 / HDR-14 in the runtimes a gateway runs in (see forwarded-marker.test.ts for the table in
 * Node): a Worker in `edge` mode decides `stable` for a client that sent `beta`, then forwards the
 * client's headers to an allowlisted upstream through `withGray(fetch, { lane })`. The upstream
 * gets `stable` in every form, hop by hop; the old withGray kept the client's marker there. `open`
 * rows are controls (OUT-03). One workerd process and one edge-runtime VM for the whole file.
 */

const FIXTURE = fileURLToPath(new URL('fixtures/edge-gateway-worker.ts', import.meta.url));

const hops: MarkerHops = new Map();
let a: MarkerSite;
let b: MarkerSite;
let dir: string;
let workerd: Served;
let edge: EdgeRuntime;
let seq = 0;

beforeAll(async () => {
  [a, b] = await Promise.all([startMarkerSite('a', hops), startMarkerSite('b', hops)]);
  dir = mkdtempSync(join(tmpdir(), 'graylane-web-gateway-'));
  const [esm, iife] = await Promise.all([
    bundleWorker({ entry: FIXTURE }, 'esm', 'GatewayWorker'),
    bundleWorker({ entry: FIXTURE }, 'iife', 'GatewayWorker'),
  ]);
  writeFileSync(join(dir, 'worker.mjs'), esm);
  workerd = await startWorkerd(dir);
  edge = new EdgeRuntime({
    initialCode: `${iife}
addEventListener('fetch', (event) => event.respondWith(GatewayWorker.default.fetch(event.request)));`,
  });
}, 60_000);
afterAll(async () => {
  await workerd?.stop();
  await Promise.all([a?.close(), b?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Call = (query: string, headers: [string, string][]) => Promise<Response>;
const RUNTIMES: [string, Call][] = [
  [
    'workerd',
    (q, headers) =>
      fetch(`${workerd.origin}/call?${q}`, { headers, signal: AbortSignal.timeout(15_000) }),
  ],
  ['edge-runtime', (q, headers) => edge.dispatchFetch(`http://worker.test/call?${q}`, { headers })],
];

const KINDS: [string, [string, string][]][] = [
  ['the header', [['X-Gray-Id', 'beta']]],
  [
    'the header and baggage',
    [
      ['x-gray-id', 'beta'],
      ['baggage', 'gray=beta,k=v'],
    ],
  ],
  [
    'the Jaeger and OT member headers',
    [
      ['uberctx-gray', 'beta'],
      ['ot-baggage-gray', 'beta'],
    ],
  ],
];
const SHAPES = ['request', 'headers', 'url+Headers'];
const TARGETS: [string, (id: string) => string, string[]][] = [
  ['to the allowlisted upstream', (id) => siteUrl(a.origin, id), ['a']],
  [
    'a 302 off the allowlist',
    (id) => siteUrl(a.origin, id, 302, siteUrl(b.origin, id)),
    ['a', 'b'],
  ],
];

const rows = RUNTIMES.flatMap(([runtime, call]) =>
  (['edge', 'open'] as const).flatMap((trust) =>
    KINDS.flatMap(([kind, pairs]) =>
      SHAPES.flatMap((shape) =>
        TARGETS.map(([target, url, servers]) => ({
          runtime,
          call,
          trust,
          kind,
          pairs,
          shape,
          target,
          url,
          servers,
        })),
      ),
    ),
  ),
);

describe('GW-01 in the runtimes: a gateway forwarding the client headers sends its own decision', () => {
  it.each(
    rows.map((r) => [
      `${r.runtime} · ${r.trust === 'open' ? 'open (control)' : 'edge'} · ${r.kind} · ${r.shape} · ${r.target}`,
      r,
    ]),
  )('GW-01 %s', async (_label, { runtime, call, trust, kind, pairs, shape, url, servers }) => {
    const id = `w${++seq}`;
    const query = new URLSearchParams({ target: url(id), allow: a.origin, trust, shape });
    const res = await call(query.toString(), pairs);
    const answer = (await res.json()) as { status?: number; version?: string; error?: string };
    expect(answer.error).toBeUndefined();
    const seen = hops.get(id) ?? [];
    // A Worker's incoming request has `redirect: 'manual'` (a proxy passes a 3xx through), and
    // `new Request(url, request)` keeps it: the redirect comes back to the gateway, unfollowed.
    const manual = runtime === 'workerd' && shape === 'request';
    expect(seen.map((h) => h.server)).toEqual(manual ? servers.slice(0, 1) : servers);
    expect(answer.status).toBe(manual && servers.length > 1 ? 302 : 200);
    const version = answer.version!;
    expect(version).toBe(trust === 'edge' || kind.includes('Jaeger') ? 'stable' : 'beta');
    for (const hop of seen) {
      if (hop.server === 'b') {
        for (const name of ['x-gray-id', 'uberctx-gray', 'ot-baggage-gray'] as const)
          expect(hop.lines[name], `b: no ${name}`).toEqual([]);
        expect(memberValues(hop.lines.baggage)).toEqual([]);
        continue;
      }
      // One marker, saying the lane; a member header where the client sent one, saying it too.
      expect(hop.lines['x-gray-id'].join(', ')).toBe(version);
      for (const name of ['uberctx-gray', 'ot-baggage-gray'] as const)
        expect(hop.lines[name].join(', ')).toBe(
          pairs.some(([n]) => n.toLowerCase() === name) ? version : '',
        );
      if (trust === 'edge') expect(memberValues(hop.lines.baggage)).toEqual([version]);
    }
  });
});
