import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isGraylaneError, type Decision } from '@graylane/core';
import {
  createGraylaneGrpc,
  grayGrpcInterceptor,
  grayGrpcService,
  installGlobal,
  signMarker,
  tryGetGrayVersion,
  type GraylaneGrpc,
  type GraylaneGrpcOptions,
} from '../src/index.js';
import { GrpcCarrier, peerAddress } from '../src/inbound/grpc-carrier.js';

/*
 * Inbound gRPC (@grpc/grpc-js servers): a call is decided as an HTTP request is — trust modes
 * (GW-01/02, GW-04), signed markers, rules on the method path, `:authority` and metadata,
 * counters and onDecision once per call (GW-03) — and its handler, what it awaits and its
 * `data`/`end` listeners run in the call's lane (CTX-05), so outbound gRPC from it carries the
 * lane (OUT-01, a real 3-hop chain). Before, a grpc-js server was no inbound graylane read: the
 * docs told users to read `call.metadata` and call `runWithGray` by hand, which skipped all of it.
 * Every call is real: grpc-js servers and clients on 127.0.0.1, a hand-written JSON service.
 */

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (buffer: Buffer) => JSON.parse(buffer.toString()) as unknown,
};
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/graylane.test.Lanes/${name}`,
  requestStream,
  responseStream,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
});
const SERVICE = {
  echo: method('Echo', false, false),
  watch: method('Watch', false, true),
  up: method('Up', true, false),
  chat: method('Chat', true, true),
} satisfies grpc.ServiceDefinition;
type Kind = keyof typeof SERVICE;
const KINDS: readonly Kind[] = ['echo', 'watch', 'up', 'chat'];

/** What one handler saw: the lanes at each step, and the metadata after graylane. */
interface Seen {
  readonly lanes: string[];
  readonly marker: string[];
  readonly baggage: string[];
  readonly cookie: string[];
  readonly uber: string[];
  readonly other: string[];
  readonly call: string[];
  readonly c?: Seen[];
}

const KEY = 'grpc-signing-key-of-32-bytes-000';
const OTHER_KEY = 'another-key-that-did-not-sign-it';
const lane = () => tryGetGrayVersion() ?? '(none)';
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const text = (md: grpc.Metadata, key: string) => md.get(key).map(String);
const look = (md: grpc.Metadata, lanes: string[], c?: Seen[]): Seen => ({
  lanes,
  marker: text(md, 'x-gray-id'),
  baggage: text(md, 'baggage'),
  cookie: text(md, 'cookie'),
  uber: [...text(md, 'uberctx-gray'), ...text(md, 'ot-baggage-gray')],
  other: text(md, 'x-other'),
  call: text(md, 'x-call'),
  ...(c ? { c } : {}),
});

/**
 * The four kinds of handler; `hop` (when given) is an outbound call the handler makes from each
 * step — after an await, from a `data` listener — whose answer it returns.
 */
function implementation(hop?: () => Promise<Seen>) {
  const via = async () => (hop ? [await hop()] : undefined);
  return {
    echo: async (call: grpc.ServerUnaryCall<unknown, Seen>, done: grpc.sendUnaryData<Seen>) => {
      const first = lane();
      await tick();
      const c = await via();
      done(null, look(call.metadata, [first, lane()], c));
    },
    watch: async (call: grpc.ServerWritableStream<unknown, Seen>) => {
      call.write(look(call.metadata, [lane()]));
      await tick();
      call.write(look(call.metadata, [lane()], await via()));
      call.end();
    },
    up: (call: grpc.ServerReadableStream<unknown, Seen>, done: grpc.sendUnaryData<Seen>) => {
      const lanes = [lane()];
      const hops: Promise<Seen[] | undefined>[] = [];
      call.on('data', () => {
        lanes.push(lane());
        hops.push(via());
      });
      call.on('end', () => {
        lanes.push(lane());
        void Promise.all(hops).then((c) =>
          done(null, look(call.metadata, lanes, hop ? c.flatMap((x) => x ?? []) : undefined)),
        );
      });
    },
    chat: (call: grpc.ServerDuplexStream<unknown, Seen>) => {
      const first = lane();
      const hops: Promise<unknown>[] = [];
      call.on('data', () => {
        const at = lane();
        hops.push(via().then((c) => call.write(look(call.metadata, [first, at, lane()], c))));
      });
      call.on('end', () => {
        const at = lane();
        void Promise.all(hops).then(() => {
          call.write(look(call.metadata, [at]));
          call.end();
        });
      });
    },
  };
}

interface LanesClient extends grpc.Client {
  echo(
    req: unknown,
    md: grpc.Metadata,
    cb: (err: grpc.ServiceError | null, res?: Seen) => void,
  ): grpc.ClientUnaryCall;
  watch(req: unknown, md: grpc.Metadata): grpc.ClientReadableStream<Seen>;
  up(
    md: grpc.Metadata,
    cb: (err: grpc.ServiceError | null, res?: Seen) => void,
  ): grpc.ClientWritableStream<unknown>;
  chat(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, Seen>;
}
const Lanes = grpc.makeGenericClientConstructor(SERVICE, 'Lanes') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => LanesClient;

/** One call of `kind`; resolves with every message the handler answered and the response metadata. */
function call(
  c: LanesClient,
  kind: Kind,
  md: grpc.Metadata,
): Promise<{ seen: Seen[]; head: grpc.Metadata | undefined }> {
  return new Promise((resolve, reject) => {
    let head: grpc.Metadata | undefined;
    const out: Seen[] = [];
    const unary = (err: grpc.ServiceError | null, res?: Seen) =>
      err || !res ? reject(err ?? new Error('no response')) : resolve({ seen: [res], head });
    const streamed = (
      s: grpc.ClientReadableStream<Seen> | grpc.ClientDuplexStream<unknown, Seen>,
    ) => {
      s.on('metadata', (m: grpc.Metadata) => (head = m));
      s.on('data', (m: Seen) => out.push(m));
      s.on('error', reject);
      s.on('end', () => resolve({ seen: out, head }));
    };
    if (kind === 'echo') c.echo({}, md, unary).on('metadata', (m) => (head = m));
    else if (kind === 'watch') streamed(c.watch({}, md));
    else if (kind === 'up') {
      const s = c.up(md, unary);
      s.on('metadata', (m) => (head = m));
      s.write({});
      setImmediate(() => {
        s.write({});
        s.end();
      });
    } else {
      const s = c.chat(md);
      streamed(s);
      s.write({});
      setImmediate(() => {
        s.write({});
        s.end();
      });
    }
  });
}

/** Lanes each kind reports: echo 2, watch 1+1, up 1+2+1, chat (1+1+1)×2 + 1. */
const LANE_COUNT: Record<Kind, number> = { echo: 2, watch: 2, up: 4, chat: 7 };
const lanesOf = (seen: Seen[]) => seen.flatMap((s) => s.lanes);

const CONFIG = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    {
      id: 'watchers',
      match: { path: { equals: '/graylane.test.Lanes/Watch' } },
      version: 'canary',
    },
    { id: 'pro', match: { header: { 'x-plan': { equals: 'pro' } } }, version: 'beta' },
    { id: 'user', match: { attrs: { userId: { equals: 'u-7' } } }, version: 'beta' },
    { id: 'internal', match: { host: { equals: 'lanes.internal' } }, version: 'canary' },
    { id: 'bin', match: { header: { 'x-plan-bin': { exists: true } } }, version: 'canary' },
  ],
};
/** What the rules serve a call without an honoured marker (the `watchers` path rule). */
const ruled = (kind: Kind) => (kind === 'watch' ? 'canary' : 'stable');

type Mode = 'open' | 'edge' | 'trusted' | 'signed';
type Api = 'interceptor' | 'service' | 'both';
const MODES: readonly Mode[] = ['open', 'edge', 'trusted', 'signed'];
const APIS: readonly Api[] = ['interceptor', 'service', 'both'];

const decisions: { call: string; d: Decision }[] = [];
const options = (mode: Mode, extra: Partial<GraylaneGrpcOptions> = {}): GraylaneGrpcOptions => ({
  config: CONFIG,
  attributes: (c) => ({ userId: c.metadata.get('x-user').map(String)[0] }),
  onDecision: (d, c) => decisions.push({ call: c.metadata.get('x-call').map(String)[0] ?? '', d }),
  ...(mode === 'edge' ? { trust: 'edge', trustedProxies: ['10.0.0.0/8'] } : {}),
  ...(mode === 'trusted' ? { trust: 'edge', trustedProxies: ['127.0.0.1'] } : {}),
  ...(mode === 'signed' ? { trust: 'signed', keys: { k1: KEY } } : {}),
  ...extra,
});

/** Whether this machine has an IPv6 loopback to listen on (CI runners do; some containers not). */
const V6_LOOPBACK = await new Promise<boolean>((resolve) => {
  const probe = net.createServer();
  probe.once('error', () => resolve(false));
  probe.listen(0, '::1', () => probe.close(() => resolve(true)));
});

const servers = new Set<grpc.Server>();
const clients = new Set<grpc.Client>();

/** A server with the four handlers behind `api`; resolves with a client to it. */
async function serve(
  api: Api,
  gray: GraylaneGrpc | GraylaneGrpcOptions,
  impl: grpc.UntypedServiceImplementation = implementation(),
  at = '127.0.0.1',
  clientOptions: grpc.ClientOptions = {},
): Promise<{ client: LanesClient; port: number; gray: GraylaneGrpc }> {
  const g =
    'service' in gray && typeof gray.service === 'function'
      ? (gray as GraylaneGrpc)
      : createGraylaneGrpc(gray as GraylaneGrpcOptions);
  const server = new grpc.Server(api === 'service' ? {} : { interceptors: [g.interceptor(grpc)] });
  server.addService(SERVICE, api === 'interceptor' ? impl : g.service(impl));
  servers.add(server);
  const bind = at.includes(':') ? `[${at}]:0` : `${at}:0`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(bind, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const host = at.includes(':') ? `[${at}]` : at;
  const client = new Lanes(`${host}:${port}`, grpc.credentials.createInsecure(), clientOptions);
  clients.add(client);
  return { client, port, gray: g };
}

afterAll(() => {
  for (const c of clients) c.close();
  for (const s of servers) s.forceShutdown();
});

let seq = 0;
/** Metadata for one call, with a call id. */
function md(set: (m: grpc.Metadata) => void = () => undefined): grpc.Metadata {
  const m = new grpc.Metadata();
  set(m);
  m.set('x-call', `c${++seq}`);
  return m;
}

// --- Marker spellings × trust modes × the four call kinds × the three ways to mount it ---------

const token = (v: string, key = KEY) => signMarker(v, { key, kid: 'k1', ttlSeconds: 600 });
/** A spelling, and which modes honour it (the rest decide by the rules). */
const SPELLINGS: readonly [string, (m: grpc.Metadata) => void, Partial<Record<Mode, string>>][] = [
  ['no marker', () => undefined, {}],
  ['x-gray-id', (m) => m.set('x-gray-id', 'beta'), { open: 'beta', trusted: 'beta' }],
  [
    'X-Gray-Id (key in any case)',
    (m) => m.set('X-Gray-Id', 'beta'),
    { open: 'beta', trusted: 'beta' },
  ],
  ['baggage member', (m) => m.set('baggage', 'a=1,gray=beta'), { open: 'beta', trusted: 'beta' }],
  [
    'header and baggage agree',
    (m) => (m.set('x-gray-id', 'beta'), m.set('baggage', 'gray=beta')),
    { open: 'beta', trusted: 'beta' },
  ],
  [
    'conflicting: header beta, baggage canary',
    (m) => (m.set('x-gray-id', 'beta'), m.set('baggage', 'gray=canary,a=1')),
    { open: 'beta', trusted: 'beta' },
  ],
  ['invalid version', (m) => m.set('x-gray-id', 'nope'), {}],
  [
    'duplicate values (beta, beta)',
    (m) => (m.add('x-gray-id', 'beta'), m.add('x-gray-id', 'beta')),
    {},
  ],
  [
    'duplicate values (beta, canary)',
    (m) => (m.add('x-gray-id', 'beta'), m.add('x-gray-id', 'canary')),
    {},
  ],
  [
    'cookie (grpc-web)',
    (m) => m.set('cookie', 'sid=1; gray=beta'),
    { open: 'beta', trusted: 'beta' },
  ],
  ['signed token, valid', (m) => m.set('x-gray-id', token('beta')), { signed: 'beta' }],
  ['signed token, wrong key', (m) => m.set('x-gray-id', token('beta', OTHER_KEY)), {}],
  [
    'signed token in baggage',
    (m) => m.set('baggage', `gray=${token('canary')}`),
    { signed: 'canary' },
  ],
];

describe('GW-01/HDR spellings × trust modes × call kinds', () => {
  const running = new Map<string, LanesClient>();
  beforeAll(async () => {
    for (const api of APIS)
      for (const mode of MODES)
        running.set(`${api}/${mode}`, (await serve(api, options(mode))).client);
  });

  it.each(
    APIS.flatMap((api) =>
      MODES.flatMap((mode) => SPELLINGS.map((s) => [api, mode, ...s] as const)),
    ),
  )('%s, %s: %s', async (api, mode, _name, set, honoured) => {
    const client = running.get(`${api}/${mode}`)!;
    for (const kind of KINDS) {
      const want = honoured[mode] ?? ruled(kind);
      const m = md(set);
      const id = m.get('x-call')[0] as string;
      const { seen } = await call(client, kind, m);
      const lanes = lanesOf(seen);
      expect(lanes, `${kind} lanes`).toHaveLength(LANE_COUNT[kind]);
      expect(new Set(lanes), `${kind} lanes`).toEqual(new Set([want]));
      for (const s of seen) {
        // GW-01: what the handler (and a proxy forwarding call.metadata) sees says only `want`.
        expect(
          s.marker.every((v) => v === want),
          `${kind} x-gray-id ${s.marker}`,
        ).toBe(true);
        const members = s.baggage
          .join(',')
          .split(',')
          .filter((x) => x.startsWith('gray='));
        expect(
          members.every((x) => x === `gray=${want}`),
          `${kind} baggage ${s.baggage}`,
        ).toBe(true);
        const pairs = s.cookie
          .join(';')
          .split(';')
          .map((x) => x.trim());
        const grays = pairs.filter((x) => x.startsWith('gray='));
        expect(
          grays.every((x) => x === `gray=${want}`),
          `${kind} cookie ${s.cookie}`,
        ).toBe(true);
        if (s.cookie.length > 0) expect(pairs, `${kind} other cookies kept`).toContain('sid=1');
        if (mode === 'edge')
          expect([s.marker, members, grays], `${kind} edge removes`).toEqual([[], [], []]);
        // Nothing else of the call is touched.
        expect(s.call, kind).toEqual([id]);
      }
      // GW-03: one decision per call, whatever decides it (interceptor and service: once).
      expect(
        decisions.filter((x) => x.call === id).map((x) => x.d.version),
        kind,
      ).toEqual([want]);
    }
  });
});

// --- Rules decide a call without a marker: metadata, attributes, :authority, the method path ---

describe('rules on a call with no honoured marker', () => {
  const ROWS: readonly [
    string,
    (m: grpc.Metadata) => void,
    grpc.ClientOptions,
    (k: Kind) => string,
  ][] = [
    [
      'a header rule on metadata (x-plan: pro)',
      (m) => m.set('x-plan', 'pro'),
      {},
      (k) => (k === 'watch' ? 'canary' : 'beta'),
    ],
    [
      'an attribute from metadata (x-user: u-7)',
      (m) => m.set('x-user', 'u-7'),
      {},
      (k) => (k === 'watch' ? 'canary' : 'beta'),
    ],
    [
      'a host rule on :authority',
      () => undefined,
      { 'grpc.default_authority': 'lanes.internal' },
      () => 'canary',
    ],
    [
      'a -bin key is never read as a header (x-plan-bin)',
      (m) => m.set('x-plan-bin', Buffer.from('pro')),
      {},
      ruled,
    ],
    ['the method path (Watch → canary), nothing else', () => undefined, {}, ruled],
  ];
  it.each(
    APIS.flatMap((api) =>
      (['open', 'edge', 'signed'] as const).flatMap((mode) =>
        ROWS.map((r) => [api, mode, ...r] as const),
      ),
    ),
  )('%s, %s: %s', async (api, mode, _name, set, clientOptions, want) => {
    const { client } = await serve(
      api,
      options(mode),
      implementation(),
      '127.0.0.1',
      clientOptions,
    );
    for (const kind of KINDS) {
      // No marker in open mode; in edge and signed mode a client's bare label changes nothing.
      const marker = (m: grpc.Metadata) => mode !== 'open' && m.set('x-gray-id', 'stable');
      const { seen } = await call(
        client,
        kind,
        md((m) => (set(m), marker(m))),
      );
      expect(new Set(lanesOf(seen)), kind).toEqual(new Set([want(kind)]));
    }
  });
});

// --- I7: concurrent calls of different lanes on one channel never mix ---------------------------

describe('I7 concurrent calls of three lanes on one channel, interleaved awaits', () => {
  it.each(APIS)('%s', async (api) => {
    const { client } = await serve(api, options('open'));
    const jobs = Array.from({ length: 48 }, (_, i) => {
      const kind = KINDS[i % 4]!;
      const version = (['beta', 'canary', 'stable'] as const)[i % 3]!;
      return { kind, version };
    });
    const results = await Promise.all(
      jobs.map(({ kind, version }) =>
        call(
          client,
          kind,
          md((m) => m.set('x-gray-id', version)),
        ),
      ),
    );
    for (const [i, r] of results.entries()) {
      expect(lanesOf(r.seen), `${i} ${jobs[i]!.kind}`).toEqual(
        Array(LANE_COUNT[jobs[i]!.kind]).fill(jobs[i]!.version),
      );
    }
  });
});

// --- OUT-01: a real 3-hop chain (client → A → B), A's handler calling B with the interceptor ---

describe('OUT-01/GW-01 a 3-hop chain: test client → A (graylane) → B (graylane)', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => {
    uninstall?.();
    uninstall = undefined;
  });

  /** B answers what it saw; A calls B from every step of its handler. */
  async function chain(api: Api, modeA: Mode, forward: boolean) {
    const b = await serve(api, options('open'));
    const toB = new Lanes(`127.0.0.1:${b.port}`, grpc.credentials.createInsecure(), {
      interceptors: [grayGrpcInterceptor(grpc)],
    });
    clients.add(toB);
    let incoming: grpc.Metadata | undefined;
    const hop = () =>
      call(toB, 'echo', forward && incoming ? incoming.clone() : md()).then((r) => r.seen[0]!);
    const impl = implementation(hop);
    // A forwards (GW-01: a proxy passing call.metadata on) or builds fresh metadata.
    const keep =
      <C extends { metadata: grpc.Metadata }, A extends unknown[]>(
        f: (c: C, ...rest: A) => unknown,
      ) =>
      (c: C, ...rest: A) => {
        incoming = c.metadata;
        return f(c, ...rest);
      };
    const a = await serve(api, options(modeA, { allowHosts: [`127.0.0.1:${b.port}`] }), {
      echo: keep(impl.echo),
      watch: keep(impl.watch),
      up: keep(impl.up),
      chat: keep(impl.chat),
    });
    return a.client;
  }

  it.each(APIS.flatMap((api) => [false, true].map((forward) => [api, forward] as const)))(
    '%s (A forwards call.metadata: %s): B sees the lane A decided, from every step of every kind',
    async (api, forward) => {
      uninstall = installGlobal();
      const client = await chain(api, 'open', forward);
      for (const kind of KINDS) {
        for (const version of ['beta', 'canary'] as const) {
          const { seen } = await call(
            client,
            kind,
            md((m) => m.set('x-gray-id', version)),
          );
          const atB = seen.flatMap((s) => s.c ?? []);
          expect(atB.length, kind).toBeGreaterThan(0);
          for (const s of atB) {
            expect(s.lanes, kind).toEqual([version, version]);
            expect(s.marker, kind).toEqual([version]);
            // Forwarded, the caller's own marker header travels as it is (OUT-03: never added twice).
            expect(s.baggage, kind).toEqual(forward ? [] : [`gray=${version}`]);
          }
        }
      }
    },
  );

  it.each(APIS.flatMap((api) => [false, true].map((forward) => [api, forward] as const)))(
    '%s (forwarding: %s): A in edge mode decides by its rules; B never sees the client’s marker',
    async (api, forward) => {
      uninstall = installGlobal();
      const client = await chain(api, 'edge', forward);
      for (const kind of KINDS) {
        const m = md(
          (x) => (
            x.set('x-gray-id', 'canary'),
            x.set('baggage', 'gray=canary'),
            x.set('x-plan', 'pro')
          ),
        );
        const { seen } = await call(client, kind, m);
        const want = kind === 'watch' ? 'canary' : 'beta';
        for (const s of seen.flatMap((x) => x.c ?? [])) {
          expect([s.lanes, s.marker, s.baggage], kind).toEqual([
            [want, want],
            [want],
            [`gray=${want}`],
          ]);
        }
      }
    },
  );

  it('without installGlobal the chain carries nothing, and B decides by its own rules (control)', async () => {
    const client = await chain('service', 'open', false);
    const { seen } = await call(
      client,
      'echo',
      md((m) => m.set('x-gray-id', 'beta')),
    );
    expect(seen[0]!.lanes).toEqual(['beta', 'beta']);
    expect(seen[0]!.c?.[0]).toMatchObject({ lanes: ['stable', 'stable'], marker: [] });
  });
});

// --- GW-02: what the handler's call.metadata holds after an edge decision -----------------------

describe('GW-02 edge: every marker carrier is gone from call.metadata, the rest kept', () => {
  const everything = (m: grpc.Metadata) => {
    m.set('x-gray-id', 'beta');
    m.set('baggage', 'a=1,gray=beta,b=2');
    m.set('cookie', 'sid=1; gray=beta; __Host-gray=canary');
    m.set('uberctx-gray', 'beta');
    m.set('ot-baggage-gray', 'beta');
    m.set('x-other', 'kept');
  };
  it.each(APIS.flatMap((api) => KINDS.map((kind) => [api, kind] as const)))(
    '%s, %s',
    async (api, kind) => {
      const { client } = await serve(api, options('edge'));
      const { seen } = await call(client, kind, md(everything));
      for (const s of seen)
        expect(s).toMatchObject({
          marker: [],
          baggage: ['a=1,b=2'],
          cookie: ['sid=1'],
          uber: [],
          other: ['kept'],
        });
    },
  );

  it.each(APIS)('%s, from a trusted peer (127.0.0.1): kept as sent (control)', async (api) => {
    const { client } = await serve(api, options('trusted'));
    const { seen } = await call(
      client,
      'echo',
      md((m) => (m.set('x-gray-id', 'beta'), m.set('baggage', 'a=1,gray=beta'))),
    );
    expect(seen[0]).toMatchObject({
      lanes: ['beta', 'beta'],
      marker: ['beta'],
      baggage: ['a=1,gray=beta'],
    });
  });
});

// --- GW-03: counters and onDecision once per call; a stricter layer decides again --------------

describe('GW-03 one decision per call; a stricter layer decides again', () => {
  it.each(KINDS)(
    '%s: interceptor and service of one instance: stats and onDecision count each call once',
    async (kind) => {
      const gray = createGraylaneGrpc(options('open'));
      const { client } = await serve('both', gray);
      const before = gray.stats().decisions.reduce((n, d) => n + d.count, 0);
      const ids: string[] = [];
      for (const v of ['beta', 'canary', 'nope']) {
        const m = md((x) => x.set('x-gray-id', v));
        ids.push(m.get('x-call')[0] as string);
        await call(client, kind, m);
      }
      expect(gray.stats().decisions.reduce((n, d) => n + d.count, 0) - before).toBe(3);
      for (const id of ids) expect(decisions.filter((x) => x.call === id)).toHaveLength(1);
    },
  );

  it.each(KINDS)(
    '%s: two graylane interceptors on one server (open, then edge): the edge one decides again, every step runs in its lane',
    async (kind) => {
      const open = createGraylaneGrpc(options('open'));
      const edge = createGraylaneGrpc(options('edge'));
      const server = new grpc.Server({
        interceptors: [open.interceptor(grpc), edge.interceptor(grpc)],
      });
      server.addService(SERVICE, implementation());
      servers.add(server);
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
          e ? reject(e) : resolve(p),
        ),
      );
      const client = new Lanes(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      clients.add(client);
      const m = md((x) => (x.set('x-gray-id', 'beta'), x.set('x-plan', 'pro')));
      const { seen } = await call(client, kind, m);
      const want = ruled(kind) === 'canary' ? 'canary' : 'beta';
      expect(new Set(lanesOf(seen))).toEqual(new Set([want]));
      for (const s of seen) expect(s.marker).toEqual([]);
      expect(decisions.filter((x) => x.call === m.get('x-call')[0]).length).toBe(2);
    },
  );

  it.each(KINDS)(
    '%s: an open interceptor, an edge service wrapper (separate instances): the wrapper’s decision serves the handler and its listeners',
    async (kind) => {
      const server = new grpc.Server({
        interceptors: [createGraylaneGrpc(options('open')).interceptor(grpc)],
      });
      server.addService(SERVICE, createGraylaneGrpc(options('edge')).service(implementation()));
      servers.add(server);
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
          e ? reject(e) : resolve(p),
        ),
      );
      const client = new Lanes(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      clients.add(client);
      const { seen } = await call(
        client,
        kind,
        md((x) => x.set('x-gray-id', 'beta')),
      );
      expect(new Set(lanesOf(seen))).toEqual(new Set([ruled(kind)]));
      for (const s of seen) expect(s.marker).toEqual([]);
    },
  );

  it.each(KINDS)(
    '%s: an edge interceptor, an open service wrapper: the wrapper reuses the stricter decision',
    async (kind) => {
      const server = new grpc.Server({
        interceptors: [createGraylaneGrpc(options('edge')).interceptor(grpc)],
      });
      server.addService(SERVICE, createGraylaneGrpc(options('open')).service(implementation()));
      servers.add(server);
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
          e ? reject(e) : resolve(p),
        ),
      );
      const client = new Lanes(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      clients.add(client);
      const m = md((x) => x.set('x-gray-id', 'beta'));
      const { seen } = await call(client, kind, m);
      expect(new Set(lanesOf(seen))).toEqual(new Set([ruled(kind)]));
      expect(decisions.filter((x) => x.call === m.get('x-call')[0]).length).toBe(1);
    },
  );
});

// --- The debug header goes out as response metadata (interceptor only) -------------------------

describe('debugHeader: x-gray-decision in the response metadata', () => {
  it.each(KINDS.flatMap((kind) => APIS.map((api) => [kind, api] as const)))(
    '%s, %s',
    async (kind, api) => {
      const { client } = await serve(api, options('open', { debugHeader: true }));
      const { head } = await call(
        client,
        kind,
        md((m) => m.set('x-gray-id', 'beta')),
      );
      const value = head?.get('x-gray-decision').map(String) ?? [];
      // service() alone cannot reach the metadata grpc-js sends before the first message.
      expect(value).toEqual(
        api === 'service' ? [] : ['version=beta; reason=header; source=header'],
      );
    },
  );

  it('a stricter interceptor after a weaker one: the header describes the decision served (GW-03)', async () => {
    const open = createGraylaneGrpc(options('open', { debugHeader: true }));
    const edge = createGraylaneGrpc(options('edge', { debugHeader: true }));
    const server = new grpc.Server({
      interceptors: [open.interceptor(grpc), edge.interceptor(grpc)],
    });
    server.addService(SERVICE, implementation());
    servers.add(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const client = new Lanes(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    clients.add(client);
    const { head } = await call(
      client,
      'echo',
      md((m) => m.set('x-gray-id', 'beta')),
    );
    expect(head?.get('x-gray-decision').map(String)).toEqual([
      'version=stable; reason=untrusted_marker; source=default',
    ]);
  });

  it('off by default: no header (control)', async () => {
    const { client } = await serve('interceptor', options('open'));
    const { head } = await call(
      client,
      'echo',
      md((m) => m.set('x-gray-id', 'beta')),
    );
    expect(head?.get('x-gray-decision')).toEqual([]);
  });
});

// --- CTX-05: a cancelled call's 'cancelled' listener runs in the call's lane --------------------

describe('CTX-05 the cancelled event of a call runs in its lane', () => {
  it.each(APIS.flatMap((api) => (['watch', 'chat'] as const).map((k) => [api, k] as const)))(
    '%s, %s',
    async (api, kind) => {
      let seenCancel!: (v: string) => void;
      const cancelled = new Promise<string>((resolve) => (seenCancel = resolve));
      let started!: () => void;
      const begun = new Promise<void>((resolve) => (started = resolve));
      const hold = (
        c: grpc.ServerWritableStream<unknown, Seen> | grpc.ServerDuplexStream<unknown, Seen>,
      ) => {
        c.on('cancelled', () => seenCancel(lane()));
        started();
      };
      const impl = { ...implementation(), watch: hold, chat: hold };
      const { client } = await serve(api, options('open'), impl);
      const s =
        kind === 'watch'
          ? client.watch(
              {},
              md((m) => m.set('x-gray-id', 'canary')),
            )
          : client.chat(md((m) => m.set('x-gray-id', 'canary')));
      s.on('error', () => undefined);
      if (kind === 'chat') (s as grpc.ClientDuplexStream<unknown, Seen>).write({});
      await begun;
      s.cancel();
      expect(await cancelled).toBe('canary');
    },
  );
});

// --- GW-04: the peer grpc-js reports, as trustedProxies reads it --------------------------------

describe('GW-04 the peer address', () => {
  it.each([
    ['127.0.0.1:50051', '127.0.0.1'],
    ['::1:50051', '::1'],
    ['::ffff:10.1.2.3:443', '::ffff:10.1.2.3'],
    ['fe80::1:8080', 'fe80::1'],
    ['[::1]:50051', '::1'],
    ['ipv4:10.1.2.3:5', '10.1.2.3'],
    ['ipv6:[::1]:5', '::1'],
    ['IPV6:[fd00::7]:5', 'fd00::7'],
    ['unix:/run/app.sock', 'unix'],
    ['unix:', 'unix'],
    ['10.1.2.3', '10.1.2.3'],
    ['unknown', undefined],
    ['', undefined],
    ['[::1', undefined],
    ['host:port', undefined],
    ['x'.repeat(600), undefined],
    [undefined, undefined],
    [42, undefined],
  ] as const)('%s → %s', (peer, address) => {
    expect(peerAddress(peer)).toBe(address);
  });

  const V6 = [
    [['::1'], 'beta'],
    [['127.0.0.1'], 'stable'],
    [['::/0'], 'beta'],
    [['10.0.0.0/8', 'unix'], 'stable'],
  ] as const;
  it
    .skipIf(!V6_LOOPBACK)
    .each(APIS.flatMap((api) => V6.map(([proxies, want]) => [api, proxies, want] as const)))(
    '%s on [::1], trustedProxies %j: the client marker decides %s',
    async (api, trustedProxies, want) => {
      const served = await serve(api, options('edge', { trustedProxies }), implementation(), '::1');
      const { seen } = await call(
        served.client,
        'echo',
        md((m) => m.set('x-gray-id', 'beta')),
      );
      expect(seen[0]!.lanes).toEqual([want, want]);
    },
  );
});

// --- The carrier itself: lists, binary keys, a metadata object that throws ---------------------

describe('the metadata carrier', () => {
  const fake = (m: grpc.Metadata | object) =>
    new GrpcCarrier({
      call: {
        metadata: m as grpc.Metadata,
        getPeer: () => '10.0.0.1:1',
        getPath: () => '/p.S/M',
        getHost: () => 'Orders.Internal:50051',
      },
    });
  it('several values of a key are a list, in order; one is a string; -bin keys and pseudo-headers are never read', () => {
    const m = new grpc.Metadata();
    m.add('x-gray-id', 'beta');
    m.add('x-gray-id', 'canary');
    m.set('x-one', 'v');
    m.set('x-trace-bin', Buffer.from('beta'));
    const c = fake(m);
    expect(c.header('x-gray-id')).toEqual(['beta', 'canary']);
    expect(c.header('x-one')).toBe('v');
    expect(c.header('x-trace-bin')).toBeUndefined();
    expect(c.header(':authority')).toBeUndefined();
    expect((c.headers as (n: string) => string | undefined)('x-gray-id')).toBe('beta, canary');
    expect([c.url, c.host, c.method, c.remoteAddress, c.secure]).toEqual([
      '/p.S/M',
      'orders.internal',
      'POST',
      '10.0.0.1',
      false,
    ]);
  });
  it('a metadata object whose reads throw reads as none (I1)', () => {
    const c = fake({
      get: () => {
        throw new Error('boom');
      },
    });
    expect(c.header('x-gray-id')).toBeUndefined();
    expect(() =>
      c.edit({ headers: new Map([['x-gray-id', null]]), query: undefined }),
    ).not.toThrow();
  });
  it('a value grpc-js refuses is removed, never left as the client sent it', () => {
    const m = new grpc.Metadata();
    m.set('x-gray-id', 'beta');
    fake(m).edit({ headers: new Map([['x-gray-id', 'bad\nvalue']]), query: undefined });
    expect(m.get('x-gray-id')).toEqual([]);
  });
});

// --- Bad arguments: INVALID_OPTIONS naming the call --------------------------------------------

describe('bad arguments throw INVALID_OPTIONS naming the call', () => {
  const BAD: readonly [string, unknown][] = [
    ['nothing', undefined],
    ['null', null],
    ['a number', 5],
    ['a string', 'beta'],
    ['an array', []],
    ['a symbol', Symbol('x')],
  ];
  const gray = () => createGraylaneGrpc({ config: CONFIG });
  const CALLS: readonly [string, (a: unknown) => unknown, RegExp][] = [
    ['createGraylaneGrpc(x)', (a) => createGraylaneGrpc(a as never), /createGraylaneGrpc/],
    ['grayGrpcService(x, impl)', (a) => grayGrpcService(a as never, {}), /grayGrpcService/],
    [
      'grayGrpcService(options, x)',
      (a) => grayGrpcService({ config: CONFIG }, a as never),
      /grayGrpcService/,
    ],
    ['gray.service(x)', (a) => gray().service(a as never), /grayGrpcService/],
    ['gray.interceptor(x)', (a) => gray().interceptor(a as never), /interceptor.*@grpc\/grpc-js/],
  ];
  it.each(
    CALLS.flatMap(([name, fn, says]) =>
      BAD.map(([what, arg]) => [name, what, fn, says, arg] as const),
    ),
  )('%s with %s', (_name, _what, fn, says, arg) => {
    let thrown: unknown;
    try {
      fn(arg);
    } catch (e) {
      thrown = e;
    }
    expect(isGraylaneError(thrown) && thrown.code, String(thrown)).toBe('INVALID_OPTIONS');
    expect(String((thrown as Error).message)).toMatch(says);
  });
  it('an object that is not the grpc-js module, or a grpc-js without server interceptors', () => {
    for (const g of [{}, { ServerInterceptingCall: 1 }, { Server: grpc.Server }])
      expect(() => gray().interceptor(g as never)).toThrow(
        /interceptor: pass the @grpc\/grpc-js module/,
      );
  });
  it('options the engine refuses name what is wrong (trust, config)', () => {
    expect(() => createGraylaneGrpc({ config: CONFIG, trust: 'nope' as never })).toThrow(/trust/);
    expect(() => createGraylaneGrpc({} as never)).toThrow(/config/);
  });
  it('what is not a call goes through a wrapped handler unchanged (control)', () => {
    const impl = createGraylaneGrpc({ config: CONFIG }).service({ f: (x: unknown) => [x, lane()] });
    expect(impl.f(undefined)).toEqual([undefined, '(none)']);
    expect(impl.f(7)).toEqual([7, '(none)']);
  });
});
