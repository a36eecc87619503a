// The fast paths of `evaluate` (issue 20) — a header marker, and no marker at all with the rules
// deciding — must decide, edit, count and report exactly what the general path does. `prepare` +
// `complete` always take the general path, so every row runs both on the same carrier and
// compares everything observable, under a config without rules and one whose rules read every
// carrier (header, cookie, query, path, attributes, a window, splits bucketed on each).
import { describe, expect, it } from 'vitest';
import type { ConfigDocument } from '../config/types.js';
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
  `x=${'y'.repeat(16 * 1024 - 2)}`,
  Array.from({ length: 200 }, (_, i) => `c${i}=1`).join('; '),
  `${Array.from({ length: 200 }, (_, i) => `c${i}=1`).join('; ')}; gray=canary`,
  'x=1; a=7',
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
  Array.from({ length: 200 }, (_, i) => `k${i}=v`).join(','),
  `${Array.from({ length: 200 }, (_, i) => `k${i}=v`).join(',')},gray=canary`,
  ['gray=canary'],
  ['k=v', 'l=w'],
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
  `/a?x=${'1'.repeat(8 * 1024 - 2)}`,
  `/a?x=${'1'.repeat(8 * 1024 - 1)}`,
  `/a?x=1#${'f'.repeat(9000)}`,
  '/a??x=1',
  '/a?q=u-7&x=2',
  `/a?${Array.from({ length: 300 }, (_, i) => `p${i}=1`).join('&')}`,
  `/a?${Array.from({ length: 300 }, (_, i) => `p${i}=1`).join('&')}&gray=canary`,
  '/gray/x',
];
const PEERS = ['10.0.0.1', '192.168.1.1'];

/** The app's request object the engine is given (its attributes are the request itself). */
type App = { plan: string; user: string } | null;
type Options = Partial<InboundOptions<App>>;

const OPTIONS: [string, Options][] = [
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

/** Rules reading every carrier, so a rules decision varies with the row (the no-marker path). */
function RULES(): ConfigDocument {
  return {
    ...CONFIG(),
    rules: [
      { id: 'qa', match: { header: { 'x-group': { equals: 'qa' } } }, version: 'canary' },
      { id: 'ck', match: { cookie: { x: { equals: '1' } } }, version: 'beta' },
      { id: 'lane', match: { cookie: { lane: { in: ['canary', 'beta'] } } }, version: 'canary' },
      { id: 'q', match: { query: { x: { prefix: '1' } } }, version: 'beta' },
      { id: 'p', match: { path: { prefix: '/gray' } }, version: 'canary' },
      { id: 'plan', match: { attrs: { plan: { equals: 'pro' } } }, version: 'beta' },
      {
        id: 'now',
        match: { query: { x: { equals: '2' } } },
        version: 'beta',
        window: { from: '2026-01-01T00:00:00Z', until: '2028-01-01T00:00:00Z' },
      },
      {
        id: 'later',
        match: { path: { equals: '/' } },
        version: 'canary',
        window: { from: '2030-01-01T00:00:00Z' },
      },
      {
        id: 'split',
        split: [
          { version: 'beta', weight: 50 },
          { version: 'stable', weight: 50 },
        ],
        bucketBy: ['query:q', 'cookie:a', 'header:x-user', 'attr:user'],
      },
    ],
  };
}

/** A carrier over the row, recording the edits the engine applies and every read it makes. */
function carrier(
  row: Row,
  headerName: string,
  edits: CarrierEdits[],
  reads: string[],
): InboundCarrier {
  const headers: Record<string, Header> = {
    'x-group': row.peer === PEERS[0] ? 'qa' : undefined,
    'x-user': row.url === '/' ? 'u-1' : 'u-2',
    [headerName]: row.marker,
    cookie: row.cookie,
    baggage: row.baggage,
  };
  return {
    header: (name) => {
      reads.push(name);
      return headers[name];
    },
    headers: headers as Record<string, string>,
    method: 'GET',
    get url() {
      reads.push('url');
      return row.url;
    },
    host: 'app.example',
    get secure() {
      reads.push('secure');
      return false;
    },
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

function engines(options: Options) {
  let clock = 0;
  let ids = 0;
  const counted: string[] = [];
  const platform: InboundPlatform = {
    // Minted subject ids are compared too: the same sequence for both paths of a row.
    randomId: () => `id-${++ids}`,
    counters: {
      decision: (v, r, s) => counted.push(`d:${v}:${r}:${s}`),
      invalidMarker: (s, r) => counted.push(`i:${s}:${r}`),
    },
  };
  const decided: unknown[] = [];
  const engine = createInboundEngine<App>(
    {
      config: CONFIG(),
      attributes: (req) => req ?? undefined,
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
    ids = 0;
    const edits: CarrierEdits[] = [];
    const reads: string[] = [];
    const before = clock;
    const c = carrier(row, engine.options.header, edits, reads);
    // The app's request: attributes differ by peer, so the rules' attr conditions vary too.
    const req = row.peer === PEERS[0] ? { plan: 'pro', user: 'a' } : { plan: 'free', user: 'b' };
    const out = general ? engine.complete(engine.prepare(c, req), []) : engine.evaluate(c, req);
    return {
      seen: { ...(observed(out, edits, [...counted]) as object), decided: [...decided] },
      // The general path reads `secure` (for cookie attributes); neither fast path does, and
      // the header one never reads the clock either.
      fast: !reads.includes('secure'),
      // AMP-02: whichever path ran, no carrier is read twice.
      twice: reads.filter((name, i) => reads.indexOf(name) !== i),
      header: clock === before,
      rules: out.decision.source === 'rules',
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

const CASES = OPTIONS.flatMap(([label, options]): [string, string, Options, boolean][] => [
  [label, 'no rules', options, false],
  [
    label,
    'rules on every carrier',
    { ...options, config: { ...RULES(), ...(options.config as Partial<ConfigDocument>) } },
    true,
  ],
]);

describe('issue 20, AMP-02: the fast paths decide exactly as the general path, reading each carrier once', () => {
  it.each(CASES)(
    'every marker × cookie / baggage / query shape, %s, %s',
    (_l, _c, options, rules) => {
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
      let header = 0;
      let none = 0;
      let byRules = 0;
      for (const row of rows) {
        const a = run(row, false);
        const b = run(row, true);
        expect(b.fast, 'prepare/complete always takes the general path').toBe(false);
        expect({ row, twice: a.twice }).toEqual({ row, twice: [] });
        expect({ row, twice: b.twice }).toEqual({ row, twice: [] });
        if (a.fast && a.header) header++;
        if (a.fast && !a.header) {
          none++;
          if (a.rules) byRules++;
        }
        expect({ row, ...a.seen }).toEqual({ row, ...b.seen });
      }
      // The comparison means something only if each fast path ran where it may (the header one in
      // edge mode only for the trusted peer, and not when the cookie is read first), and the rules
      // decided on it when there are rules.
      const eligible =
        options.trust !== 'signed' &&
        options.sticky === undefined &&
        options.bucketHeader === undefined;
      if (eligible && options.precedence?.[0] !== 'cookie') expect(header).toBeGreaterThan(40);
      else expect(header).toBe(0);
      if (eligible) expect(none).toBeGreaterThan(40);
      else expect(none).toBe(0);
      if (eligible && rules) expect(byRules).toBeGreaterThan(20);
    },
  );
});
