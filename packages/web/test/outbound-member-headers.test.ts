import { createGraylane, createLane, withGray, type GrayLane } from '@graylane/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  baggageMembers,
  memberValues,
  siteUrl,
  startMarkerSite,
  type MarkerHop,
  type MarkerHops,
  type MarkerSite,
} from './support/marker-site.js';

/*
 * I8 / OUT-02 / RDR-01 for the `gray` member Jaeger and OT propagators carry in headers of their
 * own (review 120 D5): a hop off the allowlist — directly, after any redirect status, with
 * `redirect: 'manual'` — gets no `uberctx-gray` and no `ot-baggage-gray`, as it gets no
 * `X-Gray-Id` and no `gray` baggage member, whoever set them. The old withGray stripped only the
 * header and the baggage member. With the member off (`baggageKey: false`) every hop loses the
 * default `gray` member in every form (OTB-02, as @graylane/node). On the allowlist, a member
 * header beside a marker graylane writes says the same version.
 */

const hops: MarkerHops = new Map();
let a: MarkerSite;
let b: MarkerSite;
let seq = 0;

beforeAll(async () => {
  [a, b] = await Promise.all([startMarkerSite('a', hops), startMarkerSite('b', hops)]);
});
afterAll(() => Promise.all([a.close(), b.close()]));

/** The lanes: built by hand (open, OUT-03), decided in edge mode, with the member off. */
const LANES: [string, () => Promise<GrayLane>][] = [
  ['createLane(beta)', async () => createLane('beta', { allowHosts: [a.origin] })],
  [
    'a lane decided in edge mode',
    async () =>
      (
        await createGraylane({
          config: { versions: ['stable', 'beta'], default: 'stable' },
          trust: 'edge',
          allowHosts: [a.origin],
        }).decide(new Request('https://shop.example/'))
      ).lane,
  ],
  [
    'createLane(beta, { baggageKey: false })',
    async () => createLane('beta', { allowHosts: [a.origin], baggageKey: false }),
  ],
];

/** What the caller sets. */
const CALLER: [string, [string, string][]][] = [
  [
    'the member headers',
    [
      ['uberctx-gray', 'beta'],
      ['ot-baggage-gray', 'beta'],
    ],
  ],
  [
    'the member headers in other cases, one escaped',
    [
      ['Uberctx-Gray', 'b%65ta'],
      ['OT-BAGGAGE-GRAY', 'qa'],
      ['baggage', 'k=v'],
    ],
  ],
  [
    'every form',
    [
      ['x-gray-id', 'qa'],
      ['baggage', 'gray=qa,k=v'],
      ['uberctx-gray', 'qa'],
      ['ot-baggage-gray', 'qa'],
    ],
  ],
];

type Args = [string | URL | Request, RequestInit | undefined];
const SHAPES: [string, (u: string, h: [string, string][], m: RequestInit) => Args][] = [
  ['string, a record', (u, h, m) => [u, { ...m, headers: Object.fromEntries(h) }]],
  ['URL, a Headers', (u, h, m) => [new URL(u), { ...m, headers: new Headers(h) }]],
  ['string, pairs', (u, h, m) => [u, { ...m, headers: h }]],
  ['a Request', (u, h, m) => [new Request(u, { ...m, headers: h }), undefined]],
  [
    'a Request with decoys, init.headers replacing them',
    (u, h, m) => [
      new Request(u, { headers: { 'uberctx-gray': 'decoy', 'ot-baggage-gray': 'decoy' } }),
      { ...m, headers: h },
    ],
  ],
];

interface Target {
  readonly label: string;
  readonly url: (id: string) => string;
  readonly more: RequestInit;
  readonly servers: string[];
}
const TARGETS: Target[] = [
  {
    label: 'direct, off the allowlist',
    url: (id) => siteUrl(b.origin, id),
    more: {},
    servers: ['b'],
  },
  ...[301, 302, 303, 307, 308].map((status) => ({
    label: `a ${status} from the allowlist off it`,
    url: (id: string) => siteUrl(a.origin, id, status, siteUrl(b.origin, id)),
    more: {},
    servers: ['a', 'b'],
  })),
  ...[302, 307].map((status) => ({
    label: `a ${status} off the allowlist and back`,
    url: (id: string) =>
      siteUrl(a.origin, id, status, siteUrl(b.origin, id, status, siteUrl(a.origin, id))),
    more: {},
    servers: ['a', 'b', 'a'],
  })),
  {
    label: "redirect: 'manual', off the allowlist",
    url: (id) => siteUrl(b.origin, id),
    more: { redirect: 'manual' },
    servers: ['b'],
  },
];

