import { runWithGray } from '@graylane/node';
import {
  ErrorCode,
  InMemoryProvider,
  OpenFeature,
  type Client,
  type EvaluationContext,
} from '@openfeature/server-sdk';
import { OpenFeature as WebOpenFeature } from '@openfeature/web-sdk';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LaneDecision } from '../src/index.js';
import { createGrayContextHook, createGrayServerProvider } from '../src/server/index.js';
import { createGrayWebProvider, type GrayClientLike } from '../src/web/index.js';

/*
 * CONF-05 / I1: a `getDecision` (or a browser client) that hands back something other than a
 * decision with a version label. Every evaluation API answers with the code default, a standard
 * OpenFeature error code, nothing thrown, and the case is counted; the hook leaves the context
 * alone. Review 126 D3.
 */
const hostile = new Proxy(
  {},
  {
    get() {
      throw new Error('hostile getter');
    },
  },
);
const rejecting = (): Promise<never> => Promise.reject(new Error('async store broke'));
const decision = (version: unknown) => ({ version, reason: 'rule', source: 'rules' });

/** Results that are not a decision: GENERAL, counted as an error, never resolved. */
const bad: ReadonlyArray<readonly [string, () => unknown]> = [
  ['a version string', () => 'beta'],
  ['an empty string', () => ''],
  ['a number', () => 1],
  ['zero', () => 0],
  ['NaN', () => Number.NaN],
  ['true', () => true],
  ['false', () => false],
  ['a bigint', () => 1n],
  ['a symbol', () => Symbol('beta')],
  ['a function', () => () => decision('beta')],
  ['an array', () => ['beta']],
  ['a String object', () => new String('beta')],
  ['an empty object', () => ({})],
  ['{ version: 5 }', () => decision(5)],
  ['{ version: null }', () => decision(null)],
  ['{ version: true }', () => decision(true)],
  ['{ version: ["beta"] }', () => decision(['beta'])],
  ['{ version: an object that prints beta }', () => decision({ toString: () => 'beta' })],
  ['{ version: "BETA" }', () => decision('BETA')],
  ['{ version: "beta\\r\\nx: y" }', () => decision('beta\r\nx: y')],
  ['{ version: 40 chars }', () => decision('a'.repeat(40))],
  ['{ version: "" }', () => decision('')],
  ['{ version: "__proto__" }', () => decision('__proto__')],
  ['a promise of a decision', () => Promise.resolve(decision('beta'))],
  ['a rejected promise', rejecting],
  ['a thenable', () => ({ version: 'beta', then: (ok: (v: unknown) => void) => ok(1) })],
  [
    'a decision whose version getter throws',
    () => ({
      get version(): string {
        throw new Error('getter broke');
      },
    }),
  ],
  ['a Proxy that throws on every read', () => hostile],
  [
    'an accessor that throws a non-Error',
    () => {
      throw Object.create(null) as unknown;
    },
  ],
];

/** Controls: what already behaved, kept to pin the boundary. */
const none: ReadonlyArray<readonly [string, () => unknown]> = [
  ['undefined (outside a lane)', () => undefined],
  ['null', () => null],
];

const STANDARD = new Set<string>(Object.values(ErrorCode));
let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  await new Promise((r) => setTimeout(r, 10)); // let a dropped rejection surface
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});
afterAll(async () => {
  await OpenFeature.clearProviders();
  await WebOpenFeature.clearProviders();
});

let domains = 0;
async function serverClient(getDecision: () => unknown) {
  const provider = createGrayServerProvider({
    getDecision: getDecision as () => LaneDecision | undefined,
  });
  const domain = `shape-${++domains}`;
  await OpenFeature.setProviderAndWait(domain, provider);
  return { provider, flags: OpenFeature.getClient(domain) };
}

