import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtelChild } from './otel-child.js';

/**
 * I7 / OUT-01 / OTB-01 when an undici request carries ONE `baggage` value: OpenTelemetry's undici
 * instrumentation appended it and graylane added none (a hop graylane cannot prove is the
 * caller's), or graylane's / the app's own value with OTel off. The real OTel 2.x SDK (default
 * W3C propagators) and undici instrumentation run in a child process; calls queue on
 * one-connection pools behind a held `canary` call, so undici creates them — and OTel injects its
 * baggage — in the canary request's context. Every row, whatever its client:
 * - I7: the next hop never sees another request's marker (`X-Gray-Id` or `gray` member);
 * - OUT-01: at most one `gray` member and one `X-Gray-Id`; an allowlisted hop graylane proves is
 *   the caller's gets both, exactly once, with the caller's version;
 * - OTB-01 / OUT-02: a hop that is not allowlisted gets neither;
 * - the app's own `tenant` member always travels (the control: cleaning removes members, not
 *   the header).
 * The service is written to a temporary file (it resolves its packages from this directory).
 */
const base = fileURLToPath(new URL('./fixtures/otel-baggage-single.cjs', import.meta.url));
const SERVICE = String.raw`'use strict';
const { createRequire } = require('module');
const load = createRequire(process.env.BASE);
let sdk;
if (process.env.OTEL === 'on') {
  const { NodeSDK } = load('@opentelemetry/sdk-node');
  const { UndiciInstrumentation } = load('@opentelemetry/instrumentation-undici');
  sdk = new NodeSDK({
    serviceName: 'otb-single',
    autoDetectResources: false,
    traceExporter: { export: (_s, done) => done({ code: 0 }), shutdown: async () => undefined },
    instrumentations: [new UndiciInstrumentation()],
  });
  sdk.start();
}
const http = load('http');
const undici = load('undici');
const { createGraylane, withGray, installGlobal } = load('@graylane/node');

const targets = { a: process.env.NEXT_A, b: process.env.NEXT_B };
const allowHosts = [new URL(targets.a).host];
const onePerOrigin = () =>
  new undici.Agent({ factory: (o, opts) => new undici.Pool(o, { ...opts, connections: 1 }) });
undici.setGlobalDispatcher(onePerOrigin());
const pool = onePerOrigin();
if (process.env.INSTALL === 'global') installGlobal({ allowHosts });
const gray = createGraylane({
  config: { versions: ['stable', 'beta', 'canary'], default: 'stable' },
  allowHosts,
  ...(process.env.BAGGAGE === 'off' ? { markers: { baggage: false } } : {}),
});
const gfetch = withGray(fetch, { allowHosts });
const text = (r) => r.text();
const vias = {
  fetch: (u, headers) => fetch(u, { headers }).then(text),
  'fetch-pool': (u, headers) => fetch(u, { headers, dispatcher: pool }).then(text),
  'undici-request': (u, headers) => undici.request(u, { headers }).then((r) => r.body.text()),
  'undici-fetch': (u, headers) => undici.fetch(u, { headers }).then(text),
  'undici-fetch-pool': (u, headers) => undici.fetch(u, { headers, dispatcher: pool }).then(text),
  'gfetch-str': (u, headers) => gfetch(u, { headers }).then(text),
  'gfetch-url': (u, headers) => gfetch(new URL(u), { headers }).then(text),
  'gfetch-req': (u, headers) => gfetch(new Request(u, { headers })).then(text),
  'gfetch-req-pool': (u, headers) =>
    gfetch(new Request(u, { headers }), { dispatcher: pool }).then(text),
};

const server = http.createServer((req, res) => {
  const q = new URL(req.url, 'http://x').searchParams;
  const url = targets[q.get('target')] + '/echo?id=' + encodeURIComponent(q.get('id'));
  const headers = q.get('app') === '1' ? { baggage: 'tenant=t1' } : {};
  const call = () =>
    vias[q.get('via')](url, headers).then(
      () => res.end('ok'),
      (err) => {
        res.statusCode = 500;
        res.end(String(err));
      },
    );
  if (q.get('lane') === '1') gray.handle(req, res, call);
  else call();
});
server.listen(0, '127.0.0.1', () => process.stdout.write('PORT ' + server.address().port + '\n'));
process.on('SIGTERM', () =>
  server.close(() => Promise.resolve(sdk && sdk.shutdown()).finally(() => process.exit(0))),
);
`;

