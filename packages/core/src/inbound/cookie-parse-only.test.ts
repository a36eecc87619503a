import { randomUUID, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyTimeout } from '../../../../tools/fc-budget.js';
import { plainCarrier } from '../../test/fixtures.js';
import { cookieNames, cookieRead, parseCookiePairs, readCookie } from '../markers/cookie.js';
import { createInboundEngine, type InboundPlatform } from './engine.js';
import { carrierNeeds } from './needs.js';
import { CarrierView } from './view.js';
import { parseConfig } from '../config/parse.js';

// AMP-02 / AMP-03: a request whose rules read cookies parses its `Cookie` header once, keeping
// only the names the rules and the marker read (a hostile header's other pairs are not copied).
// What any name reads must not change with that: the kept names read exactly as a full parse
// and as `readCookie`, and a name outside them (read on its own) too.

const NAMES = ['gray', '__Host-gray', '__Secure-gray', 'team', 'Team', 'k0', 'sid', 'gray_uid'];
const name = fc.constantFrom(...NAMES, ' team', 'team ', '\tgray', 'te am', 'GRAY', 'gray[0]', '');
const value = fc.constantFrom(
  'qa',
  'beta',
  'canary',
  '"qa"',
  '%71a',
  '%ZZ',
  '',
  'a=b',
  ' qa ',
  'x'.repeat(200),
);
const sep = fc.constantFrom('; ', ';', ', ', ',', ';;', ' ; ');
const pair = fc.oneof(
  fc.tuple(name, value).map(([n, v]) => `${n}=${v}`),
  name, // a pair with no `=`
  value.map((v) => `x${v.length}=${v}`),
);
/** Up to 230 pairs (past the readers' 180), sometimes padded past the 16 KiB cap. */
const header = fc
  .tuple(fc.array(fc.tuple(pair, sep), { maxLength: 230 }), fc.boolean(), fc.nat(3))
  .map(([pairs, pad, where]) => {
    const parts = pairs.map(([p, s]) => p + s);
    if (pad) parts.splice(Math.min(where, parts.length), 0, `pad=${'p'.repeat(16_400)}; `);
    return parts.join('');
  });
const only = fc.subarray(NAMES, { minLength: 1 });

describe('AMP-03 a cookie parse that keeps only the names it is asked for', () => {
  it(
    'AMP-03 a kept name reads as a full parse and as readCookie; the others are not kept',
    () => {
      fc.assert(
        fc.property(header, only, (text, names) => {
          const kept = parseCookiePairs(text, cookieNames(names));
          const full = parseCookiePairs(text);
          if (full === 'too_long') {
            expect(kept).toBe('too_long');
            return;
          }
          expect(kept).not.toBe('too_long');
          for (const n of NAMES) {
            if (names.includes(n)) {
              expect(cookieRead(kept, n)).toEqual(cookieRead(full, n));
              expect(cookieRead(kept, n)).toEqual(readCookie(text, n));
            } else expect(cookieRead(kept, n)).toEqual({ kind: 'absent' });
          }
        }),
        { numRuns: 500 },
      );
    },
    propertyTimeout(),
  );

  it.each([
    ['no names at all', '', []],
    ['one kept name among others', 'sid=1; team=qa; k0=2', [['team', 'qa']]],
    ['a same-length name that is not kept', 'Team=qa; k1=x; team=dev', [['team', 'dev']]],
    ['repeats keep every raw value', 'team=qa; team=%71a; team="qa"', [['team', 'qa']]],
    ['OWS around the name', '  team\t=qa', [['team', 'qa']]],
  ])('AMP-03 %s', (_label, text, expected) => {
    const kept = parseCookiePairs(text, cookieNames(['team']));
    expect(kept).not.toBe('too_long');
    if (kept === 'too_long') return;
    expect([...kept.keys()]).toEqual(expected.map(([n]) => n));
    for (const [n, v] of expected)
      expect(cookieRead(kept, n as string)).toEqual({ kind: 'value', value: v });
  });
});

const platform: InboundPlatform = {
  hmacSha256: (key, data) => new Uint8Array(createHmac('sha256', key).update(data).digest()),
  randomId: randomUUID,
};
const versions = ['stable', 'beta', 'canary'];
/** A rule reads `team` and one reads `__Secure-gray` (a marker name as a rule's cookie too). */
const withRules = {
  versions,
  default: 'stable',
  rules: [
    { id: 'qa', match: { cookie: { team: { equals: 'qa' } } }, version: 'canary' },
    { id: 'sec', match: { cookie: { '__Secure-gray': { equals: 'x' } } }, version: 'beta' },
  ],
};

describe('AMP-02 the marker and the rules read a Cookie header alike, parsed once or not', () => {
  it(
    'AMP-02 with rules reading cookies, the marker decides as with none; else the rules read as readCookie',
    () => {
      for (const trust of ['open', 'edge'] as const) {
        const a = createInboundEngine<null>({ config: withRules, trust }, platform);
        const b = createInboundEngine<null>(
          { config: { versions, default: 'stable' }, trust },
          platform,
        );
        fc.assert(
          fc.property(header, (text) => {
            const carrier = () => plainCarrier({ cookie: text }, { url: '/' });
            const outA = a.evaluate(carrier(), null);
            const outB = b.evaluate(carrier(), null);
            // The same header handed on for the same version: the marker read says what goes.
            if (outA.decision.version === outB.decision.version)
              expect(outA.edits).toEqual(outB.edits);
            if (outB.decision.source === 'cookie') {
              expect(outA.decision).toEqual(outB.decision);
              return;
            }
            const team = readCookie(text, 'team');
            const sec = readCookie(text, '__Secure-gray');
            const want =
              team.kind === 'value' && team.value === 'qa'
                ? 'canary'
                : sec.kind === 'value' && sec.value === 'x'
                  ? 'beta'
                  : 'stable';
            expect(outA.decision.version).toBe(want);
          }),
          { numRuns: 300 },
        );
      }
    },
    propertyTimeout(),
  );
});

describe('AMP-02 a view reads any cookie name, kept by its parse or not', () => {
  it(
    "AMP-02 CarrierView.cookie(name) is readCookie for the rules' names, the marker's and any other",
    () => {
      const config = parseConfig(withRules);
      const markers = ['__Host-gray', '__Secure-gray', 'gray'];
      fc.assert(
        fc.property(header, fc.shuffledSubarray(NAMES), (text, order) => {
          const view = new CarrierView(
            plainCarrier({ cookie: text }),
            carrierNeeds(config, markers),
            markers,
          );
          for (const n of order) expect(view.cookie(n)).toEqual(readCookie(text, n));
        }),
        { numRuns: 300 },
      );
    },
    propertyTimeout(),
  );
});