describe('CONF-05 server provider: a getDecision that returns no decision', () => {
  it.each(bad)('CONF-05 getDecision returns %s → default, GENERAL, counted', async (_n, get) => {
    const { provider, flags } = await serverClient(get);
    // Straight from the provider: resolves (never rejects) with a standard code.
    const direct = await provider.resolveStringEvaluation('gray-version', 'safe', {}, console);
    expect([direct.value, direct.reason, direct.errorCode]).toEqual(['safe', 'ERROR', 'GENERAL']);
    expect(direct.errorMessage).toEqual(expect.any(String));
    expect(direct.errorMessage!.length).toBeLessThanOrEqual(200);
    // Through the SDK, every string API; inside a real lane too (the custom accessor decides).
    for (const scope of ['outside', 'inside'] as const) {
      const run = <T>(fn: () => Promise<T>) =>
        scope === 'inside' ? runWithGray('beta', fn) : fn();
      const d = await run(() => flags.getStringDetails('gray-version', 'safe'));
      expect([d.value, d.reason, d.errorCode]).toEqual(['safe', 'ERROR', 'GENERAL']);
      expect(STANDARD.has(d.errorCode!)).toBe(true);
      expect(await run(() => flags.getStringValue('gray-version', 'safe'))).toBe('safe');
    }
    // Other types are a TYPE_MISMATCH before the accessor is read (control).
    expect((await flags.getBooleanDetails('gray-version', true)).errorCode).toBe('TYPE_MISMATCH');
    expect((await flags.getNumberDetails('gray-version', 7)).errorCode).toBe('TYPE_MISMATCH');
    expect((await flags.getObjectDetails('gray-version', { a: 1 })).errorCode).toBe(
      'TYPE_MISMATCH',
    );
    expect(provider.stats()).toEqual({
      resolved: 0,
      errors: { FLAG_NOT_FOUND: 0, TYPE_MISMATCH: 3, INVALID_CONTEXT: 0, GENERAL: 5 },
    });
  });

  it.each(none)('control: getDecision returns %s → INVALID_CONTEXT', async (_n, get) => {
    const { provider, flags } = await serverClient(get);
    const d = await flags.getStringDetails('gray-version', 'safe');
    expect([d.value, d.reason, d.errorCode]).toEqual(['safe', 'ERROR', 'INVALID_CONTEXT']);
    expect(provider.stats().errors.INVALID_CONTEXT).toBe(1);
    expect(provider.stats().resolved).toBe(0);
  });

  it('CONF-05 a valid version with junk around it resolves, with flag metadata of primitives only', async () => {
    const { provider, flags } = await serverClient(() => ({
      version: 'beta',
      reason: { evil: true },
      source: 5,
      ruleId: ['r'],
      bucket: Number.POSITIVE_INFINITY,
      rejected: { source: 'header', reason: { x: 1 } },
    }));
    const d = await flags.getStringDetails('gray-version', 'safe');
    expect([d.value, d.variant, d.reason, d.errorCode]).toEqual([
      'beta',
      'beta',
      'UNKNOWN',
      undefined,
    ]);
    for (const v of Object.values(d.flagMetadata)) {
      expect(['string', 'number', 'boolean']).toContain(typeof v);
    }
    expect(d.flagMetadata).toEqual({ decisionReason: 'unknown', source: 'unknown' });
    expect(provider.stats().resolved).toBe(1);
  });

  it('control: a real decision resolves with its reason and metadata', async () => {
    const { provider, flags } = await serverClient(() => ({
      version: 'beta',
      reason: 'weight',
      source: 'rules',
      ruleId: 'b5',
      bucket: 412,
    }));
    const d = await flags.getStringDetails('gray-version', 'safe');
    expect([d.value, d.reason]).toEqual(['beta', 'SPLIT']);
    expect(d.flagMetadata).toEqual({
      decisionReason: 'weight',
      source: 'rules',
      ruleId: 'b5',
      bucket: 412,
    });
    expect(provider.stats()).toEqual({
      resolved: 1,
      errors: { FLAG_NOT_FOUND: 0, TYPE_MISMATCH: 0, INVALID_CONTEXT: 0, GENERAL: 0 },
    });
  });

  it.each([['a string'], [42], [{}], [null]])(
    'a getDecision option that is not a function (%j) is a construction error',
    (getDecision) => {
      const opts = { getDecision: getDecision as unknown as () => undefined };
      for (const make of [createGrayServerProvider, createGrayContextHook]) {
        expect(() => make(opts)).toThrow(
          expect.objectContaining({ name: 'GraylaneError', code: 'INVALID_OPTIONS' }),
        );
      }
    },
  );
});