interface Seen {
  markers: string[];
  baggage: string[];
}
const seen = new Map<string, Seen>();
const echoes: Server[] = [];
const urls: Record<'a' | 'b', string> = { a: '', b: '' };
let dir: string;
let fixture: string;

function echoServer(): Promise<string> {
  const server = createServer((req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
    const values = (name: string): string[] => {
      const out: string[] = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
        if (req.rawHeaders[i]?.toLowerCase() === name) out.push(req.rawHeaders[i + 1] ?? '');
      return out;
    };
    seen.set(id, { markers: values('x-gray-id'), baggage: values('baggage') });
    // A fresh connection per request: a queued call then starts from the held call's socket,
    // in the held (canary) request's context, not from whichever request opened a kept-alive one.
    res.setHeader('connection', 'close');
    setTimeout(() => res.end('ok'), id.endsWith('hold') ? 150 : 0);
  });
  echoes.push(server);
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () =>
      r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

beforeAll(async () => {
  urls.a = await echoServer();
  urls.b = await echoServer();
  dir = mkdtempSync(join(tmpdir(), 'graylane-otb-single-'));
  fixture = join(dir, 'service.cjs');
  writeFileSync(fixture, SERVICE);
});
afterAll(async () => {
  await Promise.all(echoes.map((s) => new Promise<void>((r) => s.close(() => r()))));
  rmSync(dir, { recursive: true, force: true });
});

/** The `gray` members of every `baggage` value, as written (W3C: key, optional OWS, `=`). */
function grayMembers(values: readonly string[]): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((m) => /^\s*gray\s*=\s*([^;]*)/.exec(m)?.[1]?.trim())
    .filter((m): m is string => m !== undefined);
}

function hasTenant(values: readonly string[]): boolean {
  return values.flatMap((v) => v.split(',')).some((m) => /^\s*tenant\s*=\s*t1\s*$/.test(m));
}

interface Service {
  readonly install: 'global' | 'none';
  readonly otel: 'on' | 'off';
  readonly baggage: 'on' | 'off';
}
/** Baggage off with OTel off has nothing that could carry a member: left out. */
const services: Service[] = [
  { install: 'global', otel: 'on', baggage: 'on' },
  { install: 'none', otel: 'on', baggage: 'on' },
  { install: 'global', otel: 'off', baggage: 'on' },
  { install: 'none', otel: 'off', baggage: 'on' },
  { install: 'global', otel: 'on', baggage: 'off' },
  { install: 'none', otel: 'on', baggage: 'off' },
];

/**
 * Which hop graylane proves is the caller's (it adds the marker there): `withGray` with a
 * string/URL or its own dispatcher, and with `installGlobal()` the global dispatcher and undici's
 * `request`. `fetch(url, { dispatcher })` is never proven; a `Request` on the global dispatcher
 * only with `installGlobal()` (without it the listener judges it on the call's plan).
 */
const proven: Record<string, (install: Service['install']) => boolean> = {
  fetch: (i) => i === 'global',
  'fetch-pool': () => false,
  'undici-request': (i) => i === 'global',
  'undici-fetch': (i) => i === 'global',
  'undici-fetch-pool': () => false,
  'gfetch-str': () => true,
  'gfetch-url': () => true,
  'gfetch-req': () => true,
  'gfetch-req-pool': () => true,
};
/** Plain clients are seen by graylane only through `installGlobal()`. */
const wrapped = (via: string): boolean => via.startsWith('gfetch');

