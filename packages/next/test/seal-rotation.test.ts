import './support/next-env.js';
import {
  createGrayProxy,
  DECISION_KEY_ENV,
  DECISION_KEY_FALLBACK_ENV,
  DECISION_REQUEST_HEADER,
  DECISION_SEAL_TTL_SECONDS,
  getGrayDecision,
} from '@graylane/next';
import { signMarker } from '@graylane/web';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { inRequest, passedOn } from './support/next-request.js';

/**
 * GW-01 (sealed decisions between a proxy and an app deployed apart), review 72 N2 and N3:
 * `GRAYLANE_DECISION_KEY` can be rotated one instance at a time through
 * `GRAYLANE_DECISION_KEY_FALLBACK` (verifies, never seals), and a seal whose expiry lies further
 * ahead than a proxy ever seals for is refused, whoever made it.
 */

const OLD = 'the-old-shared-secret-32-chars!!';
const NEW = 'the-new-shared-secret-32-chars!!';
const OTHER = 'somebody-elses-secret-32-chars!!';

afterEach(() => {
  delete process.env[DECISION_KEY_ENV];
  delete process.env[DECISION_KEY_FALLBACK_ENV];
  vi.restoreAllMocks();
});

/** The environment one instance runs with: `[key, fallback]`. */
type Env = readonly [string | undefined, string | undefined];
function use([key, fallback]: Env): void {
  for (const [name, value] of [
    [DECISION_KEY_ENV, key],
    [DECISION_KEY_FALLBACK_ENV, fallback],
  ] as const)
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
}

/** What the proxy instance running with `proxyEnv` passes on, read by an app running with `appEnv`. */
async function laneAcross(proxyEnv: Env, appEnv: Env): Promise<string | undefined> {
  use(proxyEnv);
  const passed = await passedOn();
  use(appEnv);
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  return inRequest(passed, async () => (await getGrayDecision())?.version);
}

describe('GW-01 rotating GRAYLANE_DECISION_KEY with GRAYLANE_DECISION_KEY_FALLBACK', () => {
  // The three steps, each rolled out one instance at a time: at every moment any proxy and any
  // app instance (old or new step) must agree.
  const STEPS: Env[] = [
    [OLD, undefined], // before
    [OLD, NEW], // 1: the new key accepted everywhere
    [NEW, OLD], // 2: the new key seals, the old one still accepted
    [NEW, undefined], // 3: the old key gone (after DECISION_SEAL_TTL_SECONDS)
  ];
  const ROWS: [string, Env, Env][] = [];
  for (let i = 1; i < STEPS.length; i++)
    for (const [p, a] of [
      [i - 1, i],
      [i, i - 1],
      [i, i],
    ] as const)
      ROWS.push([`step ${i}: proxy on ${p}, app on ${a}`, STEPS[p] as Env, STEPS[a] as Env]);
  it.each(ROWS)('%s: the lane holds', async (_label, proxyEnv, appEnv) => {
    expect(await laneAcross(proxyEnv, appEnv)).toBe('beta');
  });

  it.each<[string, Env, Env]>([
    ['a proxy on another key', [OTHER, undefined], [NEW, OLD]],
    ['a proxy on another key, the app with it nowhere', [OTHER, NEW], [NEW, OLD]],
    ['a proxy sealing with a fallback-only key', [OTHER, OLD], [NEW, undefined]],
    ['the old key after step 3', [OLD, undefined], [NEW, undefined]],
    ['a realm key (no shared key at the proxy)', [undefined, undefined], [NEW, OLD]],
  ])('%s: no decision (fail closed)', async (_label, proxyEnv, appEnv) => {
    expect(await laneAcross(proxyEnv, appEnv)).toBeUndefined();
  });

  it.each([
    [DECISION_KEY_FALLBACK_ENV, [NEW, 'short']],
    [DECISION_KEY_ENV, ['short', NEW]],
    [DECISION_KEY_FALLBACK_ENV, [undefined, 'short']],
  ] as const)(
    '%s shorter than 16 bytes: INVALID_OPTIONS naming it, at construction',
    (name, env) => {
      use(env);
      let caught: unknown;
      try {
        createGrayProxy({ config: { versions: ['stable', 'beta'], default: 'stable' } });
      } catch (err) {
        caught = err;
      }
      expect((caught as { code?: string }).code).toBe('INVALID_OPTIONS');
      expect(String((caught as Error).message)).toContain(`${name} is shorter than 16 bytes`);
    },
  );
});

describe('GW-01 a bad fallback where only seals are read (review 77 D5)', () => {
  // An app deployed apart from its proxy never constructs one, so it never ran the startup check:
  // a fallback shorter than 16 bytes there made every seal `bad_seal`, the main key's too.
  const WARNED = Symbol.for('@graylane/next.warned-fallback');
  afterEach(() => {
    delete (globalThis as { [WARNED]?: boolean })[WARNED];
  });
  it.each(['short', ' ', 'x'.repeat(15)])(
    'fallback %j: the main key still verifies, and one warning names the variable',
    async (fallback) => {
      use([NEW, undefined]);
      const passed = await passedOn();
      use([NEW, fallback]);
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const read = () => inRequest(passed, async () => (await getGrayDecision())?.version);
      expect([await read(), await read()]).toEqual(['beta', 'beta']);
      const said = warn.mock.calls.map((c) => String(c[0]));
      expect(said.filter((m) => m.includes(DECISION_KEY_FALLBACK_ENV))).toHaveLength(1);
    },
  );
});

describe('GW-01 a seal that expires too far ahead is refused (review 72 N3)', () => {
  const TEXT = 'version=beta; reason=header; source=header';
  const sealed = async (key: string, ttlSeconds: number, kid = 'env') =>
    `${TEXT}; seal=${await signMarker('beta', { key, kid, subject: TEXT, ttlSeconds })}`;
  it.each([
    [1, 'beta'],
    [DECISION_SEAL_TTL_SECONDS, 'beta'],
    [2 * DECISION_SEAL_TTL_SECONDS - 5, 'beta'], // a proxy whose clock runs ahead
    [2 * DECISION_SEAL_TTL_SECONDS + 5, undefined],
    [86_400, undefined],
    [365 * 86_400, undefined],
  ] as const)('a seal valid for %i s: %s', async (ttl, lane) => {
    use([NEW, OLD]);
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    for (const key of [NEW, OLD]) {
      const headers = new Headers({ [DECISION_REQUEST_HEADER]: await sealed(key, ttl) });
      expect(await inRequest(headers, async () => (await getGrayDecision())?.version)).toBe(lane);
    }
  });
});
