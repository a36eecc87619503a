import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installGlobal, runWithGray } from '../../src/index.js';
import { startTopology, type Hop, type Topology } from './servers.js';

/*
 * I8, OUT-01/03 with `installGlobal()`: a head Node renders inside the ClientRequest
 * constructor (Node 20–24 lib/_http_client.js: array-form `headers` — pairs or a flat list — or
 * a truthy `Expect` header in any case) could not be changed once `http.request()` returned: the
 * old code left it as written, so the caller's `X-Gray-Id` and `gray` member went to any host,
 * and an allowlisted host got no marker. Now the head is prepared before the request is built:
 * an `Expect` head is judged once built (then rendered, Expect restored), an array head on a copy
 * of the headers. The caller's objects are never touched. Also here:
 * - Node's own forward proxy from the environment (`NODE_USE_ENV_PROXY`, an Agent's `proxyEnv`,
 *   Node ≥ 22.21 / 24.5): judged with the proxy like http-proxy-agent (the old code refused
 *   every such request); an array head it would proxy is refused (the constructor rewrites it);
 * - a library that replaces `http.ClientRequest` (msw, nock) with `Expect`: judged on a copy;
 * - a stand-in request whose `write`/`end`/`flushHeaders` never render a head (nock 13,
 *   @mswjs/interceptors ≤ 0.25): judged before them (the old code never judged it).
 */

type List = readonly (readonly [string, string])[];
type Headers = Record<string, unknown> | readonly unknown[];

let topo: Topology;
let seq = 0;
let uninstall: () => void;
const nodeRequest = http.request;
const nodeGet = http.get;
const nodeHttpsRequest = https.request;
const nodeClientRequest = http.ClientRequest;
/** What a wrapper below graylane does to each request Node returns (the I1 rows set it). */
let wrapBelow: ((req: http.ClientRequest) => void) | undefined;
const standInSeen = new Map<string, http.OutgoingHttpHeaders>();

beforeAll(async () => {
  topo = await startTopology();
  // Below graylane, as nock 13 is when it is required before installGlobal().
  (http as { request: unknown }).request = belowGraylane;
  uninstall = installGlobal();
});
afterAll(async () => {
  uninstall();
  (http as { request: unknown }).request = nodeRequest;
  await topo.close();
});

// --- header shapes Node renders in the constructor -------------------------------------------

interface Shape {
  readonly name: string;
  /** The head waits for `100 Continue`: the body is sent on 'continue' (so Expect must arrive). */
  readonly expect: boolean;
  make(list: List, host: string): Headers;
}

const withHost = (list: List, host: string): List =>
  list.some(([n]) => n.toLowerCase() === 'host') ? list : [['Host', host], ...list];

const SHAPES: Shape[] = [
  {
    name: 'Expect: 100-continue',
    expect: true,
    make: (l) => ({ Expect: '100-continue', ...Object.fromEntries(l) }),
  },
  {
    name: 'expect last, value in an array',
    expect: true,
    make: (l) => ({ ...Object.fromEntries(l), expect: ['100-continue'] }),
  },
  {
    name: 'EXPECT, null-prototype object',
    expect: true,
    make: (l) =>
      Object.assign(
        Object.create(null) as object,
        { EXPECT: '100-continue' },
        Object.fromEntries(l),
      ),
  },
  {
    name: '[name, value] pairs',
    expect: false,
    make: (l, host) => withHost(l, host).map(([n, v]) => [n, v]),
  },
  {
    name: '[name, [value]] pairs',
    expect: false,
    make: (l, host) => withHost(l, host).map(([n, v]) => [n, [v]]),
  },
  {
    name: 'flat [name, value, …] list',
    expect: false,
    make: (l, host) => withHost(l, host).flat(),
  },
  {
    name: 'pairs with Expect',
    expect: true,
    make: (l, host) => [['Expect', '100-continue'], ...withHost(l, host).map(([n, v]) => [n, v])],
  },
];

// --- what the caller put in them, and what each host must get ---------------------------------