const sent = (pairs: [string, string][], name: string): string | undefined => {
  const values = pairs.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  return values.length === 0 ? undefined : values.join(', ');
};
const baggageOf = (pairs: [string, string][]): string[] =>
  pairs.filter(([n]) => n.toLowerCase() === 'baggage').map(([, v]) => v);
const one = (hop: MarkerHop, name: 'x-gray-id' | 'uberctx-gray' | 'ot-baggage-gray') =>
  hop.lines[name].length === 0 ? undefined : hop.lines[name].join(', ');

function expectHop(hop: MarkerHop, lane: GrayLane, pairs: [string, string][], where: string): void {
  const others = baggageMembers(baggageOf(pairs)).filter(([k]) => k !== 'gray');
  if (hop.server === 'b' || lane.baggageKey === false) {
    expect(hop.lines['uberctx-gray'], `${where}: no uberctx-gray`).toEqual([]);
    expect(hop.lines['ot-baggage-gray'], `${where}: no ot-baggage-gray`).toEqual([]);
    expect(memberValues(hop.lines.baggage), `${where}: no gray member`).toEqual([]);
    expect(baggageMembers(hop.lines.baggage), `${where}: the other members`).toEqual(others);
  }
  const version = lane.decision.version;
  const header = sent(pairs, 'x-gray-id');
  if (hop.server === 'b') {
    expect(hop.lines['x-gray-id'], `${where}: no marker`).toEqual([]);
    return;
  }
  if (lane.keep === 'any' && header !== undefined) {
    // OUT-03: the caller's marker, and (with the member on) its members as written.
    expect(one(hop, 'x-gray-id'), `${where}: the caller's marker`).toBe(header);
    if (lane.baggageKey === false) return;
    expect(baggageMembers(hop.lines.baggage)).toEqual(baggageMembers(baggageOf(pairs)));
    for (const name of ['uberctx-gray', 'ot-baggage-gray'] as const)
      expect(one(hop, name), `${where}: ${name} as sent`).toBe(sent(pairs, name));
    return;
  }
  expect(one(hop, 'x-gray-id'), `${where}: the lane's marker`).toBe(version);
  if (lane.baggageKey === false) return;
  expect(memberValues(hop.lines.baggage), `${where}: one gray member`).toEqual([version]);
  for (const name of ['uberctx-gray', 'ot-baggage-gray'] as const)
    expect(one(hop, name), `${where}: ${name} says the lane`).toBe(
      sent(pairs, name) === undefined ? undefined : version,
    );
}

const rows = LANES.flatMap(([lane, make]) =>
  CALLER.flatMap(([caller, pairs]) =>
    TARGETS.flatMap((target) =>
      SHAPES.map(([shape, args]) => ({ lane, make, caller, pairs, target, shape, args })),
    ),
  ),
);

describe('I8 / RDR-01: the Jaeger and OT member headers never leave the allowlist', () => {
  it.each(rows.map((r) => [`${r.lane} · ${r.caller} · ${r.target.label} · ${r.shape}`, r]))(
    'RDR-01 %s',
    async (_label, { make, pairs, target, args }) => {
      const id = `m${++seq}`;
      const lane = await make();
      const res = await withGray(fetch, { lane })(...args(target.url(id), pairs, target.more));
      expect(res.status).toBe(200);
      const seen = hops.get(id) ?? [];
      expect(seen.map((h) => h.server)).toEqual(target.servers);
      for (const [n, hop] of seen.entries()) expectHop(hop, lane, pairs, `hop ${n + 1}`);
    },
  );
});
