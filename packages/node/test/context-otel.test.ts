// OTB-05 in process: runWithGray with a registered OTel context manager (the real
// AsyncLocalStorageContextManager from @opentelemetry/context-async-hooks) puts the version into
// OTel baggage, keeps other members, and ignores a malformed version with a counted reason.
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindGray, getGrayVersion, runWithGray, tryGetGrayVersion } from '../src/index.js';
import { ignoredContextStats } from '../src/context/ignored.js';

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  context.disable();
});

const member = (): string | undefined =>
  propagation.getBaggage(context.active())?.getEntry('gray')?.value;

describe('OTB-05 runWithGray and OTel baggage', () => {
  it.each(['beta', 'stable', 'canary-2'])(
    'OTB-05 runWithGray(%s) sets gray in OTel baggage',
    (v) => {
      expect(runWithGray(v, () => [member(), getGrayVersion()])).toEqual([v, v]);
      expect(member()).toBeUndefined();
    },
  );

  it('OTB-05 the member survives awaits, timers and bindGray callbacks run later', async () => {
    const later = await runWithGray('beta', async () => {
      await new Promise((r) => setTimeout(r, 2));
      return member();
    });
    expect(later).toBe('beta');
    const bound = runWithGray('gamma', () => bindGray(() => member()));
    await new Promise((r) => setTimeout(r, 2));
    expect(bound()).toBe('gamma');
  });

  it('OTB-05 other members are kept and an inner scope wins', () => {
    const outer = propagation.setBaggage(
      ROOT_CONTEXT,
      propagation.createBaggage({ tenant: { value: 't1' }, gray: { value: 'stable' } }),
    );
    const seen = context.with(outer, () =>
      runWithGray('beta', () =>
        propagation
          .getBaggage(context.active())
          ?.getAllEntries()
          .map(([k, e]) => `${k}=${e.value}`)
          .sort(),
      ),
    );
    expect(seen).toEqual(['gray=beta', 'tenant=t1']);
  });

  it('OTB-05 baggageKey false: no member is added, and an inherited gray member is removed (OTB-02)', () => {
    const outer = propagation.setBaggage(
      ROOT_CONTEXT,
      propagation.createBaggage({ tenant: { value: 't1' }, gray: { value: 'beta' } }),
    );
    const seen = context.with(outer, () =>
      runWithGray('stable', () => [member(), getGrayVersion()], { baggageKey: false }),
    );
    expect(seen).toEqual([undefined, 'stable']);
  });

  const malformed: unknown[] = [
    '',
    'Beta!',
    'beta,gamma',
    'x'.repeat(300),
    'be ta',
    'bêta',
    '../etc',
    { version: 'BAD LABEL', reason: 'context', source: 'context' },
    { version: 42, reason: 'context', source: 'context' },
    null,
    undefined,
    7,
  ];
  it.each(malformed.map((v) => [v]))(
    'OTB-05 a malformed version %j is ignored with a counted reason, never thrown',
    (v) => {
      const before = ignoredContextStats().malformed;
      const out = runWithGray('beta', () =>
        runWithGray(v as string, () => [member(), tryGetGrayVersion()]),
      );
      // The enclosing scope stays in force; nothing was bound over it.
      expect(out).toEqual(['beta', 'beta']);
      expect(runWithGray(v as string, () => [member(), tryGetGrayVersion()])).toEqual([
        undefined,
        undefined,
      ]);
      expect(ignoredContextStats().malformed).toBe(before + 2);
    },
  );

  it('OTB-05 an error thrown by fn propagates unchanged', () => {
    const err = new Error('job failed');
    expect(() =>
      runWithGray('beta', () => {
        throw err;
      }),
    ).toThrow(err);
  });
});
