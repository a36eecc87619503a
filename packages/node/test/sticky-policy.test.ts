// STK-03: when a window ends or a split's weight is lowered, a visitor holding a sticky version
// cookie follows the rule's explicit policy: `keep` (the default) or `reevaluate`. Real servers
// on loopback; open and signed modes; windows ending at the request instant; weights lowered.
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@graylane/core';
import { signMarker } from '../src/index.js';
import { closeAll, decisionServer } from './helpers.js';

afterAll(closeAll);

const KEY = 'a-signing-key-of-at-least-32-byte';
const T = Date.parse('2026-12-01T00:00:00Z');
type Policy = 'keep' | 'reevaluate' | undefined;
const policies: Policy[] = [undefined, 'keep', 'reevaluate'];
const modes = ['open', 'signed'] as const;

function server(mode: (typeof modes)[number], rules: unknown[], now: number) {
  return decisionServer({
    config: { versions: ['stable', 'beta', 'canary'], default: 'stable', rules } as never,
    sticky: true,
    now: () => now,
    ...(mode === 'signed' ? { trust: 'signed' as const, keys: { k1: KEY } } : {}),
  });
}

function cookieFor(mode: (typeof modes)[number], version: string, now: number): string {
  return mode === 'open'
    ? `gray=${version}`
    : `gray=${signMarker(version, { key: KEY, kid: 'k1', ttlSeconds: 86_400, now: () => now })}`;
}

async function visit(url: string, cookie: string) {
  const res = await fetch(url, { headers: { cookie } });
  const decision = (await res.json()) as { version: string; reason: string };
  const written = res.headers.getSetCookie().find((c) => c.startsWith('gray='));
  return { decision, written: written?.split(';')[0]?.split('=')[1] };
}

const withPolicy = (rule: Record<string, unknown>, policy: Policy) =>
  policy === undefined ? rule : { ...rule, sticky: policy };

describe('STK-03 a window ends at the request instant', () => {
  const cases = modes.flatMap((mode) =>
    policies.flatMap((policy) => [-1, 0, 1].map((offset) => ({ mode, policy, offset }))),
  );
  it.each(cases)(
    'STK-03 $mode, sticky $policy, request at until + ($offset) ms',
    async ({ mode, policy, offset }) => {
      const now = T + offset;
      const rule = withPolicy(
        { id: 'beta-window', version: 'beta', window: { until: '2026-12-01T00:00:00Z' } },
        policy,
      );
      const s = await server(mode, [rule], now);
      const { decision, written } = await visit(s.url, cookieFor(mode, 'beta', now - 60_000));
      const ended = offset >= 0; // [from, until): the instant `until` is outside the window
      if (policy === 'reevaluate' && ended) {
        expect(decision).toMatchObject({ version: 'stable', reason: 'outside_window' });
        expect(written).toBeDefined();
        expect(written?.split('.')[0]).toBe('stable');
      } else {
        expect(decision).toMatchObject({ version: 'beta', reason: 'cookie' });
        expect(written).toBeUndefined();
      }
    },
  );
});

describe('STK-03 a split weight is lowered', () => {
  const gids = Array.from({ length: 40 }, (_v, i) => `visitor-${i}`);
  const cases = modes.flatMap((mode) =>
    policies.flatMap((policy) => [0, 10, 30].map((weight) => ({ mode, policy, weight }))),
  );
  it.each(cases)(
    'STK-03 $mode, sticky $policy, beta lowered to $weight %',
    async ({ mode, policy, weight }) => {
      const rule = withPolicy(
        {
          id: 'ramp',
          split: [
            { version: 'beta', weight },
            { version: 'stable', weight: 100 - weight },
          ],
          bucketBy: 'cookie:gid',
        },
        policy,
      );
      const s = await server(mode, [rule], T);
      let moved = 0;
      for (const gid of gids) {
        // What this visitor gets today without a version cookie: the reference for re-evaluation.
        const fresh = await visit(s.url, `gid=${gid}`);
        const sticky = await visit(s.url, `gid=${gid}; ${cookieFor(mode, 'beta', T)}`);
        if (policy === 'reevaluate') {
          expect(sticky.decision.version).toBe(fresh.decision.version);
          if (fresh.decision.version !== 'beta') {
            moved++;
            expect(sticky.written?.split('.')[0]).toBe(fresh.decision.version);
          } else {
            expect(sticky.decision.reason).toBe('cookie');
            expect(sticky.written).toBeUndefined();
          }
        } else {
          expect(sticky.decision).toMatchObject({ version: 'beta', reason: 'cookie' });
          expect(sticky.written).toBeUndefined();
          if (fresh.decision.version !== 'beta') moved++;
        }
      }
      // Whatever the policy, some visitors are outside beta's share today (the test can fail).
      if (weight === 0) expect(moved).toBe(gids.length);
      else expect(moved).toBeGreaterThan(0);
      expect(moved).toBeLessThanOrEqual(gids.length);
    },
  );
});