interface Contents {
  readonly name: string;
  readonly list: List;
  /** X-Gray-Id lines and `gray` members on an allowlisted hop (none on any other). */
  readonly ids: string[];
  readonly grays: string[];
  /** A member that must arrive everywhere. */
  readonly keep?: string;
}

const CONTENTS: Contents[] = [
  { name: 'no graylane header', list: [], ids: ['beta'], grays: ['gray=beta'] },
  {
    name: "the app's baggage",
    list: [['baggage', 'a=1']],
    ids: ['beta'],
    grays: ['gray=beta'],
    keep: 'a=1',
  },
  {
    name: 'an upstream gray member',
    list: [['Baggage', 'gray=stable,a=1']],
    ids: ['beta'],
    grays: ['gray=beta'],
    keep: 'a=1',
  },
  {
    name: "the caller's marker and member",
    list: [
      ['X-Gray-Id', 'stable'],
      ['baggage', 'a=1,gray=stable'],
    ],
    ids: ['stable'],
    grays: ['gray=stable'],
    keep: 'a=1',
  },
  {
    name: "the caller's marker, other case",
    list: [
      ['x-GRAY-id', 'beta'],
      ['BAGGAGE', 'gray=beta'],
    ],
    ids: ['beta'],
    grays: ['gray=beta'],
  },
];

// --- how the request is made -------------------------------------------------------------------

type Call = (url: string, options: http.RequestOptions, waitContinue: boolean) => Promise<void>;

function settle(
  req: http.ClientRequest,
  waitContinue: boolean,
  end: boolean,
  reject: (e: unknown) => void,
): void {
  req.on('error', reject);
  if (!end) return;
  if (waitContinue) req.on('continue', () => req.end('body'));
  else req.end('body');
}

const done =
  (resolve: () => void) =>
  (res: http.IncomingMessage): void => {
    res.resume();
    res.on('end', resolve);
  };

// Fail fast when a head never gets its 100 Continue (Expect lost).
const limit = (): AbortSignal => AbortSignal.timeout(3000);

const CALLS: [string, Call][] = [
  [
    'http.request(url, options)',
    (url, o, c) =>
      new Promise((resolve, reject) => {
        const req = http.request(url, { ...o, method: 'POST', signal: limit() }, done(resolve));
        settle(req, c, true, reject);
      }),
  ],
  [
    'http.request(URL, options, cb)',
    (url, o, c) =>
      new Promise((resolve, reject) => {
        const req = http.request(
          new URL(url),
          { ...o, method: 'PUT', signal: limit() },
          done(resolve),
        );
        settle(req, c, true, reject);
      }),
  ],
  [
    'http.request(options)',
    (url, o, c) =>
      new Promise((resolve, reject) => {
        const u = new URL(url);
        const req = http.request(
          {
            ...o,
            method: 'POST',
            hostname: u.hostname.replace(/^\[|\]$/g, ''),
            port: u.port,
            path: u.pathname,
            signal: limit(),
          },
          done(resolve),
        );
        settle(req, c, true, reject);
      }),
  ],
  [
    'http.get(url, options)',
    (url, o) =>
      new Promise((resolve, reject) => {
        settle(http.get(url, { ...o, signal: limit() }, done(resolve)), false, false, reject);
      }),
  ],
];

// --- rows --------------------------------------------------------------------------------------

function members(hop: Hop): string[] {
  return hop.baggage.flatMap((v) => v.split(',')).map((m) => m.trim());
}

interface Sent {
  readonly hop: Hop;
  /** The caller's headers, before and after (JSON). */
  readonly before: string;
  readonly after: string;
}

