import { createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { plainCarrier } from '../../test/fixtures.js';
import { createInboundEngine } from './engine.js';
import type { InboundOptions } from './types.js';

/**
 * GW-02 past the cookie reader's 180 pairs (AMP-01): a marker cookie there reads as absent, so
 * the removal pass must run whenever a marker name is in the header past what was read and the
 * marker is not kept; a header whose marker names are only substrings of other pairs, or that
 * the reader read whole, is not rewritten.
 */
const KEY = 'a-signing-key-of-at-least-32-byte';
const hmac = (key: Uint8Array, data: Uint8Array) =>
  new Uint8Array(createHmac('sha256', key).update(data).digest());
const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };

function edited(options: InboundOptions<null>, cookie: string | string[]) {
  const engine = createInboundEngine(options, { hmacSha256: hmac, randomId: randomUUID });
  const carrier = plainCarrier({}, { url: '/', host: 'a', remoteAddress: '10.0.0.9' });
  const out = engine.evaluate(
    { ...carrier, header: (n) => (n === 'cookie' ? cookie : undefined) },
    null,
  );
  const edit = out.edits?.headers.get('cookie');
  return { version: out.decision.version, edited: edit !== undefined, cookie: edit };
}

const pairs = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `c${from + i}=1`);
const markersIn = (c: string | null | undefined) =>
  String(c ?? '')
    .split(';')
    .map((p) => p.trim())
    .filter((p) => /^(__Host-)?gray=/.test(p));

const MODES: [string, InboundOptions<null>][] = [
  ['edge', { config, trust: 'edge' }],
  ['signed', { config, trust: 'signed', keys: { k1: KEY } }],
  ['open', { config }],
  ['edge, cookie marker off', { config, trust: 'edge', markers: { cookie: false } }],
];
const COUNTS = [179, 180, 181, 199, 200, 1000];
const NAMES = ['gray', '__Host-gray'];

describe('GW-02 a marker cookie past the reader cap is removed', () => {
  const rows = MODES.flatMap(([m, o]) =>
    NAMES.flatMap((name) => COUNTS.map((n) => [m, name, n, o] as const)),
  );
  it.each(rows)('GW-02 %s: %s after %i pairs', (mode, name, n, options) => {
    for (const cookie of [
      [...pairs(n), `${name}=canary`].join('; '),
      [...pairs(n), `${name}=canary`, ...pairs(20, n)].join('; '),
      [pairs(n).join('; '), `${name}=canary`],
    ]) {
      const r = edited(options, cookie);
      // Within the cap, open mode honours the marker and keeps it (not this row's subject).
      if (mode === 'open' && n < 180) {
        expect(r.version).toBe('canary');
        continue;
      }
      expect(r.version).toBe('stable');
      expect(r.edited).toBe(true);
      expect(markersIn(r.cookie)).toEqual([]);
      // What was read is kept.
      expect(r.cookie ?? '').toMatch(/^c0=1; c1=1/);
    }
  });
});

describe('GW-02 nothing to remove: the header is not rewritten', () => {
  const CLEAN: [string, string][] = [
    ['no marker name in 300 pairs', pairs(300).join('; ')],
    ['a marker name inside a value within the cap', ['a=gray', 'xgray=1', ...pairs(10)].join(';')],
    ['a marker name inside a value of 180 pairs', ['a=gray', ...pairs(179)].join('; ')],
  ];
  it.each(MODES.flatMap(([m, o]) => CLEAN.map(([c, h]) => [m, c, o, h] as const)))(
    'GW-02 %s: %s',
    (_m, _c, options, header) => {
      expect(edited(options, header).edited).toBe(false);
    },
  );
});

