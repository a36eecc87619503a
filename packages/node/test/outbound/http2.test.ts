import http2, { connect as namedConnect, type ClientHttp2Session } from 'node:http2';
import { createRequire } from 'node:module';
import type { AllowEntry } from '@graylane/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installGlobal, runWithGray } from '../../src/index.js';
import { acceptsRawArrays } from '../../src/outbound/http2-headers.js';
import { authorityOrigin, http2Target } from '../../src/outbound/http2-target.js';
import { objectOps } from '../../src/outbound/hop-headers.js';
import {
  grays,
  members,
  send,
  startH2Topology,
  type H2Hop,
  type H2Topology,
} from './h2-servers.js';

/*
 * `installGlobal()` over `node:http2` (RELIABILITY OUT-01/02/03, I7, I8, OTB-01, CTX-13, MISC-01):
 * every `ClientHttp2Session.request()` inside a lane carries the marker and one `gray` member
 * only when every origin it reaches or names (the session's, `:authority`, `host`, `:scheme`) is
 * allowlisted; elsewhere neither, whoever set them. Judged per request in the context of the code
 * calling `request()`, so one session shared by many lanes sends each its own version. Before,
 * HTTP/2 was not covered: nothing was added, and a marker or `gray` member the caller (or
 * OpenTelemetry) set went to any host.
 */

const cjsHttp2 = createRequire(import.meta.url)('http2') as typeof http2;
const RAW = acceptsRawArrays(process.versions.node);

let topo: H2Topology;
let seq = 0;
let uninstall: (() => void) | undefined;
const sessions = new Set<ClientHttp2Session>();
/** Node's own `ClientHttp2Session.prototype` members, restored after every row. */
let proto: { request: unknown; emit: unknown };
let pristine: { request: unknown; emit: PropertyDescriptor | undefined };

beforeAll(async () => {
  topo = await startH2Topology();
  const probe = http2.connect(topo.origins.a);
  proto = Object.getPrototypeOf(probe) as typeof proto;
  pristine = { request: proto.request, emit: Object.getOwnPropertyDescriptor(proto, 'emit') };
  probe.destroy();
});
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
  for (const s of sessions) s.destroy();
  sessions.clear();
  proto.request = pristine.request;
  if (pristine.emit) Object.defineProperty(proto, 'emit', pristine.emit);
  else delete (proto as Partial<typeof proto>).emit;
});
afterAll(() => topo.close());

function open(origin: string, connect: typeof http2.connect = http2.connect): ClientHttp2Session {
  const session = connect(origin, { ca: topo.ca });
  session.on('error', () => undefined);
  sessions.add(session);
  return session;
}

const path = () => `/h2/${++seq}`;
const one = (p: string): H2Hop => {
  const hops = topo.hops(p);
  expect(hops, p).toHaveLength(1);
  return hops[0]!;
};

/** What a hop must show: the marker lines, the `gray` members, `a=1` kept, no token. */
function expectHop(hop: H2Hop, grayIds: string[], grayMembers: string[], where: string): void {
  expect(hop.grayIds, `${where}: X-Gray-Id`).toEqual(grayIds);
  expect(grays(hop), `${where}: gray member`).toEqual(grayMembers);
  expect(hop.names, `${where}: graylane's token never leaves`).not.toContain('graylane-call');
}

interface TargetRow {
  readonly name: string;
  readonly origin: (t: H2Topology) => string;
  readonly allow: (t: H2Topology) => AllowEntry[];
  readonly headers?: (t: H2Topology) => Record<string, string>;
  readonly carried: boolean;
}