async function send(
  to: string,
  make: (host: string) => Headers,
  waitContinue: boolean,
  call: Call,
  allowHosts: string[],
  extra: http.RequestOptions = {},
): Promise<Sent> {
  const id = `h${++seq}`;
  const url = `${to}/echo/${id}`;
  const headers = make(new URL(url).host);
  const before = JSON.stringify(headers);
  const options = { ...extra, headers } as http.RequestOptions;
  await runWithGray('beta', () => call(url, options, waitContinue), { allowHosts });
  expect(options.headers, 'the options keep the caller’s headers object').toBe(headers);
  const hops = topo.hops(id);
  expect(hops, `one hop for ${id}`).toHaveLength(1);
  return { hop: hops[0] as Hop, before, after: JSON.stringify(headers) };
}

function expectHop(sent: Sent, c: Contents, allowed: boolean, where: string): void {
  const { hop } = sent;
  expect(hop.grayIds, `${where}: X-Gray-Id`).toEqual(allowed ? c.ids : []);
  expect(
    members(hop).filter((m) => m.startsWith('gray')),
    `${where}: gray members`,
  ).toEqual(allowed ? c.grays : []);
  if (c.keep !== undefined) expect(members(hop), `${where}: other members kept`).toContain(c.keep);
  expect(sent.after, `${where}: the caller's headers untouched`).toBe(sent.before);
}

/*
 * Each row sends the same request to the allowlisted host and to one that is not: the old code
 * failed one side of every pair (no marker on `a`, or the caller's marker leaving to the other).
 */
type Other = 'b' | 'name' | 'v6';
const OTHERS: Other[] = ['b', 'name', 'v6'];

describe.each(SHAPES.map((s, i) => [s.name, s, i] as const))('headers: %s', (_name, shape, si) => {
  // Every call form meets every target across the table (rotated, to keep the row count down).
  const rows = CONTENTS.flatMap((c, ci) =>
    OTHERS.map((other, oi) => {
      const [callName, call] = CALLS[(si + ci + oi) % CALLS.length]!;
      return [`${c.name}, ${callName} → a and ${other}`, c, other, call] as const;
    }),
  );
  it.each(rows)(
    'I8 OUT-01 OUT-03 a head Node renders in the constructor is judged: %s',
    async (name, c, other, call) => {
      for (const to of ['a', other] as const) {
        const sent = await send(
          topo[to].origin,
          (host) => shape.make(c.list, host),
          shape.expect,
          call,
          [topo.a.origin],
        );
        expectHop(sent, c, to === 'a', `${name}: ${to}`);
      }
    },
  );
});

// --- request options that change where the head goes, or how -----------------------------------

interface Variant {
  readonly name: string;
  readonly extra: () => http.RequestOptions;
  readonly list?: () => List;
  /** The connection is made by code graylane cannot follow: no marker on either hop (CTX-13). */
  readonly unjudged?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'setHost: false', extra: () => ({ setHost: false }) },
  {
    name: 'a Host header naming the allowlisted host',
    extra: () => ({}),
    list: () => [['Host', new URL(topo.a.origin).host]],
  },
  { name: 'a keep-alive agent', extra: () => ({ agent: new http.Agent({ keepAlive: true }) }) },
  { name: 'agent: false', extra: () => ({ agent: false }) },
  {
    name: 'createConnection (it may connect anywhere: judged like a socketPath)',
    unjudged: true,
    extra: () => ({
      createConnection: (o: http.ClientRequestArgs) =>
        net.createConnection(o as net.NetConnectOpts),
    }),
  },
];

describe.each(VARIANTS)('options: $name', (variant) => {
  const rows = [SHAPES[0]!, SHAPES[3]!].flatMap((s) =>
    [CONTENTS[1]!, CONTENTS[3]!].map((c) => [`${s.name}, ${c.name}`, s, c] as const),
  );
  it.each(rows)('I8 CTX-13 judged on the host Node connects to: %s', async (name, s, c) => {
    const list = [...(variant.list?.() ?? []), ...c.list];
    for (const to of ['a', 'b'] as const) {
      const sent = await send(
        topo[to].origin,
        (host) => s.make(list, host),
        s.expect,
        CALLS[0]![1],
        [topo.a.origin],
        variant.extra(),
      );
      expectHop(sent, c, to === 'a' && variant.unjudged !== true, `${name}: ${to}`);
    }
  });
});

