import http from 'node:http';
import { createRequire } from 'node:module';
import net, { type AddressInfo } from 'node:net';
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
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';
import { OTTracePropagator } from '@opentelemetry/propagator-ot-trace';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import axios from 'axios';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachGray,
  createGraylane,
  installGlobal,
  runWithGray,
  withGray,
} from '../../src/index.js';

/*
 * OTB-01, I8, RDR-01, OTB-02 with OpenTelemetry propagators that carry baggage in headers of
 * their own: Jaeger's `uberctx-<key>` (`@opentelemetry/propagator-jaeger`, OTEL_PROPAGATORS
 * `jaeger`) and OT's `ot-baggage-<key>` (`@opentelemetry/propagator-ot-trace`); B3 carries none.
 * The real http and undici instrumentations inject them, real loopback servers record them.
 * `installGlobal({ allowHosts: [a] })` runs on top of OpenTelemetry (the documented order):
 * - in a lane, a hop to `b` (not allowlisted) carried `uberctx-gray: beta` / `ot-baggage-gray:
 *   beta` from the context on the old code; an allowlisted hop now carries the decided version
 *   in every format the propagators used, never another one from the context;
 * - with no lane (an OTel-only hop, a job under `context.with(setGrayBaggage(…))`), a hop to `b`
 *   carried OpenTelemetry's `gray` member in every format: `installGlobal()` returned early;
 * - a member the app wrote with an escaped key (`%67ray=beta`, read as `gray` by every W3C reader,
 *   OpenTelemetry included) reached `b` through `http.request`: the removal looked for the
 *   literal key only;
 * - inbound (OTB-02): a client's `uberctx-gray: beta` / `ot-baggage-gray: beta`, which the
 *   propagator extracts into the context's baggage, never reaches the next hop in `edge` mode or
 *   with `markers.baggage: false`.
 */

interface Seen {
  readonly id: string;
  readonly server: 'a' | 'b';
  readonly raw: readonly string[];
}

const seen: Seen[] = [];
const servers: http.Server[] = [];
let a = '';
let b = '';
let uninstall: () => void;
const instrumentations: { disable(): void }[] = [];
let seq = 0;

function recorder(name: 'a' | 'b'): http.Server {
  return http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const [, kind, id = ''] = url.pathname.split('/');
      seen.push({ id, server: name, raw: req.rawHeaders });
      if (kind === 'r') {
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
        res.end();
        return;
      }
      res.end('ok');
    });
  });
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  // A recording tracer: OT's propagator writes its baggage only beside a valid span context.
  trace.setGlobalTracerProvider(new BasicTracerProvider());
  instrumentations.push(new HttpInstrumentation(), new UndiciInstrumentation());
  // require-in-the-middle patches node:http when it is required.
  createRequire(import.meta.url)('node:http');
  expect(http.request.name, 'OpenTelemetry wrapped http.request').toBe('outgoingRequest');
  a = await listen(recorder('a'));
  b = await listen(recorder('b'));
  uninstall = installGlobal({ allowHosts: [a] });
  attachWrappers();
});

afterAll(async () => {
  uninstall();
  for (const i of instrumentations) i.disable();
  context.disable();
  propagation.disable();
  trace.disable();
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    ),
  );
});

function usePropagator(make: () => TextMapPropagator): void {
  beforeAll(() => {
    propagation.disable();
    propagation.setGlobalPropagator(make());
  });
}

// ---------------------------------------------------------------------------------------------
// What a hop carried, read as the next hop's readers read it.

function lines(h: Seen, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < h.raw.length; i += 2)
    if (h.raw[i]?.toLowerCase() === name) out.push(h.raw[i + 1] as string);
  return out;
}

/** Every `baggage` member whose key OpenTelemetry decodes to `gray` (trimmed, `%`-decoded), its value. */
function w3cGray(h: Seen): string[] {
  const out: string[] = [];
  for (const line of lines(h, 'baggage'))
    for (const entry of line.split(',')) {
      const pair = entry.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      try {
        if (decodeURIComponent(pair.slice(0, eq).trim()) === 'gray')
          out.push(decodeURIComponent(pair.slice(eq + 1).trim()));
      } catch {
        // OpenTelemetry skips a member that does not decode.
      }
    }
  return out;
}

interface Carried {
  readonly ids: string[];
  readonly w3c: string[];
  readonly jaeger: string[];
  readonly ot: string[];
}