const hostA = (t: H2Topology) => [`127.0.0.1:${t.ports.a}`];
const TARGETS: TargetRow[] = [
  { name: 'h2c, host:port allowlisted', origin: (t) => t.origins.a, allow: hostA, carried: true },
  {
    name: 'h2c, origin allowlisted',
    origin: (t) => t.origins.a,
    allow: (t) => [t.origins.a],
    carried: true,
  },
  {
    name: 'TLS, origin allowlisted',
    origin: (t) => t.origins.tls,
    allow: (t) => [t.origins.tls],
    carried: true,
  },
  {
    name: '[::1] allowlisted',
    origin: (t) => t.origins.v6,
    allow: (t) => [`[::1]:${t.ports.v6}`],
    carried: true,
  },
  {
    name: ':authority written out, the same allowlisted authority',
    origin: (t) => t.origins.a,
    allow: hostA,
    headers: (t) => ({ ':authority': `127.0.0.1:${t.ports.a}` }),
    carried: true,
  },
  {
    name: 'TLS, the allowlist names http:// on that port only',
    origin: (t) => t.origins.tls,
    allow: (t) => [`http://127.0.0.1:${t.ports.tls}`],
    carried: false,
  },
  { name: 'another port', origin: (t) => t.origins.b, allow: hostA, carried: false },
  {
    name: 'localhost spelling of the allowlisted 127.0.0.1',
    origin: (t) => `http://localhost:${t.ports.a}`,
    allow: hostA,
    carried: false,
  },
  { name: '[::1] not allowlisted', origin: (t) => t.origins.v6, allow: hostA, carried: false },
  {
    name: ':authority overridden to a host outside',
    origin: (t) => t.origins.a,
    allow: hostA,
    headers: () => ({ ':authority': 'evil.example' }),
    carried: false,
  },
  {
    name: ':authority overridden to the allowlisted name on another host’s session',
    origin: (t) => `http://localhost:${t.ports.a}`,
    allow: hostA,
    headers: (t) => ({ ':authority': `127.0.0.1:${t.ports.a}` }),
    carried: false,
  },
  {
    name: 'a Host header (any case) naming another host',
    origin: (t) => t.origins.a,
    allow: hostA,
    headers: () => ({ Host: 'evil.example' }),
    carried: false,
  },
  {
    name: ':scheme https on an h2c session allowlisted as http',
    origin: (t) => t.origins.a,
    allow: (t) => [t.origins.a],
    headers: () => ({ ':scheme': 'https' }),
    carried: false,
  },
];

const CALLERS = [
  {
    name: 'no marker, other member',
    headers: { baggage: 'a=1' },
    mine: ['beta'],
    member: ['gray=beta'],
  },
  {
    name: 'caller marker and member',
    headers: { 'X-Gray-Id': 'stable', baggage: 'gray=stable,a=1' },
    mine: ['stable'],
    member: ['gray=stable'],
  },
  {
    name: 'stale gray member only',
    headers: { baggage: 'a=1,gray=stable' },
    mine: ['beta'],
    member: ['gray=beta'],
  },
] as const;

describe.each([
  ['allowHosts given to installGlobal', true],
  ['allowHosts of the lane (runWithGray)', false],
] as const)('OUT-01/OUT-02/CTX-13 HTTP/2 targets, %s', (_name, global) => {
  it.each(TARGETS.map((r) => [r.name, r] as const))('%s', async (_n, row) => {
    const allow = row.allow(topo);
    uninstall = installGlobal(global ? { allowHosts: allow } : {});
    const session = open(row.origin(topo));
    for (const caller of CALLERS) {
      const p = path();
      const headers = { ':path': p, ...row.headers?.(topo), ...caller.headers };
      const before = structuredClone(headers);
      await runWithGray('beta', () => send(session, headers), global ? {} : { allowHosts: allow });
      const hop = one(p);
      const where = `${row.name} / ${caller.name}`;
      if (row.carried) expectHop(hop, [...caller.mine], [...caller.member], where);
      else expectHop(hop, [], [], where);
      expect(members(hop), `${where}: other member kept`).toContain('a=1');
      expect(headers, `${where}: the caller's object is untouched`).toEqual(before);
    }
  });
});

const SENSITIVE = http2.sensitiveHeaders;

/** Header object shapes: each is sent in lane `beta` to `a` (allowlisted) and `b` (not). */
const SHAPES: {
  readonly name: string;
  readonly make: (p: string) => http2.OutgoingHttpHeaders;
  /** On the allowlisted host: marker lines and gray members. */
  readonly carried: [string[], string[]];
}[] = [
  { name: 'plain', make: (p) => ({ ':path': p }), carried: [['beta'], ['gray=beta']] },
  {
    name: 'marker as a one-element array',
    make: (p) => ({ ':path': p, 'x-gray-id': ['stable'] }),
    carried: [['stable'], []],
  },
  {
    name: 'marker key upper case',
    make: (p) => ({ ':path': p, 'X-GRAY-ID': 'stable', baggage: 'gray=stable' }),
    carried: [['stable'], ['gray=stable']],
  },
  {
    name: 'baggage as an array, key upper case',
    make: (p) => ({ ':path': p, BAGGAGE: ['gray=stable', 'a=1'] }),
    carried: [['beta'], ['gray=beta']],
  },
  {
    name: 'percent-encoded member key',
    make: (p) => ({ ':path': p, baggage: '%67ray=stable,a=1' }),
    carried: [['beta'], ['gray=beta']],
  },
  {
    name: 'null prototype',
    make: (p) => Object.assign(Object.create(null) as http2.OutgoingHttpHeaders, { ':path': p }),
    carried: [['beta'], ['gray=beta']],
  },
  {
    name: 'frozen',
    make: (p) => Object.freeze({ ':path': p, baggage: 'a=1' }),
    carried: [['beta'], ['gray=beta']],
  },
  {
    name: 'sensitiveHeaders kept',
    make: (p) => ({ ':path': p, authorization: 'secret', [SENSITIVE]: ['authorization'] }),
    carried: [['beta'], ['gray=beta']],
  },
];

