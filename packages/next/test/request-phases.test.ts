import './support/next-env.js';
import {
  createGrayFetch,
  getGrayDecision,
  getGrayVersion,
  grayMetadata,
  GrayMeta,
  tryGetGrayVersion,
} from '@graylane/next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDownstream } from './support/downstream.js';
import { inRequest, nextHeaders, passedOn, type Phase } from './support/next-request.js';

/**
 * CTX-12 (review 138 D1): where Next forbids reading the request — a cache scope every lane
 * shares, a page's `after()`, build time, `dynamic = 'error'` — `headers()` throws, and Next's
 * build or render fails with it. graylane used to swallow that error and read "no decision": a
 * page calling `getGrayVersion()` inside `unstable_cache` was prerendered static with one lane
 * for everyone, and `createGrayFetch` there sent no lane. The oracle of each row is `headers()`
 * itself in the same place: every reader must fail with exactly its error, or answer as it does.
 */

let downstream: Awaited<ReturnType<typeof startDownstream>>;
beforeAll(async () => {
  downstream = await startDownstream();
});
afterAll(async () => {
  await downstream?.close();
});

/** Places Next forbids the request's data. */
const FORBIDDEN: [string, Phase][] = [
  ['inside unstable_cache()', { unit: { type: 'unstable-cache' } }],
  ["inside 'use cache'", { unit: { type: 'cache' } }],
  ["in a page's after() callback", { requestPhase: 'after', afterTask: 'render' }],
  [
    'in generateStaticParams',
    { unit: { type: 'build-time-generator', functionName: 'generateStaticParams' } },
  ],
  [
    'in generateSitemaps',
    { unit: { type: 'build-time-generator', functionName: 'generateSitemaps' } },
  ],
  ["under dynamic = 'error'", { work: { dynamicShouldError: true } }],
];

/** Places where the request is there to read (controls). */
const ALLOWED: [string, Phase][] = [
  ['while rendering', {}],
  ['in a server action', { requestPhase: 'action' }],
  [
    "in a route handler's or action's after() callback",
    { requestPhase: 'after', afterTask: 'action' },
  ],
];

type Reader = [string, () => Promise<unknown>, (got: unknown) => unknown];
const version = (d: unknown): unknown => (d as { version?: string } | undefined)?.version;
const READERS: Reader[] = [
  ['getGrayDecision()', getGrayDecision, version],
  ['tryGetGrayVersion()', tryGetGrayVersion, (v) => v],
  ['getGrayVersion()', getGrayVersion, (v) => v],
  ['grayMetadata()', grayMetadata, (m) => (m as Record<string, string>)['graylane-version']],
  ['<GrayMeta />', GrayMeta, (e) => (e as { props?: { content?: string } } | null)?.props?.content],
];

/** What `headers()` throws at `phase` (the oracle), or undefined when it answers. */
async function nextSays(phase: Phase): Promise<string | undefined> {
  const passed = await passedOn();
  // headers() throws synchronously where it refuses: called inside a then, it rejects.
  const read = (): Promise<string | undefined> =>
    Promise.resolve()
      .then(() => nextHeaders())
      .then(
        () => undefined,
        (e: Error) => e.message,
      );
  return inRequest(passed, read, phase);
}

describe('CTX-12 the lane is never read where Next forbids request data', () => {
  it.each(
    FORBIDDEN.flatMap(([where, phase]) => READERS.map((r) => [where, r[0], phase, r[1]] as const)),
  )('%s, %s fails with Next’s own error', async (_where, _name, phase, read) => {
    const expected = await nextSays(phase);
    expect(expected).toMatch(/Route "?\/t"?/); // Next refuses here: the row is not vacuous
    const passed = await passedOn();
    const got = await inRequest(
      passed,
      () =>
        read().then(
          () => 'answered',
          (e: Error) => e,
        ),
      phase,
    );
    expect(got).toBeInstanceOf(Error);
    expect((got as Error).message).toBe(expected);
  });

  it.each(FORBIDDEN)(
    '%s, createGrayFetch rejects with Next’s error and sends nothing',
    async (_where, phase) => {
      const expected = await nextSays(phase);
      const grayFetch = createGrayFetch({ allowHosts: [new URL(downstream.origin).host] });
      const before = downstream.seen.length;
      const passed = await passedOn();
      const got = await inRequest(
        passed,
        () =>
          grayFetch(`${downstream.origin}/echo`).then(
            () => 'sent',
            (e: Error) => e,
          ),
        phase,
      );
      expect((got as Error).message).toBe(expected);
      expect(downstream.seen.length).toBe(before);
    },
  );

  it.each(
    ALLOWED.flatMap(([where, phase]) =>
      READERS.map((r) => [where, r[0], phase, r[1], r[2]] as const),
    ),
  )('%s, %s reads the lane (control)', async (_where, _name, phase, read, pick) => {
    expect(await nextSays(phase)).toBeUndefined();
    const passed = await passedOn();
    expect(pick(await inRequest(passed, read, phase))).toBe('beta');
  });

  it.each(ALLOWED)('%s, createGrayFetch carries the lane (control)', async (_where, phase) => {
    const grayFetch = createGrayFetch({ allowHosts: [new URL(downstream.origin).host] });
    const passed = await passedOn();
    const seen = await inRequest(
      passed,
      async () =>
        (await grayFetch(`${downstream.origin}/echo`)).json() as Promise<{
          marker?: string;
          lane?: string;
        }>,
      phase,
    );
    expect([seen.marker, seen.lane]).toEqual(['beta', 'beta']);
  });

  it.each([
    ['tryGetGrayVersion()', tryGetGrayVersion],
    ['getGrayDecision()', getGrayDecision],
    ['grayMetadata()', () => grayMetadata().then((m) => Object.keys(m).length)],
    ['<GrayMeta />', GrayMeta],
  ] as const)(
    'outside any request (a script, a test), %s answers none, as before',
    async (_n, read) => {
      const out = await read();
      expect(out === undefined || out === null || out === 0).toBe(true);
    },
  );

  it('outside any request, getGrayVersion() says NO_CONTEXT and createGrayFetch is a plain fetch', async () => {
    await expect(getGrayVersion()).rejects.toMatchObject({ code: 'NO_CONTEXT' });
    const grayFetch = createGrayFetch({ allowHosts: [new URL(downstream.origin).host] });
    const seen = (await (await grayFetch(`${downstream.origin}/echo`)).json()) as {
      marker?: string;
    };
    expect(seen.marker).toBeUndefined();
  });

  it("with force-static, Next hands out empty headers: no lane, no error (as Next's headers())", async () => {
    const phase: Phase = { work: { forceStatic: true } };
    expect(await nextSays(phase)).toBeUndefined();
    const passed = await passedOn();
    expect(await inRequest(passed, tryGetGrayVersion, phase)).toBeUndefined();
  });

  it('with force-static, getGrayVersion() names force-static, not the matcher (review 145 D2)', async () => {
    const passed = await passedOn();
    const err = await inRequest(
      passed,
      () =>
        getGrayVersion().then(
          () => undefined,
          (e: Error) => e,
        ),
      { work: { forceStatic: true } },
    );
    expect(err).toMatchObject({ code: 'NO_CONTEXT' });
    expect((err as Error).message).toMatch(/force-static/);
    expect((err as Error).message).not.toMatch(/matcher/);
    // (control) a request the proxy never decided still points at the matcher
    const bare = await inRequest(new Headers({ host: 'app.test' }), () =>
      getGrayVersion().then(
        () => undefined,
        (e: Error) => e,
      ),
    );
    expect((bare as Error).message).toMatch(/matcher/);
  });
});
