import { AsyncLocalStorage } from 'node:async_hooks';
import {
  createGraylane,
  createLane,
  provideAsyncLocalStorage,
  signMarker,
  withGray,
  type WebGraylane,
} from '@graylane/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MARKER_HEADERS,
  baggageMembers,
  memberValues,
  siteUrl,
  startMarkerSite,
  type MarkerHop,
  type MarkerHops,
  type MarkerSite,
} from './support/marker-site.js';

/*
 * GW-01 / HDR-14 (review 120 D1): a gateway that decided a lane under a trust that did not take
 * the client's word (`edge`; `signed` without a valid client token) and forwards the client's
 * headers through `withGray` — `new Request(upstream, request)`, `{ headers: request.headers }`,
 * the outer request inside `gray.handle` — sends the allowlisted upstream the lane's version,
 * never the client's marker: in the header (any case, any number of lines), the `gray` baggage
 * member (any spelling) or the Jaeger / OT member headers. The old withGray kept a marker the
 * caller set on allowlisted hops (OUT-03) and `decide()` leaves the `Request` as it came, so the
 * upstream got `x-gray-id: beta` and `baggage: gray=beta` from a lane decided `stable`. A lane a
 * valid token decided keeps that token; an `open` lane keeps any marker the caller set (OUT-03):
 * those rows are controls.
 */

provideAsyncLocalStorage(AsyncLocalStorage);

const KEY = 'k'.repeat(32);
const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
const hops: MarkerHops = new Map();
let a: MarkerSite;
let b: MarkerSite;
let token: string;
let seq = 0;
const engines = new Map<string, WebGraylane>();

beforeAll(async () => {
  [a, b] = await Promise.all([startMarkerSite('a', hops), startMarkerSite('b', hops)]);
  token = await signMarker('beta', { key: KEY, kid: 'k1', ttlSeconds: 3600 });
  for (const trust of ['edge', 'signed', 'open'] as const)
    engines.set(
      trust,
      createGraylane({
        config,
        trust,
        allowHosts: [a.origin],
        ...(trust === 'signed' ? { keys: { k1: KEY } } : {}),
      }),
    );
});
afterAll(() => Promise.all([a.close(), b.close()]));

/** A token of the right shape whose signature is not the key's (bad_signature). */
const FORGED = `beta.${Math.floor(Date.now() / 1000) + 3600}.k1.${'A'.repeat(43)}`;

/** How the client's request reaches the gateway: who it trusts, what the client sends. */
interface Trust {
  readonly label: string;
  readonly engine: 'edge' | 'signed' | 'open';
  /** The marker value the client writes in every carrier of the row's kind. */
  readonly marker: () => string;
  /** More client headers (a valid cookie token). */
  readonly extra?: () => [string, string][];
  /** The lane the gateway decides: fixed, or `beta` when the kind carries a read marker. */
  readonly lane: 'stable' | 'beta' | 'marker';
  /** `replaced`: only the lane's version goes on; `keeps`: the control rows. */
  readonly expect: 'replaced' | 'keeps-token' | 'keeps';
}
const TRUSTS: Trust[] = [
  { label: 'edge', engine: 'edge', marker: () => 'beta', lane: 'stable', expect: 'replaced' },
  {
    label: 'signed, a bare label (untrusted)',
    engine: 'signed',
    marker: () => 'beta',
    lane: 'stable',
    expect: 'replaced',
  },
  {
    label: 'signed, a forged token (bad_signature)',
    engine: 'signed',
    marker: () => FORGED,
    lane: 'stable',
    expect: 'replaced',
  },
  {
    label: 'signed, a valid cookie token beside a bare canary',
    engine: 'signed',
    marker: () => 'canary',
    extra: () => [['cookie', `gray=${token}`]],
    lane: 'beta',
    expect: 'replaced',
  },
  {
    label: 'signed, a valid token (control: keeps it)',
    engine: 'signed',
    marker: () => token,
    lane: 'marker',
    expect: 'keeps-token',
  },
  {
    label: 'open (control: OUT-03 keeps it)',
    engine: 'open',
    marker: () => 'beta',
    lane: 'marker',
    expect: 'keeps',
  },
];