describe('OUT-01/OUT-02/OUT-03/OTB-01 HTTP/2 header shapes (object form)', () => {
  it.each(SHAPES.map((s) => [s.name, s] as const))('%s', async (_n, shape) => {
    uninstall = installGlobal({ allowHosts: hostA(topo) });
    const a = open(topo.origins.a);
    const b = open(topo.origins.b);
    for (const [session, carried] of [
      [a, true],
      [b, false],
    ] as const) {
      const p = path();
      const headers = shape.make(p);
      const keys = Reflect.ownKeys(headers);
      const before = { ...headers };
      await runWithGray('beta', () => send(session, headers));
      const hop = one(p);
      const where = `${shape.name} → ${carried ? 'a' : 'b'}`;
      if (carried) expectHop(hop, ...shape.carried, where);
      else expectHop(hop, [], [], where);
      expect(Reflect.ownKeys(headers), `${where}: no key added`).toEqual(keys);
      expect({ ...headers }, `${where}: untouched`).toEqual(before);
      if (SENSITIVE in headers) expect(hop.sensitive, where).toContain('authorization');
      if (String(headers['baggage'] ?? headers['BAGGAGE'] ?? '').includes('a=1'))
        expect(members(hop), `${where}: other member kept`).toContain('a=1');
    }
  });

  it('OUT-01 request() with no headers argument, and with undefined: the marker on the allowlisted host only', async () => {
    uninstall = installGlobal({ allowHosts: hostA(topo) });
    const a = open(topo.origins.a);
    const b = open(topo.origins.b);
    const roots = () => topo.hops('/');
    const seen = roots().length;
    await runWithGray('beta', async () => {
      await send(a);
      await send(b);
      await send(a, undefined);
    });
    expect(
      roots()
        .slice(seen)
        .map((h) => [h.server, h.grayIds]),
    ).toEqual([
      ['a', ['beta']],
      ['b', []],
      ['a', ['beta']],
    ]);
  });
});

describe.skipIf(!RAW)('OUT-01/OUT-02/OUT-03 HTTP/2 raw header arrays (Node ≥ 22.17)', () => {
  const ARRAYS: {
    readonly name: string;
    readonly make: (p: string) => string[];
    readonly carried: [string[], string[]];
  }[] = [
    { name: 'pseudo headers only', make: (p) => [':path', p], carried: [['beta'], ['gray=beta']] },
    {
      name: 'caller marker, names in any case',
      make: (p) => [':PATH', p, 'X-Gray-Id', 'stable', 'Baggage', 'gray=stable,a=1'],
      carried: [['stable'], ['gray=stable']],
    },
    {
      name: 'two baggage lines',
      make: (p) => [':path', p, 'baggage', 'gray=stable', 'baggage', 'a=1'],
      carried: [['beta'], ['gray=beta']],
    },
    {
      name: 'sensitiveHeaders on the array',
      make: (p) =>
        Object.assign([':path', p, 'authorization', 'secret'], { [SENSITIVE]: ['authorization'] }),
      carried: [['beta'], ['gray=beta']],
    },
  ];
  it.each(ARRAYS.map((r) => [r.name, r] as const))('%s', async (_n, row) => {
    uninstall = installGlobal({ allowHosts: hostA(topo) });
    for (const [origin, carried] of [
      [topo.origins.a, true],
      [topo.origins.b, false],
    ] as const) {
      const p = path();
      const headers = row.make(p);
      const before = [...headers];
      const keys = Reflect.ownKeys(headers);
      await runWithGray('beta', () => send(open(origin), headers));
      const hop = one(p);
      const where = `${row.name} → ${carried ? 'a' : 'b'}`;
      if (carried) expectHop(hop, ...row.carried, where);
      else expectHop(hop, [], [], where);
      expect([...headers], `${where}: untouched`).toEqual(before);
      expect(Reflect.ownKeys(headers), `${where}: no key added`).toEqual(keys);
      if (SENSITIVE in headers) expect(hop.sensitive, where).toContain('authorization');
    }
  });
});

