/**
 * Bad input gets a clear error, never a crash (review 107 D3): the public entry points a user
 * calls first, called from plain JavaScript with what is not an options object — nothing,
 * `null`, a number, a string, an array, a symbol — throw a `GraylaneError` `INVALID_OPTIONS`
 * naming the call, not a `TypeError` from deep inside ("Cannot read properties of undefined").
 */
import { describe, expect, it } from 'vitest';
import { isGraylaneError } from '@graylane/core';
import * as browser from '@graylane/browser';
import * as next from '@graylane/next';
import * as node from '@graylane/node';
import * as web from '@graylane/web';

const BAD: readonly [string, unknown][] = [
  ['nothing', undefined],
  ['null', null],
  ['a number', 5],
  ['a string', 'beta'],
  ['an array', []],
  ['a symbol', Symbol('x')],
];

type Call = (arg: unknown) => unknown;
const CALLS: readonly [string, Call, RegExp][] = [
  ['@graylane/browser initGray', (a) => browser.initGray(a as never), /initGray/],
  ['@graylane/browser split', (a) => browser.split(a as never), /split/],
  ['@graylane/browser excludePaths', (a) => browser.excludePaths(a as never), /excludePaths/],
  [
    '@graylane/next createGrayProxy',
    (a) => next.createGrayProxy(a as never),
    /createGrayProxy|createGraylane/,
  ],
  ['@graylane/web createGraylane', (a) => web.createGraylane(a as never), /createGraylane/],
  ['@graylane/node createGraylane', (a) => node.createGraylane(a as never), /createGraylane/],
  ['@graylane/node grayBranch', (a) => node.grayBranch(a as never), /grayBranch/],
];

describe('a public entry point given what is not its options throws INVALID_OPTIONS', () => {
  it.each(
    CALLS.flatMap(([name, call, says]) =>
      BAD.map(([what, arg]) => [name, what, call, says, arg] as const),
    ),
  )('%s(%s)', (_name, _what, call, says, arg) => {
    let thrown: unknown;
    try {
      call(arg);
    } catch (e) {
      thrown = e;
    }
    // An empty array is an empty list of weights, paths or branches where one is taken: it may
    // pass. Anything else throws, and never a TypeError.
    if (Array.isArray(arg) && thrown === undefined) return;
    expect(isGraylaneError(thrown) && thrown.code, String(thrown)).toBe('INVALID_OPTIONS');
    expect(String((thrown as Error).message)).toMatch(says);
  });

  it.each(BAD.filter(([, a]) => typeof a !== 'string'))(
    '@graylane/web createLane(%s)',
    (_what, arg) => {
      expect(() => web.createLane(arg as never)).toThrow(/createLane/);
    },
  );
});