describe('https.request', () => {
  const httpsCall: Call = (url, o, c) =>
    new Promise((resolve, reject) => {
      const req = https.request(
        url,
        { ...o, method: 'POST', ca: topo.ca, signal: limit() },
        done(resolve),
      );
      settle(req, c, true, reject);
    });
  const rows = [SHAPES[0]!, SHAPES[3]!, SHAPES[5]!].flatMap((s) =>
    [CONTENTS[1]!, CONTENTS[3]!].map((c) => [`${s.name}, ${c.name}`, s, c] as const),
  );
  it.each(rows)('I8 OUT-01 a head rendered in the constructor: %s', async (name, s, c) => {
    for (const allowed of [true, false]) {
      const sent = await send(
        topo.tls.origin,
        (host) => s.make(c.list, host),
        s.expect,
        httpsCall,
        [allowed ? topo.tls.origin : topo.a.origin],
      );
      expectHop(sent, c, allowed, `${name}, allowlisted: ${String(allowed)}`);
    }
  });
});

// --- a library replaced http.ClientRequest (msw, nock): Expect cannot be held back -------------

describe('http.ClientRequest replaced (msw, nock)', () => {
  beforeAll(() => {
    (http as { ClientRequest: unknown }).ClientRequest = new Proxy(nodeClientRequest, {});
  });
  afterAll(() => {
    (http as { ClientRequest: unknown }).ClientRequest = nodeClientRequest;
  });
  const rows = SHAPES.filter((s) => s.expect).flatMap((s) =>
    [CONTENTS[1]!, CONTENTS[3]!].map((c) => [`${s.name}, ${c.name}`, s, c] as const),
  );
  it.each(rows)('I8 OUT-01 judged on a copy of the headers: %s', async (name, s, c) => {
    for (const to of ['a', 'b'] as const) {
      const sent = await send(
        topo[to].origin,
        (host) => s.make(c.list, host),
        s.expect,
        CALLS[0]![1],
        [topo.a.origin],
      );
      expectHop(sent, c, to === 'a', `${name}: ${to}`);
    }
  });
});

// --- Node's own forward proxy from the environment (Node ≥ 22.21 / 24.5) -----------------------

function envAgent(env: Record<string, string>): http.Agent {
  return new http.Agent({ proxyEnv: env } as http.AgentOptions);
}
const ENV_PROXY = Object.getOwnPropertySymbols(envAgent({ HTTP_PROXY: 'http://127.0.0.1:9' })).some(
  (s) => s.description === 'kProxyConfig',
);