describe('I8 outside any lane', () => {
  it('OUT-07 nothing is added; with no allowHosts of its own installGlobal leaves a caller marker as written', async () => {
    uninstall = installGlobal();
    const a = open(topo.origins.a);
    const b = open(topo.origins.b);
    const [p1, p2] = [path(), path()];
    await send(a, { ':path': p1 });
    await send(b, { ':path': p2, 'x-gray-id': 'stable' });
    expectHop(one(p1), [], [], 'no lane → a');
    expectHop(one(p2), ['stable'], [], 'no lane → b, caller marker');
  });

  it('I8 with allowHosts: a caller marker and gray member stay on the allowlist and leave nowhere else', async () => {
    uninstall = installGlobal({ allowHosts: hostA(topo) });
    const caller = { 'x-gray-id': 'stable', baggage: 'gray=stable,a=1' };
    for (const [origin, kept] of [
      [topo.origins.a, true],
      [topo.origins.b, false],
      [`http://localhost:${topo.ports.a}`, false],
      [topo.origins.tls, false],
    ] as const) {
      const p = path();
      await send(open(origin), { ':path': p, ...caller });
      const hop = one(p);
      if (kept) expectHop(hop, ['stable'], ['gray=stable'], origin);
      else expectHop(hop, [], [], origin);
      expect(members(hop)).toContain('a=1');
    }
  });
});

describe('I7 one session, many lanes', () => {
  it('I7 two lanes interleaved on one session each send their own version (also before it connects)', async () => {
    uninstall = installGlobal({ allowHosts: hostA(topo) });
    const session = open(topo.origins.a);
    const sent: [string, string][] = [];
    const lane = (version: string) =>
      runWithGray(version, async () => {
        for (let i = 0; i < 6; i++) {
          const p = path();
          sent.push([p, version]);
          // The first request of each lane is made while the session is still connecting.
          const pending = send(session, { ':path': p });
          if (i % 2 === 0) await pending;
          else await new Promise((r) => setImmediate(r));
        }
      });
    await Promise.all([lane('beta'), lane('canary'), lane('stable')]);
    await new Promise<void>((resolve) => session.ping(() => resolve()));
    await new Promise((r) => setTimeout(r, 50));
    for (const [p, version] of sent) expectHop(one(p), [version], [`gray=${version}`], p);
  });

  it('I7 a request made from a session’s event runs in the session’s context: it gets no other lane’s marker', async () => {
    uninstall = installGlobal({ allowHosts: hostA(topo) });
    let session!: ClientHttp2Session;
    await runWithGray('beta', async () => {
      session = open(topo.origins.a);
    });
    // A client's own queue (http2-wrapper starts waiting requests from `remoteSettings`), and a
    // `connect` listener: registered in other lanes, run in the context `beta` opened the session in.
    const queued: [string, Promise<void>][] = [];
    const drained = new Promise<void>((resolve) => {
      const waiting: (() => void)[] = [];
      for (const version of ['canary', 'stable'])
        void runWithGray(version, () => {
          const p = path();
          waiting.push(() => queued.push([p, send(session, { ':path': p })]));
          session.once('connect', () => {
            const q = path();
            queued.push([q, send(session, { ':path': q })]);
          });
        });
      session.once('remoteSettings', () => {
        for (const start of waiting) start();
        resolve();
      });
    });
    await drained;
    await Promise.all(queued.map(([, done]) => done));
    expect(queued).toHaveLength(4);
    for (const [p] of queued) expectHop(one(p), [], [], p);
    // Made by each lane itself, on the same session: its own version.
    const direct = path();
    await runWithGray('canary', () => send(session, { ':path': direct }));
    expectHop(one(direct), ['canary'], ['gray=canary'], 'direct');
  });
});