describe('GW-02 a marker name only inside other pairs: never rewritten, in any mode', () => {
  // Regression (6ae8d29 + 211ae5a): any header of more than 180 pairs holding the text `gray`
  // was rebuilt, or its unread rest dropped, in every mode.
  const LOOKALIKES = ['a=gray', 'theme=gray', 'gray_uid=abc123', 'grayscale=1', 'xgray=1'];
  const AT = ['head', 'tail'] as const;
  const rows = MODES.flatMap(([m, o]) =>
    LOOKALIKES.flatMap((l) =>
      [179, 181, 200, 1000].flatMap((n) =>
        AT.flatMap((at) =>
          ['; ', ';'].map((sep) => [m, l, n, at, JSON.stringify(sep), o] as const),
        ),
      ),
    ),
  );
  it.each(rows)('GW-02 %s: %s, %i pairs, at the %s (%s)', (_m, l, n, at, sep, options) => {
    const list = at === 'head' ? [l, ...pairs(n)] : [...pairs(n), l];
    const header = list.join(JSON.parse(sep) as string);
    const r = edited(options, header);
    expect(r.version).toBe('stable');
    expect(r.edited).toBe(false);
    // Two lines, as HTTP/1.1 may deliver them: not rebuilt either.
    expect(edited(options, [pairs(n).join(JSON.parse(sep) as string), l]).edited).toBe(false);
  });
  it.each(MODES)('GW-02 %s: a >16 KiB header with a lookalike past the cap', (_m, o) => {
    const header = Array.from({ length: 300 }, (_, i) =>
      i === 250 ? 'gray_uid=abc123' : `c${i}=${'v'.repeat(60)}`,
    ).join('; ');
    expect(edited(o, header).edited).toBe(false);
  });
});

describe('GW-02 past the cap, open mode keeps what it would have kept', () => {
  it('open: an unread gray=stable agreeing with the decision stays; the header is untouched', () => {
    const header = [...pairs(200), 'gray=stable'].join('; ');
    const r = edited({ config }, header);
    expect(r.version).toBe('stable');
    expect(r.edited).toBe(false);
  });
  it.each(MODES.filter(([m]) => m !== 'open'))(
    'GW-02 %s: an unread gray=stable is removed',
    (_m, o) => {
      const r = edited(o, [...pairs(200), 'gray=stable'].join(';'));
      expect(r.edited).toBe(true);
      expect(markersIn(r.cookie)).toEqual([]);
      // CK-11: every pair is judged, past the cap too: the rest stays byte for byte.
      expect(r.cookie).toBe(pairs(200).join(';'));
    },
  );
  it.each(MODES)(
    'GW-02 %s: a real pair past the cap spelled with OWS is still removed',
    (_m, o) => {
      for (const pair of [' gray =canary', '\tgray\t=canary', '__Host-gray = canary']) {
        const r = edited(o, [...pairs(200), pair].join(';'));
        expect(r.edited).toBe(true);
        expect(r.cookie).toBe(pairs(200).join(';'));
      }
    },
  );
});

describe('GW-02 a marker within the cap keeps its fate', () => {
  it('open: an agreeing cookie at the head of 1000 pairs stays; the header is untouched', () => {
    const r = edited({ config }, ['gray=beta', ...pairs(1000)].join('; '));
    expect(r.version).toBe('beta');
    expect(r.edited).toBe(false);
  });
  it('edge: a marker at the head of 1000 pairs is removed, the unread rest kept', () => {
    const r = edited({ config, trust: 'edge' }, ['gray=beta', ...pairs(1000)].join('; '));
    expect(r.version).toBe('stable');
    expect(markersIn(r.cookie)).toEqual([]);
    expect(r.cookie).toMatch(/c999=1$/);
  });
});

// Review 165 D1: pairs end at `,` too (CK-08), but a list value is one cookie to the browser
// that set it: its `,` pieces do not count toward the 180 pairs, so a marker after one is read.
describe('CK-08 a list value does not push the marker past the pair cap', () => {
  const list = (n: number) => `viewed=${Array.from({ length: n }, (_, i) => 1000 + i).join(',')}`;
  it.each([
    ['200 ids', [list(200), 'gray=beta']],
    ['1,000 ids', [list(1000), 'gray=beta']],
    ['three lists of 100', [list(100), list(100), list(100), 'gray=beta']],
    ['178 pairs, a list, then the marker (the 180th pair)', [...pairs(178), list(50), 'gray=beta']],
    ['ids with spaces after the commas', [list(200).replace(/,/g, ', '), 'gray=beta']],
  ])('%s: the marker decides, and open mode keeps the header as sent', (_, parts) => {
    const header = parts.join('; ');
    expect(edited({ config }, header)).toEqual({
      version: 'beta',
      edited: false,
      cookie: undefined,
    });
  });

  it('(control) past 180 real pairs the marker is still not read', () => {
    expect(edited({ config }, [...pairs(180), 'gray=beta'].join('; ')).version).toBe('stable');
  });

  it.each(MODES.filter(([m]) => m !== 'open'))(
    '%s: the marker after a 200-id list is removed, the list kept byte for byte',
    (_, options) => {
      const { cookie } = edited(options, `${list(200)}; gray=beta; z=2`);
      expect(cookie).toBe(`${list(200)}; z=2`);
    },
  );
});