describe.runIf(ENV_PROXY)('Node proxies from the environment (server b is the proxy)', () => {
  const HEADS: [string, Shape | undefined][] = [
    ['head rendered at end()', undefined],
    ['Expect', SHAPES[0]],
    ['pairs (rewritten in the constructor: refused)', SHAPES[3]],
  ];
  const make =
    (s: Shape | undefined, c: Contents) =>
    (host: string): Headers =>
      s ? s.make(c.list, host) : Object.fromEntries(c.list);
  const ALLOW: [string, () => string[], boolean][] = [
    ['the proxy and the target allowlisted', () => [topo.a.origin, topo.b.origin], true],
    ['only the target allowlisted', () => [topo.a.origin], false],
    ['only the proxy allowlisted', () => [topo.b.origin], false],
  ];
  const saved = http.globalAgent;
  const AGENTS: [string, (env: Record<string, string>) => http.RequestOptions][] = [
    ['an Agent with proxyEnv', (env) => ({ agent: envAgent(env) })],
    [
      'http.globalAgent with proxyEnv (as NODE_USE_ENV_PROXY=1 sets it)',
      (env) => {
        http.globalAgent = envAgent(env);
        return {};
      },
    ],
  ];
  afterAll(() => {
    http.globalAgent = saved;
  });
  const rows = AGENTS.flatMap(([agentName, agent]) =>
    HEADS.map(([headName, s]) => [`${agentName}, ${headName}`, agent, s] as const),
  );

  it.each(rows)('I8 CTX-13 judged with the proxy: %s', async (name, agent, s) => {
    try {
      for (const [allowName, allow, both] of ALLOW)
        for (const c of [CONTENTS[1]!, CONTENTS[3]!]) {
          const where = `${name}, ${allowName}, ${c.name}`;
          const extra = agent({ HTTP_PROXY: topo.b.origin });
          const sent = await send(
            topo.a.origin,
            make(s, c),
            s?.expect ?? false,
            CALLS[0]![1],
            allow(),
            extra,
          );
          expect(sent.hop.server, `${where}: sent through the proxy`).toBe('b');
          expectHop(sent, c, both && s !== SHAPES[3], where);
        }
      // NO_PROXY names the target: sent directly, judged on the target alone.
      for (const c of [CONTENTS[1]!, CONTENTS[3]!]) {
        const where = `${name}, NO_PROXY, ${c.name}`;
        const extra = agent({ HTTP_PROXY: topo.b.origin, NO_PROXY: '127.0.0.1' });
        const sent = await send(
          topo.a.origin,
          make(s, c),
          s?.expect ?? false,
          CALLS[0]![1],
          [topo.a.origin],
          extra,
        );
        expect(sent.hop.server, `${where}: sent directly`).toBe('a');
        expectHop(sent, c, true, where);
      }
    } finally {
      http.globalAgent = saved;
    }
  });
});

// --- a stand-in request that never renders a head (nock 13, @mswjs/interceptors ≤ 0.25) --------

const STAND_IN = '.stand-in.test';

/** `http.request` below graylane: hands `*.stand-in.test` to a stand-in, anything else to Node. */
function belowGraylane(this: unknown, ...args: unknown[]): http.ClientRequest {
  const [first, second] = args;
  if (typeof first === 'string' && new URL(first).hostname.endsWith(STAND_IN))
    return standIn(first, (second ?? {}) as http.RequestOptions);
  const req = (nodeRequest as (...a: unknown[]) => http.ClientRequest).apply(this, args);
  wrapBelow?.(req);
  return req;
}

/**
 * Shaped like nock 13's OverriddenClientRequest (lib/intercept.js) and its
 * InterceptedRequestRouter (lib/intercepted_request_router.js): an OutgoingMessage with
 * ClientRequest's prototype, the options' headers set lower-cased, `write`/`end`/`flushHeaders`
 * replaced on the instance; the headers are read (`getHeaders()`) when the request ends.
 */
function standIn(url: string, options: http.RequestOptions): http.ClientRequest {
  const req = Object.create(nodeClientRequest.prototype) as http.ClientRequest;
  (http.OutgoingMessage as unknown as (this: unknown) => void).call(req);
  for (const [name, value] of Object.entries(options.headers ?? {}))
    req.setHeader(name.toLowerCase(), value as string);
  const read = (): void => void standInSeen.set(new URL(url).pathname, { ...req.getHeaders() });
  Object.assign(req, {
    write: () => true,
    flushHeaders: () => read(),
    end: () => {
      read();
      return req;
    },
  });
  return req;
}