describe('STK-03 what reevaluate leaves alone', () => {
  it.each(modes)(
    'STK-03 %s: a cookie naming a version no reevaluate rule gives (a QA choice) is kept',
    async (mode) => {
      const rule = {
        id: 'ramp',
        split: [
          { version: 'beta', weight: 0 },
          { version: 'stable', weight: 100 },
        ],
        bucketBy: 'cookie:gid',
        sticky: 'reevaluate',
      };
      const s = await server(mode, [rule], T);
      const out = await visit(s.url, `gid=a; ${cookieFor(mode, 'canary', T)}`);
      expect(out.decision).toMatchObject({ version: 'canary', reason: 'cookie' });
      expect(out.written).toBeUndefined();
    },
  );

  it('STK-03 sticky accepts only keep or reevaluate', () => {
    const doc = (sticky: unknown) => ({
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [{ id: 'r', version: 'beta', sticky }],
    });
    expect(parseConfig(doc('reevaluate')).rules[0]?.sticky).toBe('reevaluate');
    expect(parseConfig(doc('keep')).rules[0]?.sticky).toBeUndefined();
    for (const bad of ['Keep', 'always', true, 1, null])
      expect(() => parseConfig(doc(bad))).toThrow(/sticky/);
  });
});

describe('STK-03 a scheduled ramp re-evaluates sticky visitors unless told to keep them', () => {
  // 1 % beta on day 1, 100 % from day 3: a visitor assigned stable on day 1 holds `gray=stable`.
  const ramp = (policy: Policy) =>
    withPolicy(
      {
        id: 'ramp',
        split: [
          { version: 'beta', weight: 1 },
          { version: 'stable', weight: 99 },
        ],
        schedule: [
          {
            at: '2026-12-03T00:00:00Z',
            split: [
              { version: 'beta', weight: 100 },
              { version: 'stable', weight: 0 },
            ],
          },
        ],
        bucketBy: 'header:x-user',
      },
      policy,
    );
  const day3 = Date.parse('2026-12-03T12:00:00Z');
  it.each(modes.flatMap((mode) => policies.map((policy) => ({ mode, policy }))))(
    'STK-03 $mode, sticky $policy: a day-1 stable cookie on day 3',
    async ({ mode, policy }) => {
      const s = await server(mode, [ramp(policy)], day3);
      const res = await fetch(s.url, {
        headers: { cookie: cookieFor(mode, 'stable', day3 - 3_600_000), 'x-user': 'u-7' },
      });
      const decision = (await res.json()) as { version: string; reason: string };
      if (policy === 'keep')
        expect(decision).toMatchObject({ version: 'stable', reason: 'cookie' });
      else expect(decision).toMatchObject({ version: 'beta', reason: 'weight' });
    },
  );

  it('the compiled rule says so: absent → reevaluate for a schedule, absent → keep without one', () => {
    const config = parseConfig({
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [
        ramp(undefined),
        {
          id: 'plain',
          split: [
            { version: 'beta', weight: 5 },
            { version: 'stable', weight: 95 },
          ],
          bucketBy: 'header:x-user',
        },
      ],
    });
    expect(config.rules.map((r) => (r as { sticky?: string }).sticky)).toEqual([
      'reevaluate',
      undefined,
    ]);
  });
});
