// The header-marker fast path of `evaluate` (issue 20) must decide, edit, count and report
// exactly what the general path does. `prepare` + `complete` always take the general path, so
// every row runs both on the same carrier and compares everything observable.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { InboundCarrier } from './carrier.js';
import { createInboundEngine, type InboundOutcome, type InboundPlatform } from './engine.js';
import type { CarrierEdits } from './normalize.js';
import type { InboundOptions } from './types.js';

type Header = string | readonly string[] | undefined;

interface Row {
  readonly marker: Header;
  readonly cookie: Header;
  readonly baggage: Header;
  readonly url: string | undefined;
  readonly peer: string;
}

const MARKERS: Header[] = [
  undefined,
  'beta',
  'stable',
  'canary',
  ' beta',
  'beta\t',
  'BETA',
  'gamma',
  'beta,beta',
  'beta, canary',
  '',
  'b'.repeat(40),
  ['beta'],
  ['beta', 'canary'],
];
const COOKIES: Header[] = [
  undefined,
  '',
  'gray=beta',
  'gray=canary',
  'x=1',
  'xgray=1',
  'a=1; grayish=2',
  '__Host-gray=canary',
  '__Host-gray=beta; gray=canary',
  'g%72ay=canary',
  'lane=canary',
  'gray',
  ` gray = canary `,
  `x=${'y'.repeat(17_000)}`,
  ['gray=canary'],
];
const BAGGAGE: Header[] = [
  undefined,
  '',
  'gray=beta',
  'gray=canary',
  'k=v',
  'k=%20v',
  'GRAY=canary',
  'gr%61y=canary',
  'k=v;gray',
  'k=v, gray = canary ',
  `k=${'v'.repeat(9000)}`,
  ['gray=canary'],
];
const URLS: (string | undefined)[] = [
  undefined,
  '/',
  '/a?x=1',
  '/a?gray=canary',
  '/a?gray=beta',
  '/a?gr%61y=canary',
  '/a?x=%20',
  '/a?gray',
  '/a?x=1#gray=canary',
  '/gray?x=1',
  '/a?q=grayish',
  '/a?lane=canary',
  `/a?x=${'1'.repeat(9000)}`,
];
const PEERS = ['10.0.0.1', '192.168.1.1'];

const OPTIONS: [string, Partial<InboundOptions<null>>][] = [
  ['defaults', {}],
  ['debug header', { debugHeader: true }],
  ['cookie off', { markers: { cookie: false } }],
  ['query off', { markers: { query: false } }],
  ['baggage off', { markers: { baggage: false } }],
  ['own names', { markers: { header: 'x-lane', cookie: 'lane', query: 'lane', baggage: 'lane' } }],
  ['cookie first', { precedence: ['cookie', 'header', 'query', 'baggage'] }],
  ['edge', { trust: 'edge', trustedProxies: ['10.0.0.0/8'] }],
  ['sticky', { sticky: true }],
  ['bucket header', { bucketHeader: true }],
  ['case-insensitive', { config: { ...CONFIG(), caseInsensitive: true } }],
];

function CONFIG(): { versions: string[]; default: string; caseInsensitive?: boolean } {
  return { versions: ['stable', 'beta', 'canary'], default: 'stable' };
}

/** A carrier over the row, recording the edits the engine applies. */
function carrier(row: Row, headerName: string, edits: CarrierEdits[]): InboundCarrier {
  const headers: Record<string, Header> = {
    [headerName]: row.marker,
    cookie: row.cookie,
    baggage: row.baggage,
  };
  return {
    header: (name) => headers[name],
    headers: headers as Record<string, string>,
    method: 'GET',
    url: row.url,
    host: 'app.example',
    secure: false,
    remoteAddress: row.peer,
    edit: (e) => edits.push(e),
  };
}

/** Everything a platform observes of one decision. */
function observed(out: InboundOutcome, edits: CarrierEdits[], counted: string[]): unknown {
  const plain = (e: CarrierEdits | undefined) =>
    e && { headers: [...e.headers], query: e.query && { ...e.query } };
  return {
    decision: { ...out.decision },
    setCookies: out.setCookies,
    pendingCookies: out.pendingCookies,
    debugHeader: out.debugHeader,
    trust: out.trust,
    edits: plain(out.edits),
    applied: edits.map(plain),
    counted,
  };
}

function engines(options: Partial<InboundOptions<null>>) {
  let clock = 0;
  const counted: string[] = [];
  const platform: InboundPlatform = {
    randomId: randomUUID,
    counters: {
      decision: (v, r, s) => counted.push(`d:${v}:${r}:${s}`),
      invalidMarker: (s, r) => counted.push(`i:${s}:${r}`),
    },
  };
  const decided: unknown[] = [];
  const engine = createInboundEngine<null>(
    {
      config: CONFIG(),
      ...options,
      now: () => {
        clock++;
        return 1_800_000_000_000;
      },
      onDecision: (d) => decided.push({ ...d }),
    },
    platform,
  );
  const run = (row: Row, general: boolean) => {
    counted.length = 0;
    decided.length = 0;
    const edits: CarrierEdits[] = [];
    const before = clock;
    const c = carrier(row, engine.options.header, edits);
    const out = general ? engine.complete(engine.prepare(c, null), []) : engine.evaluate(c, null);
    return {
      seen: { ...(observed(out, edits, [...counted]) as object), decided: [...decided] },
      // The general path reads the clock once; the fast path never does.
      fast: clock === before,
    };
  };
  return run;
}

/** A small deterministic PRNG (mulberry32), so a failing row can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(xs: readonly T[], r: () => number): T => xs[Math.floor(r() * xs.length)] as T;

describe('issue 20: the header-marker fast path decides exactly as the general path', () => {
  it.each(OPTIONS)('every marker × cookie / baggage / query shape, %s', (_label, options) => {
    const run = engines(options);
    const rows: Row[] = [];
    // Each carrier varied alone next to every marker, then random combinations of all.
    for (const marker of MARKERS)
      for (const peer of PEERS) {
        for (const cookie of COOKIES)
          rows.push({ marker, cookie, baggage: undefined, url: '/', peer });
        for (const baggage of BAGGAGE)
          rows.push({ marker, cookie: undefined, baggage, url: '/', peer });
        for (const url of URLS)
          rows.push({ marker, cookie: undefined, baggage: undefined, url, peer });
      }
    const r = prng(20);
    for (let i = 0; i < 1500; i++)
      rows.push({
        marker: pick(MARKERS, r),
        cookie: pick(COOKIES, r),
        baggage: pick(BAGGAGE, r),
        url: pick(URLS, r),
        peer: pick(PEERS, r),
      });
    let fast = 0;
    for (const row of rows) {
      const a = run(row, false);
      const b = run(row, true);
      expect(b.fast, 'prepare/complete always takes the general path').toBe(false);
      if (a.fast) fast++;
      expect({ row, ...a.seen }).toEqual({ row, ...b.seen });
    }
    // The comparison means something only if the fast path ran where it may (in edge mode only
    // for the trusted peer).
    const eligible =
      options.trust !== 'signed' &&
      options.sticky === undefined &&
      options.bucketHeader === undefined &&
      options.precedence?.[0] !== 'cookie';
    if (eligible) expect(fast).toBeGreaterThan(40);
    else expect(fast).toBe(0);
  });
});