describe('a stand-in whose write/end/flushHeaders never render a head (nock 13)', () => {
  beforeAll(() => {
    // nock 13 replaces http.ClientRequest too.
    (http as { ClientRequest: unknown }).ClientRequest = function OverriddenClientRequest() {};
  });
  afterAll(() => {
    (http as { ClientRequest: unknown }).ClientRequest = nodeClientRequest;
  });
  const RENDER: [string, (url: string, o: http.RequestOptions) => void][] = [
    ['end()', (u, o) => void http.request(u, o).end()],
    [
      'write() + end()',
      (u, o) => {
        const req = http.request(u, o);
        req.write('x');
        req.end();
      },
    ],
    [
      'flushHeaders() + end()',
      (u, o) => {
        const req = http.request(u, o);
        req.flushHeaders();
        req.end();
      },
    ],
    ['http.get', (u, o) => void http.get(u, o)],
  ];
  const rows = RENDER.flatMap(([how, render]) =>
    [CONTENTS[1]!, CONTENTS[3]!].map((c) => [`${how}, ${c.name}`, render, c] as const),
  );
  it.each(rows)(
    'I8 OUT-01 judged before the stand-in reads the headers: %s',
    async (name, render, c) => {
      for (const allowed of [true, false]) {
        const where = `${name}, allowlisted: ${String(allowed)}`;
        const path = `/s${++seq}`;
        const url = `http://${allowed ? 'allowed' : 'other'}${STAND_IN}${path}`;
        await runWithGray('beta', () => render(url, { headers: Object.fromEntries(c.list) }), {
          allowHosts: [`http://allowed${STAND_IN}`],
        });
        const seen = standInSeen.get(path);
        expect(seen, `${where}: read`).toBeDefined();
        const ids = seen?.['x-gray-id'];
        const grays = String(seen?.baggage ?? '')
          .split(',')
          .map((m) => m.trim())
          .filter((m) => m.startsWith('gray'));
        expect(ids === undefined ? [] : [ids].flat(), `${where}: X-Gray-Id`).toEqual(
          allowed ? c.ids : [],
        );
        expect(grays, `${where}: gray members`).toEqual(allowed ? c.grays : []);
      }
    },
  );
});

// --- a wrapper below graylane replaced end/write on the request (I1) ---------------------------

/*
 * A tracing wrapper on http.request below graylane that replaces `req.end` (or `write`,
 * `flushHeaders`) on the instance: the old code rendered a held Expect head only when `end` was
 * Node's own, so the head was never sent (`headersSent` false when http.request returned) and a
 * caller waiting for 'continue' before writing the body hung forever, whatever the server would
 * answer. Node renders that head in the constructor: it must be on the wire at once.
 */
type Method = 'end' | 'write' | 'flushHeaders';
const passthrough = (req: http.ClientRequest, names: readonly Method[]): void => {
  const own = req as unknown as Record<Method, (...a: unknown[]) => unknown>;
  for (const name of names) {
    const inner = own[name];
    own[name] = function traced(this: unknown, ...a: unknown[]) {
      return inner.apply(this, a);
    };
  }
};
const WRAPS: [string, (req: http.ClientRequest) => void][] = [
  ['end replaced on the request', (req) => passthrough(req, ['end'])],
  ['write and end replaced', (req) => passthrough(req, ['write', 'end'])],
  [
    'write, end and flushHeaders replaced by two wrappers',
    (req) => {
      passthrough(req, ['write', 'end', 'flushHeaders']);
      passthrough(req, ['end', 'write', 'flushHeaders']);
    },
  ],
];

/** The server's answer to the head: `100 Continue` then 200, 417, or a final 200 at once. */
type Answer = '100' | '417' | 'final';
const ANSWERS: [Answer, { events: string[]; body: string }][] = [
  ['100', { events: ['continue', '200'], body: 'body' }],
  ['417', { events: ['417'], body: '' }],
  ['final', { events: ['200'], body: '' }],
];

interface Arrived {
  readonly expect: string | undefined;
  readonly grayIds: string[];
  readonly baggage: string[];
  body: string;
}

const HELD_SHAPES: [string, (l: List) => Headers][] = [
  [SHAPES[0]!.name, (l) => SHAPES[0]!.make(l, '')],
  [SHAPES[1]!.name, (l) => SHAPES[1]!.make(l, '')],
  [SHAPES[2]!.name, (l) => SHAPES[2]!.make(l, '')],
  ['Expect: 100 (a number)', (l) => ({ Expect: 100, ...Object.fromEntries(l) })],
];