/** Where the client puts its marker. `read`: a carrier the engine reads (header, baggage). */
interface Kind {
  readonly label: string;
  readonly pairs: (m: string) => [string, string][];
  readonly header: boolean;
  readonly read: boolean;
}
const KINDS: Kind[] = [
  { label: 'header', pairs: (m) => [['X-Gray-Id', m]], header: true, read: true },
  {
    label: 'header, two lines in two cases',
    pairs: (m) => [
      ['X-GRAY-ID', m],
      ['x-gray-id', m],
    ],
    header: true,
    read: false,
  },
  // Controls: with no marker header of the caller's, graylane writes its own member (as before).
  {
    label: 'baggage (control)',
    pairs: (m) => [['baggage', `a=1,gray=${m}`]],
    header: false,
    read: true,
  },
  {
    label: 'baggage, an escaped key, properties, a second line (control)',
    pairs: (m) => [
      ['baggage', `%67ray=${m};p=1,b=2`],
      ['Baggage', `c=3`],
    ],
    header: false,
    read: true,
  },
  {
    label: 'header and baggage',
    pairs: (m) => [
      ['x-gray-id', m],
      ['baggage', `gray=${m},a=1`],
    ],
    header: true,
    read: true,
  },
  {
    label: 'the Jaeger and OT member headers',
    pairs: (m) => [
      ['uberctx-gray', m],
      ['OT-Baggage-Gray', m],
    ],
    header: false,
    read: false,
  },
  {
    label: 'all of them',
    pairs: (m) => [
      ['x-gray-id', m],
      ['baggage', `a=1,gray=${m}`],
      ['uberctx-gray', m],
      ['ot-baggage-gray', m],
    ],
    header: true,
    read: true,
  },
];

type Args = [string | URL | Request, RequestInit | undefined];
/** How the app builds the upstream call from the client's request (and its raw header pairs). */
const SHAPES: [string, (url: string, req: Request, pairs: [string, string][]) => Args][] = [
  ['new Request(url, request)', (u, req) => [new Request(u, req), undefined]],
  ['URL, { headers: request.headers }', (u, req) => [new URL(u), { headers: req.headers }]],
  ['string, new Headers(request.headers)', (u, req) => [u, { headers: new Headers(req.headers) }]],
  [
    'string, a record of the pairs as sent',
    (u, _req, pairs) => [u, { headers: Object.fromEntries(pairs) }],
  ],
  ['string, the pairs as sent', (u, _req, pairs) => [u, { headers: pairs }]],
];

/** How the lane reaches withGray. Each answers 200 when the upstream call went through. */
type Via = (gray: WebGraylane, req: Request, call: () => Args) => Promise<number>;
const VIAS: [string, Via][] = [
  [
    'decide, withGray(fetch, { lane })',
    async (gray, req, call) => {
      const outcome = await gray.decide(req);
      return (await withGray(fetch, { lane: outcome.lane })(...call())).status;
    },
  ],
  [
    'gray.handle, withGray(fetch) on the outer request',
    async (gray, req, call) =>
      (
        await gray.handle(
          req,
          async () => new Response(null, { status: (await withGray(fetch)(...call())).status }),
        )
      ).status,
  ],
  [
    'decide, gray.run(outcome, withGray(fetch))',
    async (gray, req, call) => {
      const outcome = await gray.decide(req);
      return gray.run(outcome, async () => (await withGray(fetch)(...call())).status);
    },
  ],
];

const laneOf = (trust: Trust, kind: Kind): string =>
  trust.lane === 'marker' ? (kind.read ? 'beta' : 'stable') : trust.lane;

/** A marker form `value` says `version`: the label, or (a token lane) a token for it. */
const says = (value: string, version: string, tokens: boolean): boolean =>
  value === version || (tokens && value === token && version === 'beta');

/** The header lines as the client wrote them, joined as fetch joins them. */
const sent = (pairs: [string, string][], name: string): string | undefined => {
  const values = pairs.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  return values.length === 0 ? undefined : values.join(', ');
};

/**
 * One allowlisted hop: `replaced` and an `open` lane without a caller header carry exactly the
 * lane's version (a kept header only where it says it), one `gray` member, the other members as
 * sent, a member header only where the client sent one; a control keeps what it keeps.
 */
