import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgeRuntime } from 'edge-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallSpec, InitHeaders } from './fixtures/caller-marker-worker.js';
import {
  CALLER,
  expectCallerHops,
  hopUrl,
  startSite,
  type Hop,
  type Hops,
  type Site,
} from './support/hops.js';
import { BUN, DENO, binaryMissing } from './support/binaries.js';
import { bundleWorker } from './support/bundle.js';
import { startProcess, type Served } from './support/process.js';
import { startWorkerd } from './support/workerd.js';

/*
 * I8 / OUT-03 in the runtimes themselves (see outbound-caller-marker.test.ts for the table in
 * Node): workerd and edge-runtime follow a redirect keeping `X-Gray-Id` and `baggage` across
 * origins, so the old withGray, which left a request carrying the caller's marker to the runtime,
 * sent it off the allowlist. One workerd process and one edge-runtime VM for the whole file.
 */

const FIXTURE = fileURLToPath(new URL('fixtures/caller-marker-worker.ts', import.meta.url));

const hops: Hops = new Map();
let a: Site;
let b: Site;
let dir: string;
let workerd: Served;
let edge: EdgeRuntime;
/** Bun and Deno serving the same worker (absent when the binary is). */
const hosted = new Map<string, Served>();

/** Serves `worker.mjs` with Deno.serve or Bun.serve on GRAY_PORT. */
const HOST = `import process from 'node:process';
import app from './worker.mjs';
const port = Number(process.env.GRAY_PORT);
const handler = (req) => app.fetch(req);
if (typeof globalThis.Deno !== 'undefined') globalThis.Deno.serve({ port, hostname: '127.0.0.1', onListen() {} }, handler);
else globalThis.Bun.serve({ port, hostname: '127.0.0.1', fetch: handler });
`;
const HOSTS: [string, string, string[]][] = [
  ['Bun', BUN, ['run']],
  ['Deno', DENO, ['run', '--allow-net=127.0.0.1', '--allow-env', '--no-prompt']],
];
let seq = 0;

const bundle = (format: 'esm' | 'iife'): Promise<string> =>
  bundleWorker({ entry: FIXTURE }, format, 'CallerWorker');