type HeldCall = (
  url: string,
  o: http.RequestOptions,
  cb: (res: http.IncomingMessage) => void,
) => http.ClientRequest;
const HELD_CALLS: [string, HeldCall][] = [
  ['http.request(url, options, cb)', (u, o, cb) => http.request(u, o, cb)],
  ['http.request(URL, options, cb)', (u, o, cb) => http.request(new URL(u), o, cb)],
  [
    'http.request(options, cb)',
    (u, o, cb) => {
      const url = new URL(u);
      return http.request({ ...o, host: url.hostname, port: url.port, path: url.pathname }, cb);
    },
  ],
];

describe('I1 a wrapper below graylane replaced end/write: an Expect head is sent at once', () => {
  const arrived = new Map<string, Arrived>();
  let origin = '';
  const server = http.createServer((req, res) => {
    const seen = arrived.get(req.url ?? '');
    req.on('data', (c: Buffer) => seen && (seen.body += c.toString()));
    req.on('end', () => res.end('ok'));
  });
  const lines = (req: http.IncomingMessage, name: string): string[] =>
    req.rawHeaders.filter((_, i, r) => i % 2 === 1 && r[i - 1]!.toLowerCase() === name);
  const answer = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    arrived.set(req.url ?? '', {
      expect: req.headers.expect,
      grayIds: lines(req, 'x-gray-id'),
      baggage: lines(req, 'baggage'),
      body: '',
    });
    const how = (req.url ?? '').split('/')[1] as Answer;
    if (how === '100') {
      res.writeContinue();
      server.emit('request', req, res);
    } else res.writeHead(how === '417' ? 417 : 200, { connection: 'close' }).end();
  };
  server.on('checkContinue', answer).on('checkExpectation', answer);
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    wrapBelow = undefined;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const rows = WRAPS.flatMap(([wrapName, wrap], wi) =>
    ANSWERS.map(([how, want], ai) => {
      const i = wi * ANSWERS.length + ai;
      const [shapeName, shape] = HELD_SHAPES[i % HELD_SHAPES.length]!;
      const c = [CONTENTS[1]!, CONTENTS[3]!][i % 2]!;
      const [callName, call] = HELD_CALLS[i % HELD_CALLS.length]!;
      const name = `${wrapName}, server answers ${how}, ${shapeName}, ${c.name}, ${callName}`;
      return [name, wrap, how, want, shape, c, call] as const;
    }),
  );
  it.each(rows)('I1 I8 OUT-01 %s', async (name, wrap, how, want, shape, c, call) => {
    wrapBelow = wrap;
    try {
      for (const allowed of [true, false]) {
        const where = `${name}, allowlisted: ${String(allowed)}`;
        const path = `/${how}/${++seq}`;
        const headers = shape([...c.list, ['Content-Length', '4']]);
        const before = JSON.stringify(headers);
        const got = await runWithGray(
          'beta',
          () =>
            new Promise<{ sent: boolean; events: string[] }>((resolve) => {
              const events: string[] = [];
              const options = { method: 'PUT', headers, signal: AbortSignal.timeout(1000) };
              const req = call(`${origin}${path}`, options as http.RequestOptions, (res) => {
                events.push(String(res.statusCode));
                res.resume();
                res.on('end', () => {
                  req.destroy();
                  resolve({ sent, events });
                });
              });
              const sent = req.headersSent;
              req.on('continue', () => {
                events.push('continue');
                req.end('body');
              });
              req.on('error', (e: NodeJS.ErrnoException) => {
                events.push(`error ${e.name}`);
                resolve({ sent, events });
              });
            }),
          { allowHosts: [allowed ? origin : topo.a.origin] },
        );
        expect(got, `${where}: sent at once, answered`).toEqual({
          sent: true,
          events: want.events,
        });
        const seen = arrived.get(path);
        expect(seen?.expect, `${where}: Expect as the caller wrote it`).toBe(
          String((headers as Record<string, unknown>).Expect ?? '100-continue'),
        );
        expect(seen?.body, `${where}: body`).toBe(want.body);
        const hop = { grayIds: seen?.grayIds ?? [], baggage: seen?.baggage ?? [] } as Hop;
        expectHop({ hop, before, after: JSON.stringify(headers) }, c, allowed, where);
      }
    } finally {
      wrapBelow = undefined;
    }
  });
});