function expectAllowlisted(
  hop: MarkerHop,
  pairs: [string, string][],
  version: string,
  expectMode: Trust['expect'],
  where: string,
): void {
  const header = sent(pairs, 'x-gray-id');
  const got = (name: string): string | undefined =>
    hop.lines[name as 'x-gray-id'].length === 0
      ? undefined
      : hop.lines[name as 'x-gray-id'].join(', ');
  if (expectMode === 'keeps' && header !== undefined) {
    // OUT-03: the caller's marker and everything beside it, as written.
    for (const name of MARKER_HEADERS)
      expect(
        name === 'baggage'
          ? baggageMembers(hop.lines.baggage)
          : got(name) === undefined
            ? undefined
            : got(name),
        `${where}: ${name} as sent`,
      ).toEqual(
        name === 'baggage'
          ? baggageMembers(pairs.filter(([n]) => n.toLowerCase() === 'baggage').map(([, v]) => v))
          : sent(pairs, name),
      );
    return;
  }
  const tokens = expectMode === 'keeps-token';
  expect(hop.lines['x-gray-id'], `${where}: one marker line`).toHaveLength(1);
  expect(got('x-gray-id'), `${where}: the marker`).toBe(
    header !== undefined && says(header, version, tokens) ? header : version,
  );
  // Beside a kept marker, a member only where the client sent one (OUT-03).
  const keptHeader = header !== undefined && says(header, version, tokens);
  const hadMember = memberValues(
    pairs.filter(([n]) => n.toLowerCase() === 'baggage').map(([, v]) => v),
  ).length;
  expect(memberValues(hop.lines.baggage), `${where}: one gray member`).toEqual(
    keptHeader && hadMember === 0 ? [] : [version],
  );
  const others = baggageMembers(
    pairs.filter(([n]) => n.toLowerCase() === 'baggage').map(([, v]) => v),
  ).filter(([k]) => k !== 'gray');
  expect(
    baggageMembers(hop.lines.baggage).filter(([k]) => k !== 'gray'),
    `${where}: the other members`,
  ).toEqual(others);
  for (const name of ['uberctx-gray', 'ot-baggage-gray']) {
    const mine = sent(pairs, name);
    expect(got(name), `${where}: ${name}`).toBe(
      mine === undefined ? undefined : says(mine, version, tokens) ? mine : version,
    );
  }
}

/** A hop off the allowlist: no marker in any form, the other members as sent. */
function expectOutside(hop: MarkerHop, pairs: [string, string][], where: string): void {
  expect(hop.lines['x-gray-id'], `${where}: no marker`).toEqual([]);
  expect(hop.lines['uberctx-gray'], `${where}: no uberctx-gray`).toEqual([]);
  expect(hop.lines['ot-baggage-gray'], `${where}: no ot-baggage-gray`).toEqual([]);
  expect(memberValues(hop.lines.baggage), `${where}: no gray member`).toEqual([]);
  expect(baggageMembers(hop.lines.baggage), `${where}: the other members`).toEqual(
    baggageMembers(pairs.filter(([n]) => n.toLowerCase() === 'baggage').map(([, v]) => v)).filter(
      ([k]) => k !== 'gray',
    ),
  );
}

function clientRequest(trust: Trust, kind: Kind): { req: Request; pairs: [string, string][] } {
  const pairs = [...kind.pairs(trust.marker()), ...(trust.extra?.() ?? [])];
  return { req: new Request('https://shop.example/cart', { headers: pairs }), pairs };
}

const rows = VIAS.flatMap(([via, run]) =>
  TRUSTS.flatMap((trust) =>
    KINDS.flatMap((kind) =>
      SHAPES.map(([shape, call]) => ({ via, run, trust, kind, shape, call })),
    ),
  ),
);

describe('GW-01 / HDR-14: a forwarded client marker never outlives a lane that did not honour it', () => {
  it.each(rows.map((r) => [`${r.trust.label} · ${r.kind.label} · ${r.via} · ${r.shape}`, r]))(
    'GW-01 %s',
    async (_label, { run, trust, kind, call }) => {
      const id = `f${++seq}`;
      const { req, pairs } = clientRequest(trust, kind);
      const status = await run(engines.get(trust.engine)!, req, () =>
        call(siteUrl(a.origin, id), req, pairs),
      );
      expect(status).toBe(200);
      const seen = hops.get(id) ?? [];
      expect(seen.map((h) => h.server)).toEqual(['a']);
      const version = laneOf(trust, kind);
      expectAllowlisted(seen[0]!, pairs, version, trust.expect, 'upstream');
      if (trust.expect === 'replaced')
        for (const name of MARKER_HEADERS)
          expect(seen[0]!.lines[name].join(), `${name}: nothing of the client's`).not.toContain(
            trust.marker(),
          );
    },
  );
});