function carried(h: Seen | undefined): Carried {
  if (h === undefined) throw new Error('the hop never arrived');
  return {
    ids: lines(h, 'x-gray-id'),
    w3c: w3cGray(h),
    jaeger: lines(h, 'uberctx-gray'),
    ot: lines(h, 'ot-baggage-gray'),
  };
}

const NOTHING: Carried = { ids: [], w3c: [], jaeger: [], ot: [] };

const hop = (id: string, server: 'a' | 'b'): Seen | undefined =>
  seen.find((s) => s.id === id && s.server === server);

// ---------------------------------------------------------------------------------------------
// Clients: every one graylane judges, with installGlobal on top of OpenTelemetry.

type Send = (url: string, headers: Record<string, string>) => Promise<void>;

const node =
  (method: 'get' | 'request'): Send =>
  (url, headers) =>
    new Promise((resolve, reject) => {
      const req = http[method](
        url,
        { method: method === 'get' ? 'GET' : 'POST', headers },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      if (method === 'request') req.end('body');
    });

const axiosHttp = axios.create({ adapter: 'http' });
const axiosFetch = axios.create({ adapter: 'fetch' });
const attachedHttp = axios.create({ adapter: 'http' });
const attachedFetch = axios.create({ adapter: 'fetch' });
const grayFetch = withGray(fetch);
/** Attached once OpenTelemetry's undici listener is subscribed (graylane's must come after it). */
function attachWrappers(): void {
  attachGray(attachedHttp);
  attachGray(attachedFetch);
}

interface Client {
  readonly name: string;
  readonly send: Send;
  /** Follows a redirect itself. */
  readonly follows: boolean;
}

const CLIENTS: Client[] = [
  { name: 'http.get', send: node('get'), follows: false },
  { name: 'http.request', send: node('request'), follows: false },
  {
    name: 'fetch',
    send: async (u, h) => void (await (await fetch(u, { headers: h })).text()),
    follows: true,
  },
  {
    name: 'undici.request',
    send: async (u, h) => void (await (await undici.request(u, { headers: h })).body.text()),
    follows: false,
  },
  {
    name: 'undici.fetch',
    send: async (u, h) => void (await (await undici.fetch(u, { headers: h })).text()),
    follows: true,
  },
  {
    name: 'axios (http adapter)',
    send: async (u, h) => void (await axiosHttp.get(u, { headers: h })),
    follows: true,
  },
  {
    name: 'axios (fetch adapter)',
    send: async (u, h) => void (await axiosFetch.get(u, { headers: h })),
    follows: true,
  },
  {
    name: 'withGray(fetch)',
    send: async (u, h) => void (await (await grayFetch(u, { headers: h })).text()),
    follows: true,
  },
  {
    name: 'attachGray(axios http)',
    send: async (u, h) => void (await attachedHttp.get(u, { headers: h })),
    follows: true,
  },
  {
    name: 'attachGray(axios fetch)',
    send: async (u, h) => void (await attachedFetch.get(u, { headers: h })),
    follows: true,
  },
];

/** OpenTelemetry baggage `gray=<version>` (the docs' job helper), other members kept. */
function withOtelGray(ctx: Context, version: string): Context {
  const bag = (propagation.getBaggage(ctx) ?? propagation.createBaggage())
    .setEntry('gray', { value: version })
    .setEntry('tenant', { value: 'acme' });
  return propagation.setBaggage(ctx, bag);
}

const inLane = <T>(fn: () => Promise<T>): Promise<T> =>
  runWithGray('beta', fn, { allowHosts: [a] });
const noLane = <T>(fn: () => Promise<T>): Promise<T> =>
  context.with(withOtelGray(context.active(), 'beta'), fn);

const redirect = (id: string, to: string): string =>
  `${a}/r/${id}?to=${encodeURIComponent(`${to}/echo/${id}`)}`;

// ---------------------------------------------------------------------------------------------
// Propagator sets, as an app configures them (OTEL_PROPAGATORS or a composite).

interface PropagatorSet {
  readonly name: string;
  readonly make: () => TextMapPropagator;
  /** Which formats carry baggage in this set. */
  readonly w3c: boolean;
  readonly jaeger: boolean;
  readonly ot: boolean;
}

const composite = (...propagators: TextMapPropagator[]): TextMapPropagator =>
  new CompositePropagator({ propagators });
const tc = (): TextMapPropagator => new W3CTraceContextPropagator();
const w3c = (): TextMapPropagator => new W3CBaggagePropagator();

const SETS: PropagatorSet[] = [
  {
    name: 'OTEL_PROPAGATORS=tracecontext,baggage,jaeger',
    make: () => composite(tc(), w3c(), new JaegerPropagator()),
    w3c: true,
    jaeger: true,
    ot: false,
  },
  {
    name: 'jaeger first, then tracecontext and baggage',
    make: () => composite(new JaegerPropagator(), tc(), w3c()),
    w3c: true,
    jaeger: true,
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
    name: 'tracecontext, baggage, ottrace',
    make: () => composite(tc(), w3c(), new OTTracePropagator()),
    w3c: true,
    jaeger: false,
    ot: true,
  },
  {
    name: 'jaeger and ottrace, no W3C baggage',
    make: () => composite(new OTTracePropagator(), new JaegerPropagator()),
    w3c: false,
    jaeger: true,
    ot: true,
  },
  {
    name: 'OTEL_PROPAGATORS=tracecontext,baggage,b3multi (B3 carries no baggage)',
    make: () =>
      composite(tc(), w3c(), new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER })),
    w3c: true,
    jaeger: false,
    ot: false,
  },
  {
    name: 'sdk-node default (tracecontext, baggage)',
    make: () => composite(tc(), w3c()),
    w3c: true,
    jaeger: false,
    ot: false,
  },
];

