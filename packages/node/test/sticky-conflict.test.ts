// STK-04 (review 83 D1): marker cookies of one name that differ come from other paths or a parent
// domain (another app, an old deploy, a sibling subdomain). The server read them as ambiguous,
// served the rules, and rewrote the version cookie at `/` — the page's own, holding its QA
// choice — while the other copies stayed: the conflict remained and the choice was gone. A write
// cannot settle such a conflict, so none is made; the page's SDK removes its names at longer
// paths and reads again. A single ignored cookie (a removed version, a list value, a bad token)
// is still rewritten from the rules (PREC-03). Real servers on loopback.
import { afterAll, describe, expect, it } from 'vitest';
import { signMarker } from '../src/index.js';
import { closeAll, decisionServer, splitConfig } from './helpers.js';

afterAll(closeAll);

const KEY = 'a-signing-key-of-at-least-32-byte';
const keys = { k1: KEY };
const token = (version: string) => signMarker(version, { key: KEY, kid: 'k1', ttlSeconds: 600 });

type Trust = 'open' | 'signed';
type Rules = 'none' | 'split' | 'qa rule';

const CONFIGS: Record<Rules, object> = {
  none: { versions: ['stable', 'beta', 'canary'], default: 'stable' },
  split: { ...splitConfig(50, 'cookie:gray_uid'), versions: ['stable', 'beta', 'canary'] },
  'qa rule': {
    versions: ['stable', 'beta', 'canary'],
    default: 'stable',
    rules: [{ id: 'qa', match: { header: { 'x-qa': { equals: '1' } } }, version: 'canary' }],
  },
};

/** The version cookie's value in `Set-Cookie`, or undefined when none is written. */
function versionCookie(setCookies: readonly string[]): string | undefined {
  const c = setCookies.find((s) => /^gray=/.test(s));
  return c === undefined ? undefined : c.slice('gray='.length).split(';')[0];
}

/** [name, Cookie header line(s) for a trust mode]: several `gray` cookies that differ. */
const CONFLICTS: readonly (readonly [string, (t: Trust) => string | string[]])[] = [
  [
    'two values, one line',
    (t) =>
      t === 'open' ? 'gray=gamma; gray=beta' : `gray=${token('canary')}; gray=${token('beta')}`,
  ],
  [
    'the page’s copy first',
    (t) =>
      t === 'open' ? 'gray=beta; gray=canary' : `gray=${token('beta')}; gray=${token('canary')}`,
  ],
  [
    'a valid and an unknown version',
    (t) => (t === 'open' ? 'gray=beta; gray=removed' : `gray=${token('beta')}; gray=beta`),
  ],
  [
    'three copies among other cookies',
    (t) =>
      t === 'open'
        ? 'a=1; gray=beta; b=2; gray=stable; gray=beta'
        : `a=1; gray=${token('beta')}; gray=x; gray=${token('stable')}`,
  ],
  [
    'on two Cookie lines',
    (t) =>
      t === 'open'
        ? ['gray=canary', 'gray=beta']
        : [`gray=${token('canary')}`, `gray=${token('beta')}`],
  ],
  [
    'with a gray_uid',
    (t) =>
      t === 'open'
        ? 'gray_uid=u-42; gray=beta; gray=stable'
        : `gray_uid=u-42; gray=${token('beta')}; gray=${token('stable')}`,
  ],
  [
    'one of them empty-quoted',
    (t) => (t === 'open' ? 'gray=""; gray=beta' : `gray=""; gray=${token('beta')}`),
  ],
];

/** [name, Cookie header for a trust mode]: one ignored cookie, still rewritten (controls). */
const SINGLES: readonly (readonly [string, (t: Trust) => string])[] = [
  [
    'a removed version',
    (t) => (t === 'open' ? 'gray=removed' : `gray=${token('beta').slice(0, -2)}xx`),
  ],
  ['a malformed value', (t) => (t === 'open' ? 'gray=b%ZZ' : 'gray=XX')],
];

const TRUSTS: Trust[] = ['open', 'signed'];
const RULES: Rules[] = ['none', 'split', 'qa rule'];
const STICKY = [true, { httpOnly: false }] as const;

const conflictRows = TRUSTS.flatMap((trust) =>
  RULES.flatMap((rules) =>
    STICKY.flatMap((sticky) =>
      CONFLICTS.flatMap(([shape, cookie]) =>
        [false, true].map((qa) => ({ trust, rules, sticky, shape, cookie, qa })),
      ),
    ),
  ),
);

async function serve(trust: Trust, rules: Rules, sticky: (typeof STICKY)[number]) {
  return decisionServer({
    config: CONFIGS[rules] as never,
    sticky,
    ...(trust === 'signed' ? { trust: 'signed' as const, keys } : {}),
  });
}

describe('STK-04 marker cookies that differ are not overwritten at / (review 83 D1)', () => {
  it.each(conflictRows)(
    'STK-04 $trust, rules $rules, sticky $sticky, $shape, x-qa $qa: no version cookie written',
    async ({ trust, rules, sticky, cookie, qa }) => {
      const s = await serve(trust, rules, sticky);
      const res = await fetch(s.url, {
        headers: [
          ...[cookie(trust)].flat().map((c) => ['cookie', c] as [string, string]),
          ...(qa ? [['x-qa', '1'] as [string, string]] : []),
        ],
      });
      const decision = (await res.json()) as { version: string; reason: string };
      // The rules serve the request (the conflict is no marker) ...
      expect(decision.reason).not.toBe('cookie');
      if (qa && rules === 'qa rule') expect(decision.version).toBe('canary');
      // ... and the page's copy at `/` is left as it is.
      expect(versionCookie(res.headers.getSetCookie())).toBeUndefined();
    },
  );
});

describe('PREC-03 (control) a single ignored version cookie is still rewritten from the rules', () => {
  it.each(
    TRUSTS.flatMap((trust) =>
      STICKY.flatMap((sticky) =>
        SINGLES.map(([shape, cookie]) => ({ trust, sticky, shape, cookie })),
      ),
    ),
  )('PREC-03 $trust, sticky $sticky, $shape: rewritten', async ({ trust, sticky, cookie }) => {
    const s = await serve(trust, 'none', sticky);
    const res = await fetch(s.url, { headers: { cookie: cookie(trust) } });
    const written = versionCookie(res.headers.getSetCookie());
    expect(written).toBeDefined();
    expect(trust === 'open' ? written : written?.startsWith('stable.')).toBeTruthy();
    if (trust === 'open') expect(written).toBe('stable');
  });

  it.each(TRUSTS)(
    '(control) %s: the same value twice is one cookie, honoured, not renewed',
    async (trust) => {
      const s = await serve(trust, 'none', true);
      const v = trust === 'open' ? 'beta' : token('beta');
      const res = await fetch(s.url, { headers: { cookie: `gray=${v}; gray=${v}` } });
      expect(await res.json()).toMatchObject({ version: 'beta', reason: 'cookie' });
      expect(versionCookie(res.headers.getSetCookie())).toBeUndefined();
    },
  );
});