// --- an invalid Expect value throws from http.request as in Node --------------------------------

/*
 * The old code blanked Expect in its copy, so Node's constructor never validated it, and then
 * swallowed the error of restoring it: `http.request` returned and the request went out with an
 * empty `Expect:` (in a lane), where Node throws ERR_INVALID_CHAR / ERR_HTTP_INVALID_HEADER_VALUE
 * synchronously and sends nothing (a CRLF value would otherwise be a header injection attempt).
 */
const INVALID: [string, Record<string, unknown>][] = [
  ['CRLF', { Expect: 'x\r\nX-Injected: 1' }],
  ['non-Latin-1', { Expect: '100-continue\u0100' }],
  ['an array with one bad value', { expect: ['100-continue', 'x\ny'] }],
  ['a bad value under an earlier key', { EXPECT: 'a\rb', Expect: '100-continue' }],
  ['undefined under an earlier key', { Expect: undefined, expect: '100-continue' }],
];

type Throwing = [string, (u: string, o: http.RequestOptions) => unknown];
const THROWING: [string, Throwing, Throwing][] = [
  [
    'http.request(url, options)',
    ['graylane', (u, o) => http.request(u, o)],
    ['node', (u, o) => nodeRequest(u, o)],
  ],
  [
    'http.request(options)',
    [
      'graylane',
      (u, o) => http.request({ ...o, host: new URL(u).hostname, port: new URL(u).port }),
    ],
    ['node', (u, o) => nodeRequest({ ...o, host: new URL(u).hostname, port: new URL(u).port })],
  ],
  [
    'http.get(url, options)',
    ['graylane', (u, o) => http.get(u, o)],
    ['node', (u, o) => nodeGet(u, o)],
  ],
  [
    'https.request(url, options)',
    ['graylane', (u, o) => https.request(u, o)],
    ['node', (u, o) => nodeHttpsRequest(u, o)],
  ],
];

function thrown(make: () => unknown): unknown {
  try {
    (make() as http.ClientRequest).destroy();
    return 'no throw';
  } catch (e) {
    const { name, message, code } = e as NodeJS.ErrnoException;
    return { name, message, code };
  }
}

describe('an invalid Expect value', () => {
  const rows = INVALID.flatMap(([valueName, expectHeaders], vi) =>
    [0, 1].map((k) => {
      const [callName, ours, node] = THROWING[(vi * 2 + k) % THROWING.length]!;
      return [`${valueName}, ${callName}`, expectHeaders, ours[1], node[1], callName] as const;
    }),
  );
  it.each(rows)('I1 I8 throws as Node does: %s', (name, expectHeaders, ours, node, callName) => {
    const origin = callName.startsWith('https') ? topo.tls.origin : topo.a.origin;
    const headers = { ...expectHeaders, 'Content-Length': '4', 'X-Gray-Id': 'stable' };
    const before = JSON.stringify(headers);
    const options = (): http.RequestOptions => ({
      method: 'PUT',
      path: `/echo/i${++seq}`,
      headers,
    });
    const native = thrown(() => node(`${origin}/echo/i${++seq}`, options()));
    expect(native, `${name}: Node throws`).not.toBe('no throw');
    const WHERE: [string, (f: () => unknown) => unknown][] = [
      ['outside a lane', (f) => f()],
      ['in a lane, allowlisted', (f) => runWithGray('beta', f, { allowHosts: [origin] })],
      [
        'in a lane, not allowlisted',
        (f) => runWithGray('beta', f, { allowHosts: [topo.b.origin] }),
      ],
    ];
    for (const [where, run] of WHERE) {
      const got = run(() => thrown(() => ours(`${origin}/echo/i${++seq}`, options())));
      expect(got, `${name}, ${where}: the same throw`).toEqual(native);
    }
    expect(JSON.stringify(headers), `${name}: the caller's headers untouched`).toBe(before);
  });
});