describe.each(SETS)('$name', (set) => {
  usePropagator(set.make);
  /** What an allowlisted hop carries: the decided version in every format the set uses. */
  const decided = (version: string): Carried => ({
    ids: [],
    w3c: set.w3c ? [version] : [],
    jaeger: set.jaeger ? [version] : [],
    ot: set.ot ? [version] : [],
  });

  it.each(CLIENTS.map((c) => [c.name, c] as const))(
    'OTB-01 I8 in a lane, a host that is not allowlisted gets no gray member in any format: %s',
    async (_name, client) => {
      const id = `l${++seq}`;
      await inLane(() => client.send(`${b}/echo/${id}`, {}));
      expect(carried(hop(id, 'b'))).toEqual(NOTHING);
    },
  );

  // attachGray with the http adapter included: installGlobal aligns the member beside the
  // marker attachGray set (OpenTelemetry's http instrumentation had replaced its `baggage`).
  it.each(CLIENTS.map((c) => [c.name, c] as const))(
    'OTB-01 in a lane, an allowlisted host gets the decided version in every format the propagators use, though the context says stable: %s',
    async (_name, client) => {
      const id = `d${++seq}`;
      await inLane(() =>
        context.with(withOtelGray(context.active(), 'stable'), () =>
          client.send(`${a}/echo/${id}`, {}),
        ),
      );
      expect(carried(hop(id, 'a'))).toEqual({
        ...decided('beta'),
        ids: ['beta'],
        // graylane writes the W3C member itself, whatever the set.
        w3c: ['beta'],
      });
    },
  );

  it.each(CLIENTS.map((c) => [c.name, c] as const))(
    'OTB-01 I8 no lane, OpenTelemetry baggage gray=beta: a host that is not allowlisted gets no gray member in any format: %s',
    async (_name, client) => {
      const id = `n${++seq}`;
      await noLane(() => client.send(`${b}/echo/${id}`, {}));
      expect(carried(hop(id, 'b'))).toEqual(NOTHING);
    },
  );

  it.each(CLIENTS.map((c) => [c.name, c] as const))(
    'OTB-01 no lane, OpenTelemetry baggage gray=beta: an allowlisted host gets it as OpenTelemetry wrote it: %s',
    async (_name, client) => {
      const id = `k${++seq}`;
      await noLane(() => client.send(`${a}/echo/${id}`, {}));
      // undici.request's request is created outside its own dispatch: graylane cannot tell its
      // baggage from another request's and removes the member (I7; docs/node.md, the price of
      // that fail-safe).
      expect(carried(hop(id, 'a'))).toEqual(
        client.name === 'undici.request' ? NOTHING : decided('beta'),
      );
    },
  );

  const followers = CLIENTS.filter((c) => c.follows).map((c) => [c.name, c] as const);
  it.each(followers)(
    'RDR-01 OTB-01 in a lane, a redirect from the allowlisted host to one that is not: no gray member there in any format: %s',
    async (_name, client) => {
      const id = `r${++seq}`;
      await inLane(() => client.send(redirect(id, b), {}));
      expect(carried(hop(id, 'b'))).toEqual(NOTHING);
    },
  );

  it.each(followers)(
    'RDR-01 I8 no lane, OpenTelemetry baggage gray=beta, a redirect to a host that is not allowlisted: no gray member there: %s',
    async (_name, client) => {
      const id = `s${++seq}`;
      await noLane(() => client.send(redirect(id, b), {}));
      expect(carried(hop(id, 'b'))).toEqual(NOTHING);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// What the app writes itself, in every spelling a reader takes for the member (I8).

describe('I8 OTB-01 markers the app writes, in every spelling the next hop reads as the marker', () => {
  // Trace context only: no propagator rewrites the app's `baggage` header on any client.
  usePropagator(tc);

  /** Baggage values holding a member every W3C reader (OpenTelemetry's too) reads as `gray`. */
  const BAGGAGE: string[] = [
    'gray=beta',
    '%67ray=beta',
    'g%72ay=beta',
    'gr%61y=beta',
    'gra%79=beta',
    '%67%72%61%79=beta',
    '%67r%61y=beta',
    'gray=%62eta',
    ' gray =beta',
    '\tgray\t=beta',
    'gray=beta;ttl=10',
    '%67ray=beta;p',
    'a=1,%67ray=beta',
    'a=1, gr%61y = beta ;p=1,b=2',
    'gray=stable,%67ray=beta',
  ];
  /** Header lines another propagator reads as the member, or the marker header, any case. */
  const HEADERS: [string, string][] = [
    ['uberctx-gray', 'beta'],
    ['Uberctx-Gray', 'beta'],
    ['UBERCTX-GRAY', 'be%74a'],
    ['ot-baggage-gray', 'beta'],
    ['OT-Baggage-Gray', 'beta'],
    ['X-GRAY-ID', 'beta'],
    ['x-gray-id', 'stable'],
  ];
  const WHERE: [string, <T>(fn: () => Promise<T>) => Promise<T>][] = [
    ['in a lane', inLane],
    ['no lane', (fn) => fn()],
  ];

  const others = (h: Seen): string[] =>
    lines(h, 'baggage')
      .flatMap((l) => l.split(','))
      .map((m) => m.trim())
      .filter((m) => /^[ab]=/.test(m));

  it.each(
    BAGGAGE.flatMap((value) =>
      WHERE.flatMap(([where, run]) =>
        CLIENTS.map(
          (c) => [`baggage: ${JSON.stringify(value)}, ${where}, ${c.name}`, value, run, c] as const,
        ),
      ),
    ),
  )(
    'I8 a host that is not allowlisted gets no member read as gray: %s',
    async (_n, value, run, client) => {
      const id = `p${++seq}`;
      await run(() => client.send(`${b}/echo/${id}`, { baggage: value }));
      const h = hop(id, 'b');
      expect(carried(h)).toEqual(NOTHING);
      // The other members stay.
      const want = value
        .split(',')
        .map((m) => m.trim())
        .filter((m) => /^[ab]=/.test(m));
      expect(others(h!)).toEqual(want);
    },
  );

  it.each(
    BAGGAGE.flatMap((value) =>
      CLIENTS.map((c) => [`baggage: ${JSON.stringify(value)}, ${c.name}`, value, c] as const),
    ),
  )(
    'OUT-01 in a lane, an allowlisted host gets exactly one member read as gray, the decided one: %s',
    async (_n, value, client) => {
      const id = `q${++seq}`;
      await inLane(() =>
        client.send(`${a}/echo/${id}`, { baggage: value.replace('beta', 'stable') }),
      );
      const got = carried(hop(id, 'a'));
      expect(got.ids).toEqual(['beta']);
      expect(got.w3c).toEqual(['beta']);
    },
  );

  it.each(
    HEADERS.flatMap(([name, value]) =>
      WHERE.flatMap(([where, run]) =>
        CLIENTS.map(
          (c) => [`${name}: ${value}, ${where}, ${c.name}`, name, value, run, c] as const,
        ),
      ),
    ),
  )(
    'I8 a host that is not allowlisted gets neither the marker header nor a member header: %s',
    async (_n, name, value, run, client) => {
      const id = `h${++seq}`;
      await run(() => client.send(`${b}/echo/${id}`, { [name]: value, 'x-other': '1' }));
      const h = hop(id, 'b');
      expect(carried(h)).toEqual(NOTHING);
      expect(lines(h!, 'x-other')).toEqual(['1']);
    },
  );

  /** Not the member: another key (W3C keys are case-sensitive; Jaeger does not decode keys). */
  const NOT_OURS: [string, string][] = [
    ['baggage', 'GRAY=beta'],
    ['baggage', 'grayscale=1'],
    ['baggage', 'a=gray'],
    ['uberctx-%67ray', 'beta'],
    ['uberctx-grayscale', '1'],
    ['ot-baggage-grays', '1'],
  ];
  it.each(
    NOT_OURS.flatMap(([name, value]) =>
      WHERE.flatMap(([where, run]) =>
        CLIENTS.map(
          (c) => [`${name}: ${value}, ${where}, ${c.name}`, name, value, run, c] as const,
        ),
      ),
    ),
  )(
    'I1 what no reader takes for the member goes out as written: %s',
    async (_n, name, value, run, client) => {
      const id = `o${++seq}`;
      await run(() => client.send(`${b}/echo/${id}`, { [name]: value }));
      expect(lines(hop(id, 'b')!, name.toLowerCase())).toEqual([value]);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Inbound (OTB-02): the propagator extracts the client's member into the context.

describe('OTB-02 a client’s uberctx-gray / ot-baggage-gray never reaches the next hop', () => {
  usePropagator(() => composite(tc(), w3c(), new JaegerPropagator(), new OTTracePropagator()));
  const config = { versions: ['stable', 'beta'], default: 'stable', rules: [] };
  let edge = '';
  let off = '';
  beforeAll(async () => {
    const serve = (gray: ReturnType<typeof createGraylane>) =>
      http.createServer((req, res) =>
        gray.handle(req, res, async () => {
          const id = req.url?.slice(1) ?? '';
          await node('get')(`${a}/echo/${id}-get`, {});
          await (await fetch(`${a}/echo/${id}-fetch`)).text();
          res.end('ok');
        }),
      );
    edge = await listen(serve(createGraylane({ config, trust: 'edge', allowHosts: [a] })));
    off = await listen(
      serve(createGraylane({ config, markers: { baggage: false }, allowHosts: [a] })),
    );
  });

  const CLIENT_SENDS: [string, Record<string, string>][] = [
    ['uberctx-gray: beta', { 'uberctx-gray': 'beta' }],
    ['Uberctx-Gray: beta and baggage gray=beta', { 'Uberctx-Gray': 'beta', baggage: 'gray=beta' }],
    [
      'ot-baggage-gray: beta (with OT trace ids)',
      {
        'ot-tracer-traceid': '0000000000000001',
        'ot-tracer-spanid': '0000000000000002',
        'ot-tracer-sampled': 'true',
        'ot-baggage-gray': 'beta',
      },
    ],
  ];

  /** The client's request, written on a socket: no client-side hook can touch it. */
  const rawGet = (origin: string, path: string, headers: Record<string, string>): Promise<void> =>
    new Promise((resolve, reject) => {
      const { port } = new URL(origin);
      const head = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      const socket = net.connect(Number(port), '127.0.0.1', () =>
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${head}Connection: close\r\n\r\n`,
        ),
      );
      socket.resume();
      socket.on('end', () => resolve());
      socket.on('error', reject);
    });

  it.each(
    CLIENT_SENDS.flatMap(([name, headers]) =>
      (['edge', 'baggage: false'] as const).flatMap((mode) =>
        (['get', 'fetch'] as const).map(
          (via) => [`${mode}, ${name}, ${via}`, mode, headers, via] as const,
        ),
      ),
    ),
  )('OTB-02 %s', async (_n, mode, headers, via) => {
    const id = `i${++seq}`;
    await rawGet(mode === 'edge' ? edge : off, `/${id}`, headers);
    const got = carried(hop(`${id}-${via}`, 'a'));
    expect(got.ids).toEqual(['stable']);
    // The decided version where graylane carries the member, none where it does not.
    const member = mode === 'edge' ? ['stable'] : [];
    expect(got.w3c).toEqual(member);
    for (const v of [...got.jaeger, ...got.ot]) expect(v).toBe('stable');
    if (mode !== 'edge') expect([...got.jaeger, ...got.ot]).toEqual([]);
  });
});