/** Redirect chains: each hop judged on its own target, every allowlisted one the same marker. */
const CHAINS: [string, (id: string, status: number) => string, string[]][] = [
  [
    'to another path of the allowlisted host',
    (id, s) => siteUrl(a.origin, id, s, `${a.origin}/${id}/next`),
    ['a', 'a'],
  ],
  ['off the allowlist', (id, s) => siteUrl(a.origin, id, s, siteUrl(b.origin, id)), ['a', 'b']],
  [
    'off the allowlist and back',
    (id, s) => siteUrl(a.origin, id, s, siteUrl(b.origin, id, s, siteUrl(a.origin, id))),
    ['a', 'b', 'a'],
  ],
  [
    'from off the allowlist onto it',
    (id, s) => siteUrl(b.origin, id, s, siteUrl(a.origin, id)),
    ['b', 'a'],
  ],
];
const ALL = KINDS.find((k) => k.label === 'all of them')!;
const redirectRows = TRUSTS.filter((t) => !t.extra).flatMap((trust) =>
  CHAINS.flatMap(([chain, url, servers]) =>
    [302, 307].flatMap((status) =>
      SHAPES.map(([shape, call]) => ({ trust, chain, url, servers, status, shape, call })),
    ),
  ),
);

describe('GW-01 / RDR-02: redirects keep the lane consistent', () => {
  it.each(redirectRows.map((r) => [`${r.trust.label} · ${r.status} ${r.chain} · ${r.shape}`, r]))(
    'GW-01 %s',
    async (_label, { trust, url, servers, status, call }) => {
      const id = `r${++seq}`;
      const { req, pairs } = clientRequest(trust, ALL);
      const outcome = await engines.get(trust.engine)!.decide(req);
      const res = await withGray(fetch, { lane: outcome.lane })(
        ...call(url(id, status), req, pairs),
      );
      expect(res.status).toBe(200);
      const seen = hops.get(id) ?? [];
      expect(seen.map((h) => h.server)).toEqual(servers);
      for (const [n, hop] of seen.entries()) {
        const where = `hop ${n + 1} (${hop.server})`;
        if (hop.server === 'a')
          expectAllowlisted(hop, pairs, laneOf(trust, ALL), trust.expect, where);
        else expectOutside(hop, pairs, where);
      }
    },
  );
});

describe('GW-01: a lane of another version is how an app calls it on purpose', () => {
  const CALLS: [
    string,
    (lane: ReturnType<typeof createLane>, url: string, req: Request) => Args,
  ][] = [
    ['new Request(url, request)', (_l, u, req) => [new Request(u, req), undefined]],
    ['{ headers: request.headers }', (_l, u, req) => [u, { headers: req.headers }]],
  ];
  it.each(
    CALLS.flatMap(([shape, call]) =>
      (['edge', 'signed'] as const).map((e) => [e, shape, call] as const),
    ),
  )(
    'GW-01 %s: createLane(canary) in the request lane sends canary over the client marker (%s)',
    async (engine, _shape, call) => {
      const id = `l${++seq}`;
      const req = new Request('https://shop.example/', {
        headers: { 'x-gray-id': 'beta', baggage: 'gray=beta' },
      });
      const gray = engines.get(engine)!;
      const status = await gray.handle(req, async () => {
        const lane = createLane('canary');
        const res = await withGray(fetch, { lane })(...call(lane, siteUrl(a.origin, id), req));
        return new Response(null, { status: res.status });
      });
      expect(status.status).toBe(200);
      const [hop] = hops.get(id) ?? [];
      expect(hop?.lines['x-gray-id']).toEqual(['canary']);
      expect(memberValues(hop?.lines.baggage ?? [])).toEqual(['canary']);
    },
  );
});