describe('CONF-05 context hook: a getDecision that returns no decision', () => {
  let flags: Client;
  const seen: EvaluationContext[] = [];
  beforeEach(async () => {
    seen.length = 0;
    const probe = new InMemoryProvider({
      f: {
        disabled: false,
        variants: { a: 'a' },
        defaultVariant: 'a',
        contextEvaluator: (ctx) => {
          seen.push({ ...ctx });
          return 'a';
        },
      },
    });
    await OpenFeature.setProviderAndWait('shape-hook', probe);
    flags = OpenFeature.getClient('shape-hook');
  });

  it.each([...bad, ...none])(
    'CONF-05 hook, getDecision returns %s → context unchanged',
    async (_n, get) => {
      const hook = createGrayContextHook({ getDecision: get as () => LaneDecision | undefined });
      expect(hook.before!({} as never)).toBeUndefined();
      const d = await runWithGray('beta', () =>
        flags.getStringDetails(
          'f',
          'x',
          { grayVersion: 'caller', userId: 'u1' },
          { hooks: [hook] },
        ),
      );
      expect([d.value, d.errorCode]).toEqual(['a', undefined]);
      expect(seen).toEqual([{ grayVersion: 'caller', userId: 'u1' }]);
    },
  );
});

describe('CONF-05 web provider: a client that returns no version', () => {
  const client = (getGrayVersion: () => unknown, getGrayReason: () => unknown = () => 'rule') =>
    ({
      getGrayVersion,
      getGrayReason,
      subscribe: () => () => undefined,
    }) as unknown as GrayClientLike;

  const badVersions: ReadonlyArray<readonly [string, () => unknown]> = [
    ['a number', () => 5],
    ['null', () => null],
    ['an upper-case label', () => 'BETA'],
    ['a label with CRLF', () => 'beta\r\n'],
    ['an object', () => ({ version: 'beta' })],
    ['a promise', () => Promise.resolve('beta')],
    ['a rejected promise', rejecting],
    ['an empty string', () => ''],
  ];

  it.each(badVersions)(
    'CONF-05 getGrayVersion returns %s → default, GENERAL, counted',
    async (_n, get) => {
      const provider = createGrayWebProvider({ client: client(get) });
      const domain = `shape-web-${++domains}`;
      await WebOpenFeature.setProviderAndWait(domain, provider);
      const c = WebOpenFeature.getClient(domain);
      const d = c.getStringDetails('gray-version', 'safe');
      expect([d.value, d.reason, d.errorCode]).toEqual(['safe', 'ERROR', 'GENERAL']);
      expect(c.getStringValue('gray-version', 'safe')).toBe('safe');
      expect(c.getBooleanDetails('gray-version', false).errorCode).toBe('TYPE_MISMATCH');
      expect(provider.stats()).toEqual({
        resolved: 0,
        errors: { FLAG_NOT_FOUND: 0, TYPE_MISMATCH: 1, INVALID_CONTEXT: 0, GENERAL: 2 },
      });
    },
  );

  it('CONF-05 getGrayVersion returns undefined → INVALID_CONTEXT', async () => {
    const provider = createGrayWebProvider({ client: client(() => undefined) });
    const d = provider.resolveStringEvaluation('gray-version', 'safe', {}, console);
    expect([d.value, d.reason, d.errorCode]).toEqual(['safe', 'ERROR', 'INVALID_CONTEXT']);
    expect(provider.stats().errors.INVALID_CONTEXT).toBe(1);
  });

  it('CONF-05 a junk reason with a valid version resolves with primitive metadata', () => {
    const provider = createGrayWebProvider({
      client: client(
        () => 'beta',
        () => ({ evil: 1 }),
      ),
    });
    const d = provider.resolveStringEvaluation('gray-version', 'safe', {}, console);
    expect([d.value, d.reason]).toEqual(['beta', 'UNKNOWN']);
    expect(d.flagMetadata).toEqual({ decisionReason: 'unknown', source: 'client' });
  });

  it('control: a real version resolves', () => {
    const provider = createGrayWebProvider({
      client: client(
        () => 'beta',
        () => 'cookie',
      ),
    });
    const d = provider.resolveStringEvaluation('gray-version', 'safe', {}, console);
    expect([d.value, d.reason]).toEqual(['beta', 'TARGETING_MATCH']);
    expect(provider.stats().resolved).toBe(1);
  });
});
