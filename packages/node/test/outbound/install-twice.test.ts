import { afterEach, describe, expect, it, vi } from 'vitest';
import { installGlobal, type InstallGlobalOptions } from '../../src/index.js';

/*
 * MISC-01 (review 53 N): installGlobal() installs at most once per process. A second call with
 * other options (an app's allowHosts after a shared bootstrap's installGlobal()) changes nothing:
 * it says so with one process warning per other set of options, and stays silent when it asks
 * for what is installed.
 */

const CODE = 'GRAYLANE_INSTALLED_ALREADY';
const warned = (spy: { mock: { calls: unknown[][] } }): number =>
  spy.mock.calls.filter((c) => (c[1] as { code?: string } | undefined)?.code === CODE).length;

let uninstall: (() => void) | undefined;
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
  vi.restoreAllMocks();
});

const ROWS: [string, InstallGlobalOptions | undefined, InstallGlobalOptions | undefined, number][] =
  [
    ['no options twice', undefined, undefined, 0],
    ['{} then no options', {}, undefined, 0],
    ['the same hosts', { allowHosts: ['orders.internal'] }, { allowHosts: ['orders.internal'] }, 0],
    [
      'the same RegExp',
      { allowHosts: [/^http:\/\/[a-z]+\.svc$/] },
      { allowHosts: [/^http:\/\/[a-z]+\.svc$/] },
      0,
    ],
    ['defaults spelled out', {}, { fetch: true, http: true, http2: true }, 0],
    ['hosts after none', undefined, { allowHosts: ['orders.internal'] }, 1],
    ['other hosts', { allowHosts: ['a.internal'] }, { allowHosts: ['b.internal'] }, 1],
    ['hosts in another order', { allowHosts: ['a', 'b'] }, { allowHosts: ['b', 'a'] }, 1],
    [
      'another RegExp',
      { allowHosts: [/^http:\/\/[a-z]+\.svc$/] },
      { allowHosts: [/^http:\/\/[a-z]+\.internal$/] },
      1,
    ],
    ['no hosts after some', { allowHosts: ['a.internal'] }, undefined, 1],
    ['an empty list after none', undefined, { allowHosts: [] }, 1],
    ['http off', {}, { http: false }, 1],
    ['fetch off', {}, { fetch: false }, 1],
    ['http2 off', {}, { http2: false }, 1],
  ];

describe('MISC-01 a second installGlobal() with other options says it changes nothing', () => {
  it.each(ROWS)('%s', (_label, first, second, expected) => {
    uninstall = installGlobal(first);
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const noop = installGlobal(second);
    expect(noop.name).toBe('graylaneAlreadyInstalled');
    expect(warned(spy)).toBe(expected);
    // The same other options again: said once.
    installGlobal(second);
    expect(warned(spy)).toBe(expected);
  });

  it('each other set of options is said once; after uninstall() a new install is silent', () => {
    uninstall = installGlobal({ allowHosts: ['a.internal'] });
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    installGlobal({ allowHosts: ['b.internal'] });
    installGlobal({ allowHosts: ['c.internal'] });
    installGlobal({ allowHosts: ['b.internal'] });
    expect(warned(spy)).toBe(2);
    uninstall();
    uninstall = installGlobal({ allowHosts: ['c.internal'] });
    expect(warned(spy)).toBe(2);
  });

  it('options that cannot be read warn nothing and never throw', () => {
    uninstall = installGlobal();
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const hostile = {
      get allowHosts(): never {
        throw new Error('boom');
      },
    } as unknown as InstallGlobalOptions;
    expect(() => installGlobal(hostile)).not.toThrow();
    expect(warned(spy)).toBe(0);
  });
});
