import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  context,
  propagation,
  trace,
  type Context,
  type TextMapPropagator,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';
import { OTTracePropagator } from '@opentelemetry/propagator-ot-trace';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, installGlobal, runWithGray } from '../../src/index.js';
import {
  carried,
  hop,
  makeClients,
  NOTHING,
  others,
  redirect,
  startServers,
  target,
  type Carried,
  type Client,
  type Harness,
} from './member-off-harness.js';
import { closeLocal } from './servers.js';

/*
 * OTB-01, OTB-02, I8, OUT-03 with the real OpenTelemetry http and undici instrumentations and the
 * W3C baggage, Jaeger and OT propagators (the ones sdk-node configures from OTEL_PROPAGATORS),
 * `installGlobal({ allowHosts })` on top, every client API the outbound layer covers:
 * - `markers: { baggage: false }`: OpenTelemetry injects the context's `gray` member (`baggage:
 *   gray=beta`, `uberctx-gray`, `ot-baggage-gray`) — baggage OTel extracted from a client,
 *   OTel-only code upstream, listeners added before graylane. The old code left it on every
 *   hop, hosts outside the allowlist included; now every hop loses it under the default name;
 * - `attachGray(axios)` with the http adapter under installGlobal, no GrayPropagator: OTel's
 *   http instrumentation replaced attachGray's `baggage` with the context's (`gray=stable`), and
 *   installGlobal took attachGray's `X-Gray-Id: beta` for the caller's and left both: the hop
 *   said beta in the marker and stable in the member. Now a member beside a caller's marker
 *   says what the marker says (OUT-03: the marker itself is never touched).
 */

