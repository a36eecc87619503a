import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isGraylaneError } from '@graylane/core';
import { afterAll, describe, expect, it } from 'vitest';
import { fileTimings } from '../../src/sources/file/timings.js';
import { createFileSource, type FileSourceOptions } from '../../src/sources/index.js';
import { doc, quietLogger, recordingStore, tempDir } from './helpers.js';

// The file source's timings are checked at construction like the HTTP source's
// (http-source-review.test.ts): a nonsense value throws INVALID_OPTIONS naming the option, instead
// of a watch that stats in a loop (rearmMs: 0), a poll that never stops (NaN) or a timer that
// overflows to 1 ms (2^31). `0` turns off debounceMs, settleMs and pollIntervalMs.

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((c) => c()));

type Timing = 'debounceMs' | 'settleMs' | 'maxWaitMs' | 'pollIntervalMs' | 'rearmMs';
const TIMINGS: readonly Timing[] = [
  'debounceMs',
  'settleMs',
  'maxWaitMs',
  'pollIntervalMs',
  'rearmMs',
];
/** The options `0` turns off; the others must be > 0. */
const ZERO_OK: ReadonlySet<Timing> = new Set(['debounceMs', 'settleMs', 'pollIntervalMs']);

const BAD: readonly unknown[] = [
  -1,
  -0.5,
  -1_000,
  -Number.MIN_VALUE,
  Number.NaN,
  Infinity,
  -Infinity,
  '200',
  '',
  '0',
  null,
  true,
  false,
  {},
  [],
  [50],
  10n,
  2 ** 31,
  1e12,
  Number.MAX_VALUE,
];

const show = (v: unknown): string =>
  typeof v === 'string'
    ? JSON.stringify(v)
    : typeof v === 'bigint'
      ? `${v}n`
      : Object.is(v, -0)
        ? '-0'
        : Array.isArray(v)
          ? `[${v.join(',')}]`
          : typeof v === 'object' && v !== null
            ? '{}'
            : String(v);

const make = (name: Timing, value: unknown): FileSourceOptions =>
  ({ path: '/nonexistent/graylane/rules.json', logger: quietLogger(), [name]: value }) as never;

function thrown(options: FileSourceOptions): unknown {
  try {
    createFileSource(options);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('file source timings: nonsense is refused at construction (INVALID_OPTIONS)', () => {
  for (const name of TIMINGS)
    for (const value of [...BAD, ...(ZERO_OK.has(name) ? [] : [0, -0])])
      it(`${name} = ${show(value)}`, () => {
        const error = thrown(make(name, value));
        expect(isGraylaneError(error) && error.code).toBe('INVALID_OPTIONS');
        const message = (error as Error).message;
        // The HTTP source's shape: `[graylane] <where>: <option> must be a number of milliseconds, …`.
        expect(message).toMatch(
          new RegExp(
            `^\\[graylane\\] file source: ${name} must be a number of milliseconds, ${ZERO_OK.has(name) ? '≥' : '>'} 0 and ≤ 2147483647 \\(got .+\\)$`,
          ),
        );
      });
});

describe('file source timings: valid values are accepted and used', () => {
  const GOOD: readonly number[] = [1, 0.5, 20, 1_000, 60_000, 2 ** 31 - 1];
  for (const name of TIMINGS)
    for (const value of [...GOOD, ...(ZERO_OK.has(name) ? [0, -0] : [])])
      it(`${name} = ${show(value)}`, () => {
        expect(thrown(make(name, value))).toBeUndefined();
        const got = fileTimings({ [name]: value })[name];
        // pollIntervalMs: 0 is "off", the same as leaving it out; -0 is 0.
        expect(got).toBe(value !== 0 ? value : name === 'pollIntervalMs' ? undefined : 0);
      });

  it('absent options take the documented defaults', () => {
    expect(fileTimings({})).toEqual({
      debounceMs: 20,
      settleMs: 200,
      maxWaitMs: 1_000,
      pollIntervalMs: undefined,
      rearmMs: 500,
    });
    for (const name of TIMINGS) expect(thrown(make(name, undefined))).toBeUndefined();
  });

  it('a source with every zero that is allowed starts, applies and stops', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'rules.json');
    writeFileSync(path, doc('beta'));
    const { store } = recordingStore();
    const source = createFileSource({
      path,
      logger: quietLogger(),
      debounceMs: 0,
      settleMs: 0,
      pollIntervalMs: 0,
    });
    await source.start(store);
    await source.stop();
    expect(store.get().config.default).toBe('beta');
  });
});