/** One worker without compatibility flags, reaching 127.0.0.1 through an `internet` service. */
beforeAll(async () => {
  [a, b] = await Promise.all([startSite('a', hops), startSite('b', hops)]);
  dir = mkdtempSync(join(tmpdir(), 'graylane-web-caller-'));
  const [esm, iife] = await Promise.all([bundle('esm'), bundle('iife')]);
  writeFileSync(join(dir, 'worker.mjs'), esm);
  workerd = await startWorkerd(dir);
  writeFileSync(join(dir, 'host.mjs'), HOST);
  for (const [name, bin, args] of HOSTS) {
    if (binaryMissing(bin, '') !== undefined) continue;
    hosted.set(
      name,
      await startProcess(bin, () => [...args, join(dir, 'host.mjs')], {
        cwd: dir,
        env: { DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(dir, '.deno') },
        portEnv: 'GRAY_PORT',
      }),
    );
  }
  edge = new EdgeRuntime({
    initialCode: `${iife}
addEventListener('fetch', (event) => event.respondWith(CallerWorker.default.fetch(event.request)));`,
  });
}, 60_000);
afterAll(async () => {
  await Promise.all([workerd?.stop(), ...[...hosted.values()].map((h) => h.stop())]);
  await Promise.all([a?.close(), b?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const RUNTIMES: [string, (query: string) => Promise<Response>][] = [
  ['workerd', (q) => fetch(`${workerd.origin}/call?${q}`, { signal: AbortSignal.timeout(15_000) })],
  ['edge-runtime', (q) => edge.dispatchFetch(`http://worker.test/call?${q}`)],
  ...HOSTS.map(([name]): [string, (query: string) => Promise<Response>] => [
    name,
    (q) => {
      const host = hosted.get(name);
      if (!host) throw new Error(`${name} is not installed (GRAYLANE_BUN / GRAYLANE_DENO)`);
      return fetch(`${host.origin}/call?${q}`, { signal: AbortSignal.timeout(15_000) });
    },
  ]),
];

interface Target {
  readonly label: string;
  readonly url: (id: string) => string;
  readonly redirect?: RequestInit['redirect'];
  readonly servers: ('a' | 'b')[];
}
const TARGETS: Target[] = [
  { label: 'direct to another port', url: (id) => hopUrl(b.origin, id), servers: ['b'] },
  {
    label: 'a 302 from the allowlist to another port',
    url: (id) => hopUrl(a.origin, id, 302, hopUrl(b.origin, id)),
    servers: ['a', 'b'],
  },
  {
    label: 'a 307 to another port and a 308 back',
    url: (id) => hopUrl(a.origin, id, 307, hopUrl(b.origin, id, 308, hopUrl(a.origin, id))),
    servers: ['a', 'b', 'a'],
  },
  {
    label: "redirect: 'manual', direct to another port",
    url: (id) => hopUrl(b.origin, id),
    redirect: 'manual',
    servers: ['b'],
  },
];
const SHAPES: CallSpec['shape'][] = ['record', 'request', 'request+init', 'request with a body'];
/** Init headers that are empty: every hop of these rows is off the allowlist (server `b`). */
const EMPTY_INITS: CallSpec['shape'][] = [
  'request+init with empty Headers',
  'request+init with {}',
  'request+init with []',
];

const rows = RUNTIMES.flatMap(([runtime, call]) =>
  SHAPES.flatMap((shape, i) =>
    TARGETS.map((target, j) => {
      const [caller, pairs, outside] = CALLER[(i + j) % CALLER.length]!;
      return { runtime, call, shape, target, caller, pairs, outside, label: target.label };
    }),
  ),
);
// The marker-only Request shapes (a Request whose only headers are the marker ones, D3 of
// review 157: on Bun the first hop went with them) with each empty init, off the allowlist.
for (const [runtime, call] of RUNTIMES)
  for (const shape of EMPTY_INITS)
    for (const target of TARGETS.filter((t) => t.servers.every((s) => s === 'b')))
      for (const [caller, pairs] of CALLER.filter(([, , outside]) => outside.length === 0))
        rows.push({
          runtime,
          call,
          shape,
          target,
          caller,
          pairs,
          outside: [],
          label: target.label,
        });

describe('I8 in the runtimes: a marker the caller set never leaves the allowlist', () => {
  it.each(rows)(
    'I8 $runtime: $shape, $label ($caller)',
    async ({ call, shape, target, pairs, outside }) => {
      const id = `r${++seq}`;
      const spec: CallSpec = {
        url: target.url(id),
        allow: a.origin,
        shape,
        pairs,
        ...(target.redirect === undefined ? {} : { redirect: target.redirect }),
      };
      const res = await call(new URLSearchParams({ spec: JSON.stringify(spec) }).toString());
      expect(await res.json()).toEqual({ status: 200 });
      const seen = hops.get(id) ?? [];
      expect(seen.map((h) => h.server)).toEqual(target.servers);
      expectCallerHops(seen, pairs, outside);
    },
  );
});

/*
 * Review 165 D2: a Request's init headers replace its own (Fetch), empty ones too. Bun's
 * `new Request(request, { headers: {} })` keeps the request's, and withGray took them as the
 * caller's, so `authorization` and custom headers went on every hop, on and off the allowlist,
 * where plain fetch sends none. Oracle: plain fetch on the same runtime, outside a lane; the far
 * servers must see the same header lines, the marker (`x-gray-id`, `baggage`) aside.
 */
const SECRETS: [string, string][] = [
  ['Authorization', 'Bearer secret'],
  ['X-B', '1'],
  ['X-Gray-Id', 'stable'],
  ['baggage', 'gray=stable,a=1'],
];
const INITS: InitHeaders[] = ['empty Headers', '{}', '[]', 'record', 'Headers', 'pairs'];
/** Same-origin chains: every runtime keeps the headers across them (Fetch). */
const REPLACED: Target[] = [
  { label: 'allowlisted', url: (id) => hopUrl(a.origin, id), servers: ['a'] },
  { label: 'off the allowlist', url: (id) => hopUrl(b.origin, id), servers: ['b'] },
  {
    label: 'allowlisted, a 307 to itself',
    url: (id) => hopUrl(a.origin, id, 307, hopUrl(a.origin, id)),
    servers: ['a', 'a'],
  },
  {
    label: 'off the allowlist, a 308 to itself',
    url: (id) => hopUrl(b.origin, id, 308, hopUrl(b.origin, id)),
    servers: ['b', 'b'],
  },
  {
    label: "off the allowlist, redirect: 'manual'",
    url: (id) => hopUrl(b.origin, id),
    redirect: 'manual',
    servers: ['b'],
  },
];
const replacedRows = RUNTIMES.flatMap(([runtime, call]) =>
  INITS.flatMap((init) =>
    [false, true].flatMap((body) =>
      REPLACED.map((target) => ({ runtime, call, init, body, target, label: target.label })),
    ),
  ),
);

/**
 * The marker, and the framing: Deno sends a Request's rebuilt body chunked where its fetch sends
 * the Request's with a length (the body itself is compared).
 */
const ASIDE = new Set(['x-gray-id', 'baggage', 'content-length', 'transfer-encoding']);
/** What a far server saw, ASIDE aside (the header lines sorted: order is the runtime's). */
const seenAside = (seen: readonly Hop[]) =>
  seen.map((h) => ({
    server: h.server,
    method: h.method,
    body: h.body,
    headers: h.headers
      .filter(([name]) => !ASIDE.has(name))
      .map(([name, value]) => `${name}: ${value}`)
      .sort(),
  }));

describe('a Request whose init headers replace its own sends the same headers in a lane', () => {
  it.each(replacedRows)(
    'D2 $runtime: init headers $init, body $body, $label',
    async ({ call, init, body, target }) => {
      const send = async (id: string, plain: boolean) => {
        const spec: CallSpec = {
          url: target.url(id),
          allow: a.origin,
          shape: 'request with secrets + init',
          pairs: SECRETS,
          init,
          body,
          plain,
          ...(target.redirect === undefined ? {} : { redirect: target.redirect }),
        };
        const res = await call(new URLSearchParams({ spec: JSON.stringify(spec) }).toString());
        expect(await res.json(), plain ? 'plain fetch' : 'withGray').toEqual({ status: 200 });
        const seen = hops.get(id) ?? [];
        expect(seen.map((h) => h.server)).toEqual(target.servers);
        return seen;
      };
      const id = `d${++seq}`;
      const [inLane, outside] = [await send(id, false), await send(`${id}p`, true)];
      expect(seenAside(inLane)).toEqual(seenAside(outside));
      // Never the Request's own credentials or custom header, on any hop.
      for (const h of inLane)
        expect(h.headers.filter(([n]) => n === 'authorization' || n === 'x-b')).toEqual([]);
    },
  );
});

/*
 * Review 57 D2 (RDR): withGray follows a redirect itself (each hop judged), so on each hop it
 * must send what the runtime's own fetch sends there. Bun honours a caller's `Host` and, when it
 * follows a redirect itself, names the new target; withGray kept the caller's `Host` on the next
 * origin, so a redirect to a virtual-hosted origin reached the wrong vhost in a lane only. The
 * oracle is plain fetch on the same runtime, outside a lane: every far hop must see the same
 * header lines, method and body, the marker aside, across methods, statuses and origins.
 */
const HOP_HEADERS: [string, [string, string][]][] = [
  [
    'a Host, credentials, a custom header',
    [
      ['Host', 'a.internal'],
      ['Authorization', 'Bearer secret'],
      ['Cookie', 'c=1'],
      ['Proxy-Authorization', 'Basic eDp5'],
      ['X-B', '1'],
      ['X-Gray-Id', 'stable'],
      ['baggage', 'gray=stable,a=1'],
    ],
  ],
  [
    'body headers, a Host in upper case',
    [
      ['HOST', 'b.internal:8080'],
      ['Content-Type', 'text/plain'],
      ['Content-Language', 'de'],
      ['Content-Location', '/x'],
      ['X-B', '1'],
    ],
  ],
];
const CREDENTIALS = new Set(['authorization', 'cookie', 'proxy-authorization']);
const BODY_HEADERS = new Set([
  'content-encoding',
  'content-language',
  'content-location',
  'content-type',
]);
interface Chain {
  readonly label: string;
  readonly method: string;
  readonly url: (id: string) => string;
  readonly servers: ('a' | 'b')[];
}
const CHAINS: Chain[] = [
  {
    label: 'a 302 to another origin',
    method: 'GET',
    url: (id) => hopUrl(a.origin, id, 302, hopUrl(b.origin, id)),
    servers: ['a', 'b'],
  },
  {
    label: 'a 301 to the same origin',
    method: 'GET',
    url: (id) => hopUrl(a.origin, id, 301, hopUrl(a.origin, id)),
    servers: ['a', 'a'],
  },
  {
    label: 'a 302 to another origin (made a GET)',
    method: 'POST',
    url: (id) => hopUrl(a.origin, id, 302, hopUrl(b.origin, id)),
    servers: ['a', 'b'],
  },
  {
    label: 'a 303 to the same origin (made a GET)',
    method: 'POST',
    url: (id) => hopUrl(a.origin, id, 303, hopUrl(a.origin, id)),
    servers: ['a', 'a'],
  },
  {
    label: 'a 307 to another origin',
    method: 'POST',
    url: (id) => hopUrl(a.origin, id, 307, hopUrl(b.origin, id)),
    servers: ['a', 'b'],
  },
  {
    label: 'a 308 to another origin and a 307 back',
    method: 'POST',
    url: (id) => hopUrl(a.origin, id, 308, hopUrl(b.origin, id, 307, hopUrl(a.origin, id))),
    servers: ['a', 'b', 'a'],
  },
  {
    label: 'a 301 to another origin (the method kept)',
    method: 'PUT',
    url: (id) => hopUrl(a.origin, id, 301, hopUrl(b.origin, id)),
    servers: ['a', 'b'],
  },
  {
    label: 'a 303 to another origin (made a GET)',
    method: 'DELETE',
    url: (id) => hopUrl(a.origin, id, 303, hopUrl(b.origin, id)),
    servers: ['a', 'b'],
  },
];
const hopRows = RUNTIMES.flatMap(([runtime, call]) =>
  HOP_HEADERS.flatMap(([headers, pairs]) =>
    CHAINS.map((chain) => ({
      runtime,
      call,
      headers,
      pairs,
      chain,
      method: chain.method,
      label: chain.label,
    })),
  ),
);

describe('RDR: each hop withGray follows carries what the runtime would send', () => {
  it.each(hopRows)('RDR-03 $runtime: $method, $label, $headers', async ({ call, pairs, chain }) => {
    const send = async (id: string, plain: boolean) => {
      const spec: CallSpec = {
        url: chain.url(id),
        allow: a.origin,
        shape: 'record with a method',
        method: chain.method,
        pairs,
        plain,
      };
      const res = await call(new URLSearchParams({ spec: JSON.stringify(spec) }).toString());
      expect(await res.json(), plain ? 'plain fetch' : 'withGray').toEqual({ status: 200 });
      const seen = hops.get(id) ?? [];
      expect(seen.map((h) => h.server)).toEqual(chain.servers);
      return seen;
    };
    const id = `h${++seq}`;
    const [inLane, outside] = [await send(id, false), await send(`${id}p`, true)];
    // Where graylane is stricter than a runtime (workerd): no credentials after the chain left
    // its origin, no body headers after a GET rewrite (Fetch, HTTP-redirect fetch step 12).
    const stricter = (seen: readonly Hop[]) =>
      seen.map((h, i) => {
        const crossed = seen.slice(0, i + 1).some((x) => x.server !== seen[0]!.server);
        const rewritten = h.method === 'GET' && chain.method !== 'GET';
        const drop = (name: string) =>
          (crossed && CREDENTIALS.has(name)) || (rewritten && BODY_HEADERS.has(name));
        return { ...h, headers: h.headers.filter(([name]) => !drop(name)) };
      });
    expect(seenAside(stricter(inLane))).toEqual(seenAside(stricter(outside)));
    expect(stricter(inLane)).toEqual(inLane);
    // No marker off the allowlist.
    for (const h of inLane.filter((hop) => hop.server === 'b')) {
      expect(h.markers).toEqual([]);
      expect(h.baggage.join(',')).not.toMatch(/gray=/);
    }
  });
});

/*
 * Review 59 D3: a URL with credentials on a redirect hop. The Fetch standard refuses one only in
 * `cors` mode; Bun and Deno follow it (sending `Authorization: Basic`), undici refuses it, so
 * withGray refusing every one failed calls in a lane that work outside it. Now the runtime's own
 * fetch decides: in a lane and outside, the same outcome, and when both answer, the same lines
 * (but Bun's: it drops a `Location`'s own credentials, withGray sends them as Deno does).
 */
const withUser = (origin: string) => origin.replace('//', '//u:p@');
const CREDENTIALED: Chain[] = [
  {
    label: 'a relative 302 from a URL with credentials',
    method: 'GET',
    url: (id) => hopUrl(withUser(a.origin), id, 302, `/${id}`),
    servers: ['a', 'a'],
  },
  {
    label: 'a 307 to the same origin with credentials',
    method: 'POST',
    url: (id) => hopUrl(a.origin, id, 307, hopUrl(withUser(a.origin), id)),
    servers: ['a', 'a'],
  },
  {
    label: 'a 302 to another origin with credentials',
    method: 'GET',
    url: (id) => hopUrl(a.origin, id, 302, hopUrl(withUser(b.origin), id)),
    servers: ['a', 'b'],
  },
];
const credentialRows = RUNTIMES.flatMap(([runtime, call]) =>
  CREDENTIALED.map((chain) => ({ runtime, call, chain, label: chain.label })),
);

describe('RDR: a URL with credentials on a hop is followed where the runtime follows it', () => {
  it.each(credentialRows)('RDR-03 $runtime: $label', async ({ call, chain }) => {
    const send = async (id: string, plain: boolean) => {
      const spec: CallSpec = {
        url: chain.url(id),
        allow: a.origin,
        shape: 'record with a method',
        method: chain.method,
        pairs: [['X-B', '1']],
        plain,
      };
      const res = await call(new URLSearchParams({ spec: JSON.stringify(spec) }).toString());
      const answer = (await res.json()) as { status?: number; error?: string };
      return { answered: answer.status, seen: hops.get(id) ?? [] };
    };
    const id = `c${++seq}`;
    const [inLane, outside] = [await send(id, false), await send(`${id}p`, true)];
    expect(inLane.answered, 'withGray answers as fetch does').toBe(outside.answered);
    // Bun follows a `Location` naming credentials without them; withGray sends them as Deno
    // does (docs/web.md): that one line, the `Location`'s own, is the only difference allowed.
    const own = ['authorization', `Basic ${btoa('u:p')}`];
    const lanes = inLane.seen.map((h, i) => ({
      ...h,
      headers: h.headers.filter(
        ([n, v]) =>
          !(n === own[0] && v === own[1]) ||
          (outside.seen[i]?.headers.some(([m, w]) => m === n && w === v) ?? false),
      ),
    }));
    expect(seenAside(lanes)).toEqual(seenAside(outside.seen));
    for (const h of inLane.seen.filter((hop) => hop.server === 'b')) expect(h.markers).toEqual([]);
  });
});