let h: Harness;
let uninstall: () => void;
let clients: Client[] = [];
let seq = 0;
const instrumentations: { disable(): void }[] = [];
const jobs = new Map<string, () => Promise<void>>();
let mw = '';
let mwServer: http.Server;

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  // A recording tracer: OT's propagator writes its baggage only beside a valid span context.
  trace.setGlobalTracerProvider(new BasicTracerProvider());
  instrumentations.push(new HttpInstrumentation(), new UndiciInstrumentation());
  // require-in-the-middle patches node:http when it is required.
  createRequire(import.meta.url)('node:http');
  createRequire(import.meta.url)('node:https');
  expect(http.request.name, 'OpenTelemetry wrapped http.request').toBe('outgoingRequest');
  h = await startServers();
  uninstall = installGlobal({ allowHosts: h.allow });
  clients = makeClients();
  const gray = createGraylane({
    config: { versions: ['stable', 'beta'], default: 'stable', rules: [] },
    markers: { baggage: false },
    allowHosts: h.allow,
  });
  mwServer = http.createServer((req, res) =>
    gray.handle(req, res, async () => {
      const job = jobs.get(req.url?.slice(1) ?? '');
      try {
        await job?.();
        res.end('ok');
      } catch (e) {
        res.statusCode = 500;
        res.end(String(e));
      }
    }),
  );
  await new Promise<void>((resolve) => mwServer.listen(0, '127.0.0.1', resolve));
  mw = `http://127.0.0.1:${(mwServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  uninstall();
  for (const i of instrumentations) i.disable();
  await closeLocal(mwServer);
  await h.close();
  context.disable();
  propagation.disable();
  trace.disable();
});

/** OpenTelemetry baggage `gray=<version>` beside `tenant=acme` (OTel-only code, a job helper). */
function withOtelGray(ctx: Context, version: string): Context {
  const bag = (propagation.getBaggage(ctx) ?? propagation.createBaggage())
    .setEntry('gray', { value: version })
    .setEntry('tenant', { value: 'acme' });
  return propagation.setBaggage(ctx, bag);
}
const otel = <T>(version: string, fn: () => Promise<T>): Promise<T> =>
  context.with(withOtelGray(context.active(), version), fn);

/** A lane with the member switched off; OpenTelemetry's context says gray=beta inside it. */
const off = <T>(fn: () => Promise<T>): Promise<T> =>
  runWithGray('beta', () => otel('beta', fn), { allowHosts: h.allow, baggageKey: false });
/** A lane that carries the member (beta); OpenTelemetry's context says `context` inside it. */
const on = <T>(ctxVersion: string, fn: () => Promise<T>): Promise<T> =>
  runWithGray('beta', () => otel(ctxVersion, fn), { allowHosts: h.allow });

async function inMiddleware(fn: () => Promise<void>): Promise<void> {
  const id = `job${++seq}`;
  jobs.set(id, fn);
  const res = await fetch(`${mw}/${id}`, { headers: { 'x-gray-id': 'stable' } });
  expect(await res.text()).toBe('ok');
}

const composite = (...propagators: TextMapPropagator[]): TextMapPropagator =>
  new CompositePropagator({ propagators });
const tc = (): TextMapPropagator => new W3CTraceContextPropagator();
const w3c = (): TextMapPropagator => new W3CBaggagePropagator();

interface PropagatorSet {
  readonly name: string;
  readonly make: () => TextMapPropagator;
  readonly w3c: boolean;
  readonly jaeger: boolean;
  readonly ot: boolean;
}

const SETS: PropagatorSet[] = [
  {
    name: 'sdk-node default (tracecontext, baggage)',
    make: () => composite(tc(), w3c()),
    w3c: true,
    jaeger: false,
    ot: false,
  },
  {
    name: 'OTEL_PROPAGATORS=jaeger',
    make: () => new JaegerPropagator(),
    w3c: false,
    jaeger: true,
    ot: false,
  },
  {
    name: 'OTEL_PROPAGATORS=ottrace',
    make: () => new OTTracePropagator(),
    w3c: false,
    jaeger: false,
    ot: true,
  },
  {
    name: 'OTEL_PROPAGATORS=tracecontext,baggage,jaeger,ottrace',
    make: () => composite(tc(), w3c(), new JaegerPropagator(), new OTTracePropagator()),
    w3c: true,
    jaeger: true,
    ot: true,
  },
];

const CLIENT_NAMES = [
  'http.get',
  'http.request',
  'https.get',
  'https.request',
  'fetch',
  'undici.request',
  'undici.request, own Agent',
  'undici.request, Agent.compose(grayInterceptor())',
  'undici.fetch',
  'axios (http adapter)',
  'axios (fetch adapter)',
  'withGray(fetch)',
  'attachGray(axios http)',
  'attachGray(axios fetch)',
];
const FOLLOWERS = [
  'fetch',
  'undici.fetch',
  'axios (http adapter)',
  'axios (fetch adapter)',
  'withGray(fetch)',
  'attachGray(axios http)',
  'attachGray(axios fetch)',
];
const client = (name: string): Client => {
  const c = clients.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no client ${name}`);
  return c;
};
const named = (names: string[]) => names.map((n) => [n] as const);