describe('sessions and import forms', () => {
  it.each([
    ['import http2 from "node:http2"', http2.connect],
    ['import { connect } from "node:http2"', namedConnect],
    ['require("http2").connect', cjsHttp2.connect],
  ] as const)('OUT-01 %s: covered', async (_name, connect) => {
    uninstall = installGlobal({ allowHosts: hostA(topo) });
    const p = path();
    await runWithGray('beta', () => send(open(topo.origins.a, connect), { ':path': p }));
    expectHop(one(p), ['beta'], ['gray=beta'], 'import form');
  });

  it('a session opened before installGlobal is covered; after uninstall it is left alone; reinstalled, covered again', async () => {
    const session = open(topo.origins.a);
    const marker = async () => {
      const p = path();
      await runWithGray('beta', () => send(session, { ':path': p }), { allowHosts: hostA(topo) });
      return one(p).grayIds;
    };
    expect(await marker()).toEqual([]);
    uninstall = installGlobal();
    expect(await marker()).toEqual(['beta']);
    uninstall();
    expect(await marker()).toEqual([]);
    expect(proto.request).toBe(pristine.request);
    uninstall = installGlobal();
    expect(await marker()).toEqual(['beta']);
    expect(await marker()).toEqual(['beta']);
  });

  it('installGlobal({ http2: false }) leaves HTTP/2 alone', async () => {
    uninstall = installGlobal({ http2: false, allowHosts: hostA(topo) });
    expect(proto.request).toBe(pristine.request);
    const p = path();
    await runWithGray('beta', () => send(open(topo.origins.a), { ':path': p }));
    expectHop(one(p), [], [], 'http2: false');
  });
});

describe('MISC-01 another library wraps request() after installGlobal', () => {
  type Request = (this: unknown, ...args: unknown[]) => unknown;
  function wrapLib(): { calls: () => number; lib: Request; unwrap: () => void } {
    let calls = 0;
    const below = proto.request as Request;
    const lib: Request = function lib(this: unknown, ...args: unknown[]) {
      calls++;
      return below.apply(this, args);
    };
    proto.request = lib;
    return { calls: () => calls, lib, unwrap: () => void (proto.request = below) };
  }
  const marker = async () => {
    const p = path();
    await runWithGray('beta', () => send(open(topo.origins.a), { ':path': p }), {
      allowHosts: hostA(topo),
    });
    return one(p).grayIds;
  };

  it('MISC-01 uninstall: the library stays and works, graylane adds nothing; reinstall: the marker once', async () => {
    const first = installGlobal();
    const wrapper = wrapLib();
    expect(await marker()).toEqual(['beta']);
    first();
    expect(proto.request).toBe(wrapper.lib);
    const before = wrapper.calls();
    expect(await marker()).toEqual([]);
    expect(wrapper.calls()).toBeGreaterThan(before);
    uninstall = installGlobal();
    expect(await marker()).toEqual(['beta']);
  });

  it("MISC-01 the library unwraps first, then uninstall: Node's own request() is back", async () => {
    const done = installGlobal();
    wrapLib().unwrap();
    done();
    expect(proto.request).toBe(pristine.request);
    expect(Object.getOwnPropertyDescriptor(proto, 'emit')).toEqual(pristine.emit);
    expect(await marker()).toEqual([]);
  });
});

describe('CTX-13 the HTTP/2 target', () => {
  it('origins from authorities Node writes (IPv6 without brackets), refusing anything that is not one', () => {
    expect(authorityOrigin('http', '::1:8080')).toBe('http://[::1]:8080');
    expect(authorityOrigin('https', '[::1]:443')).toBe('https://[::1]');
    expect(authorityOrigin('http', 'Orders.Internal:80')).toBe('http://orders.internal');
    for (const bad of [
      '',
      'a@b.example',
      'b.example/x',
      'b.example?x',
      'b.example#x',
      'a b',
      'a\\b',
    ])
      expect(authorityOrigin('http', bad), bad).toBeUndefined();
    expect(authorityOrigin('ht tp', 'a.example')).toBeUndefined();
  });

  it('a CONNECT tunnel and a session that connect() did not set up have no target (refused)', () => {
    const ops = objectOps({ ':method': 'CONNECT', ':authority': 'a.example:443' });
    const real = http2.connect(topo.origins.a);
    sessions.add(real);
    expect(http2Target(real, ops)).toBeUndefined();
    expect(
      http2Target(real, objectOps({ ':method': 'CONNECT', ':protocol': 'websocket' })),
    ).toEqual([topo.origins.a]);
    expect(http2Target({}, objectOps({}))).toBeUndefined();
    expect(http2Target(null, objectOps({}))).toBeUndefined();
  });
});