// AMP-03: the removal judges at most 180 pairs whose name could spell a marker name (a probe
// hit in the name); from the 181st such pair on the header goes unjudged. Lookalike names count,
// so a marker behind 180 of them is removed with the rest, in every mode, and never reaches the
// app; a hit in a value never counts (review 52 D1), so a session cookie after those stays.
describe('AMP-03 past 180 pairs that could spell a marker, the rest of the header goes', () => {
  const LOOKALIKES: [string, (i: number) => string, boolean][] = [
    ['xgray names', (i) => `xgray${i}=1`, true],
    ['gray_uid names', (i) => `gray_uid${i}=1`, true],
    ['values holding gray', (i) => `v${i}=GRAY`, false],
    ['escaped letters in values', (i) => `v${i}=%61`, false],
  ];
  const rows = MODES.flatMap(([m, o]) =>
    LOOKALIKES.flatMap(([label, hit, counts]) =>
      [179, 180, 400].map((n) => [m, label, n, o, hit, counts] as const),
    ),
  );
  it.each(rows)(
    '%s: %s × %i, then a marker and a session cookie',
    (mode, _l, n, options, hit, counts) => {
      const lookalikes = Array.from({ length: n }, (_, i) => hit(i));
      const header = [...lookalikes, 'gray=canary', 'sid=s1'].join('; ');
      const r = edited(options, header);
      // The lookalikes are the request's first 180 pairs: the marker past them is never read.
      expect(r.version).toBe(mode === 'open' && n < 180 ? 'canary' : 'stable');
      if (mode === 'open' && n < 180) return;
      expect(r.edited).toBe(true);
      expect(markersIn(r.cookie)).toEqual([]);
      // Within the 180 names the rest is kept byte for byte; past them it goes unjudged.
      expect(r.cookie).toBe(
        n < 180 || !counts
          ? [...lookalikes, 'sid=s1'].join('; ')
          : lookalikes.slice(0, 180).join('; '),
      );
    },
  );

  it('open: an agreeing marker that is the 180th hit stays; as the 181st it goes', () => {
    const ahead = (n: number) => Array.from({ length: n }, (_, i) => `xgray${i}=1`);
    // 179 lookalikes, then the marker: 180 pairs read, so `gray=stable` is read and agrees.
    const kept = edited({ config }, [...ahead(179), 'gray=stable', 'z=1'].join('; '));
    expect(kept).toEqual({ version: 'stable', edited: false, cookie: undefined });
    // 180 lookalikes: the marker is past the readers and the 181st hit, removed unread.
    const gone = edited({ config }, [...ahead(180), 'gray=stable', 'z=1'].join('; '));
    expect(gone.version).toBe('stable');
    expect(gone.cookie).toBe(ahead(180).join('; '));
  });

  // Review 52 D1: a list value is one cookie; its pieces hold no name, so none counts.
  it.each([179, 180, 181, 400])(
    'open: a list value of %i pieces holding gray, then the marker and a session cookie: all kept',
    (n) => {
      const cart = `cart=[${Array.from({ length: n }, () => '{"c":"gray"}').join(',')}]`;
      const r = edited({ config }, `${cart}; gray=beta; sid=s1`);
      expect(r).toEqual({ version: 'beta', edited: false, cookie: undefined });
    },
  );

  // Review 52 D2: the readers stop at 180 pairs, so they read the first `gray` only; the kept
  // name keeps only the pairs whose value says the decided version.
  it.each(MODES.filter(([m]) => m === 'open'))(
    '%s: a second marker past the readers with another value is removed, the first kept',
    (_m, o) => {
      const between = pairs(200).join('; ');
      const r = edited(o, `gray=beta; ${between}; gray=canary; sid=s1`);
      expect(r.version).toBe('beta');
      expect(r.cookie).toBe(`gray=beta; ${between}; sid=s1`);
      // The same value twice is one marker: nothing to edit.
      expect(edited(o, `gray=beta; ${between}; gray=beta; sid=s1`).edited).toBe(false);
    },
  );
});