describe.each(SETS)('$name', (set) => {
  beforeAll(() => {
    propagation.disable();
    propagation.setGlobalPropagator(set.make());
  });
  /** Every format the set writes, saying `version`. */
  const every = (version: string, ids: string[]): Carried => ({
    ids,
    w3c: set.w3c ? [version] : [],
    jaeger: set.jaeger ? [version] : [],
    ot: set.ot ? [version] : [],
  });
  const tenant = set.w3c ? ['tenant=acme'] : [];

  it.each(named(CLIENT_NAMES))(
    'OTB-02 markers.baggage: false, OpenTelemetry context gray=beta: an allowlisted host gets the marker and no gray member in any format: %s',
    async (name) => {
      const c = client(name);
      const id = `a${++seq}`;
      await off(() => c.send(`${h.origin[target(c, 'a')]}/echo/${id}`, {}));
      const got = hop(h, id, target(c, 'a'));
      expect(carried(got)).toEqual({ ...NOTHING, ids: ['beta'] });
      expect(others(got)).toEqual(tenant);
    },
  );

  it.each(named(CLIENT_NAMES))(
    'I8 OTB-01 markers.baggage: false, OpenTelemetry context gray=beta: a host that is not allowlisted gets no gray member in any format: %s',
    async (name) => {
      const c = client(name);
      const id = `b${++seq}`;
      await off(() => c.send(`${h.origin[target(c, 'b')]}/echo/${id}`, {}));
      const got = hop(h, id, target(c, 'b'));
      expect(carried(got)).toEqual(NOTHING);
      expect(others(got)).toEqual(tenant);
    },
  );

  it.each(named(CLIENT_NAMES))(
    'OUT-03 OTB-02 markers.baggage: false: the caller’s X-Gray-Id stays on an allowlisted host, OpenTelemetry’s gray member beside it goes: %s',
    async (name) => {
      const c = client(name);
      const id = `c${++seq}`;
      const out = `c${++seq}`;
      await off(async () => {
        await c.send(`${h.origin[target(c, 'a')]}/echo/${id}`, { 'X-Gray-Id': 'stable' });
        await c.send(`${h.origin[target(c, 'b')]}/echo/${out}`, { 'X-Gray-Id': 'stable' });
      });
      expect(carried(hop(h, id, target(c, 'a')))).toEqual({ ...NOTHING, ids: ['stable'] });
      expect(carried(hop(h, out, target(c, 'b')))).toEqual(NOTHING);
    },
  );

  it.each(named(FOLLOWERS))(
    'RDR-01 OTB-02 markers.baggage: false, a redirect from the allowlisted host to one that is not: no gray member on either hop: %s',
    async (name) => {
      const c = client(name);
      const id = `r${++seq}`;
      await off(() => c.send(redirect(h, id, h.origin.b), {}));
      expect(carried(hop(h, id, 'a'))).toEqual({ ...NOTHING, ids: ['beta'] });
      expect(carried(hop(h, id, 'b'))).toEqual(NOTHING);
    },
  );

  it.each(named(CLIENT_NAMES))(
    'OTB-02 the handler of a middleware with markers.baggage: false, OTel-only code sets gray=beta: %s',
    async (name) => {
      const c = client(name);
      const id = `m${++seq}`;
      const out = `m${++seq}`;
      await inMiddleware(() =>
        otel('beta', async () => {
          await c.send(`${h.origin[target(c, 'a')]}/echo/${id}`, {});
          await c.send(`${h.origin[target(c, 'b')]}/echo/${out}`, {});
        }),
      );
      expect(carried(hop(h, id, target(c, 'a')))).toEqual({ ...NOTHING, ids: ['stable'] });
      expect(carried(hop(h, out, target(c, 'b')))).toEqual(NOTHING);
    },
  );

  it.each(named(CLIENT_NAMES))(
    'OTB-01 OUT-04 a lane that carries the member, context says stable: an allowlisted host gets the decided version in the marker and every member format (attachGray with the http adapter under installGlobal): %s',
    async (name) => {
      const c = client(name);
      const id = `d${++seq}`;
      await on('stable', () => c.send(`${h.origin[target(c, 'a')]}/echo/${id}`, {}));
      expect(carried(hop(h, id, target(c, 'a')))).toEqual({
        ...every('beta', ['beta']),
        // graylane writes the W3C member itself, whatever the set.
        w3c: ['beta'],
      });
    },
  );

  it.each(named(CLIENT_NAMES))(
    'OUT-03 a lane that carries the member, the caller’s X-Gray-Id: stable, context says beta: every gray member on the allowlisted host says stable too: %s',
    async (name) => {
      const c = client(name);
      const id = `o${++seq}`;
      await on('beta', () =>
        c.send(`${h.origin[target(c, 'a')]}/echo/${id}`, { 'X-Gray-Id': 'stable' }),
      );
      expect(carried(hop(h, id, target(c, 'a')))).toEqual(every('stable', ['stable']));
    },
  );
});