/**
 * A call made with no lane is one graylane sees only with `installGlobal()`, or — without it —
 * when the context undici creates it in holds a `withGray` plan (the held call's `Request` input,
 * judged by the listener): withGray passes a call with no lane through untouched, so a queued one
 * keeps OpenTelemetry's copy of the freeing request's baggage (docs/node.md §4, as in
 * otel-queued.test.ts for `grayInterceptor`).
 */
const seesNoLane = (install: Service['install'], via: string): boolean =>
  install === 'global' || via === 'gfetch-req';

let counter = 0;
describe.each(services)(
  'I7 OUT-01 OTB-01 one baggage value: installGlobal $install, OTel $otel, baggage carrier $baggage',
  (svc) => {
    let service: { url: string; child: ChildProcess };
    beforeAll(async () => {
      service = await startOtelChild(fixture, {
        BASE: base,
        OTEL: svc.otel,
        INSTALL: svc.install,
        BAGGAGE: svc.baggage,
        NEXT_A: urls.a,
        NEXT_B: urls.b,
      });
    }, 30_000);
    afterAll(() => {
      service?.child.kill('SIGTERM');
    });

    const send = (q: Record<string, string>, lane?: string): Promise<string> =>
      fetch(`${service.url}/call?${new URLSearchParams({ ...q, lane: lane ? '1' : '0' })}`, {
        headers: lane ? { 'x-gray-id': lane } : {},
      }).then((r) => r.text());

    const vias = Object.keys(proven).filter((v) => svc.install === 'global' || wrapped(v));
    const rows = vias.flatMap((via) =>
      (['a', 'b'] as const).flatMap((target) =>
        [false, true].flatMap((queued) =>
          // A queued call beside the app's own baggage has two values: otel-baggage.test.ts's
          // rows (each queued row holds a connection for 150 ms; the run stays short).
          (queued ? [false] : [false, true]).flatMap((app) =>
            [...(queued && seesNoLane(svc.install, via) ? ['beta', undefined] : ['beta'])].map(
              (lane) => ({
                via,
                target,
                queued,
                app,
                lane,
              }),
            ),
          ),
        ),
      ),
    );
    it.each(rows)(
      'I7 OUT-01 OTB-01 via $via, target $target (a: allowlisted), queued $queued, app baggage $app, lane $lane',
      async ({ via, target, queued, app, lane }) => {
        const id = `s-${counter++}`;
        const q = { via, target, id, app: app ? '1' : '0' };
        let held: Promise<string> | undefined;
        if (queued) {
          // A canary call holds the pool's one connection; this call is created when it ends.
          held = send({ ...q, id: `${id}-hold` }, 'canary');
          await new Promise((r) => setTimeout(r, 40));
        }
        expect(await send(q, lane)).toBe('ok');
        if (held) expect(await held).toBe('ok');
        const got = seen.get(id);
        expect(got, id).toBeDefined();
        const { markers, baggage } = got ?? { markers: [], baggage: [] };
        const grays = grayMembers(baggage);
        const detail = `${id}: x-gray-id ${JSON.stringify(markers)}, baggage ${JSON.stringify(baggage)}`;
        // I7: its own lane or nothing.
        for (const v of [...markers, ...grays]) expect(v, detail).toBe(lane);
        // OUT-01: never twice.
        expect(markers.length, detail).toBeLessThanOrEqual(1);
        expect(grays.length, detail).toBeLessThanOrEqual(1);
        if (app) expect(hasTenant(baggage), detail).toBe(true);
        if (target === 'b' || lane === undefined) {
          // OTB-01 / OUT-02: not allowlisted, nothing; no lane, nothing to carry.
          expect(markers, detail).toEqual([]);
          expect(grays, detail).toEqual([]);
        } else if (proven[via]?.(svc.install)) {
          expect(markers, detail).toEqual(['beta']);
          expect(grays, detail).toEqual(svc.baggage === 'on' ? ['beta'] : []);
        } else {
          // Not provably the caller's: graylane adds nothing.
          expect(markers, detail).toEqual([]);
        }
        if (svc.baggage === 'off') expect(grays, detail).toEqual([]);
      },
      30_000,
    );
  },
);
