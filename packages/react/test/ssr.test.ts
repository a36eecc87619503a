/**
 * Server rendering with the real react-dom/server in plain Node (no `document`): the server's
 * version is rendered, nothing global is touched, and concurrent renders never share a client.
 */
import { createElement as h, StrictMode, type ReactNode } from 'react';
import { renderToPipeableStream, renderToString } from 'react-dom/server';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isGraylaneError } from '@graylane/core';
import { initGray, split, type GrayOptions } from '@graylane/browser';
import {
  GrayBranch,
  GrayProvider,
  useGrayBranch,
  useGrayClient,
  useGrayVersion,
} from '@graylane/react';

const OPTIONS: GrayOptions = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: split({ beta: 50 }),
  onAssign: () => {
    throw new Error('onAssign must never run during SSR');
  },
};

function Version(): ReactNode {
  return h('b', null, useGrayVersion());
}

const page = (serverVersion: string | undefined, child: ReactNode = h(Version)) =>
  renderToString(h(StrictMode, null, h(GrayProvider, { options: OPTIONS, serverVersion }, child)));

describe('SSR (react-dom/server, no DOM)', () => {
  it('renders the server version; invalid or absent → the default (I3)', () => {
    expect(typeof document).toBe('undefined');
    expect(page('beta')).toBe('<b>beta</b>');
    expect(page('canary')).toBe('<b>canary</b>');
    for (const bad of [
      undefined,
      '',
      'gamma',
      'BETA',
      '__proto__',
      'beta\r\n',
      'beta,beta',
      'x'.repeat(100),
    ])
      expect(page(bad), String(bad)).toBe('<b>stable</b>');
    // OWS is trimmed, as the browser SDK and the middleware do (HDR-06).
    expect(page(' \tbeta ')).toBe('<b>beta</b>');
  });

  it('touches nothing process-wide: no default client, no patching, no exposure', () => {
    const before = Object.getOwnPropertySymbols(globalThis).map(String).sort();
    const fetchBefore = globalThis.fetch;
    page('beta');
    expect(Object.getOwnPropertySymbols(globalThis).map(String).sort()).toEqual(before);
    expect(globalThis.fetch).toBe(fetchBefore);
  });

  it('I7 concurrent streaming renders with different versions never see each other', async () => {
    const render = (v: string) =>
      new Promise<string>((resolve, reject) => {
        let html = '';
        const sink = new Writable({
          write(chunk: Buffer, _enc, done) {
            html += chunk.toString();
            done();
          },
          final(done) {
            resolve(html);
            done();
          },
        });
        const Slow = (): ReactNode => {
          const version = useGrayVersion();
          return h('i', { 'data-v': version }, version, h(Version));
        };
        const stream = renderToPipeableStream(
          h(GrayProvider, { options: OPTIONS, serverVersion: v }, h(Slow)),
          { onAllReady: () => stream.pipe(sink), onError: reject },
        );
      });
    const versions = Array.from(
      { length: 60 },
      (_, i) => ['stable', 'beta', 'canary'][i % 3] as string,
    );
    const out = await Promise.all(versions.map(render));
    out.forEach((html, i) => {
      const v = versions[i];
      expect(html).toBe(`<i data-v="${v}">${v}<b>${v}</b></i>`);
    });
  });

  it('useGrayClient is the inert server client: the server version, no propagation', () => {
    let seen: { version: string; marker: string | undefined } | undefined;
    const Probe = (): ReactNode => {
      const c = useGrayClient();
      seen = { version: c.getGrayVersion(), marker: c.markerFor('/api/x') };
      return null;
    };
    page('beta', h(Probe));
    expect(seen).toEqual({ version: 'beta', marker: undefined });
  });

  it('a client passed in is used as is', () => {
    const client = initGray({ ...OPTIONS, serverVersion: 'canary' });
    const html = renderToString(h(GrayProvider, { client }, h(Version)));
    expect(html).toBe('<b>canary</b>');
  });

  it.each([
    ['gamma', 'canary'],
    ['BETA', 'canary'],
    ['__proto__', 'canary'],
    ['x'.repeat(100), 'canary'],
    [' beta ', 'beta'],
    ['beta', 'beta'],
  ])(
    'I2 a client passed in, serverVersion %j: checked against the client’s versions',
    (prop, shown) => {
      // Without `options` the prop is checked against the client's own closed set: a label outside
      // it falls back to the client's hand-off, never rendered.
      const client = initGray({ ...OPTIONS, serverVersion: 'canary' });
      const html = renderToString(h(GrayProvider, { client, serverVersion: prop }, h(Version)));
      expect(html).toBe(`<b>${shown}</b>`);
    },
  );

  it('setup mistakes throw a GraylaneError with a clear code', () => {
    const code = (fn: () => unknown): unknown => {
      try {
        fn();
      } catch (e) {
        return isGraylaneError(e) ? e.code : e;
      }
      return undefined;
    };
    expect(code(() => renderToString(h(Version)))).toBe('NO_CONTEXT');
    expect(code(() => renderToString(h(GrayProvider, {}, h(Version))))).toBe('INVALID_OPTIONS');
    expect(
      code(() =>
        renderToString(h(GrayProvider, { options: { versions: ['stable'], default: 'beta' } })),
      ),
    ).toBe('INVALID_OPTIONS');
  });
});

describe('branches with lane fallback', () => {
  const Pick = (p: { branches: Record<string, string>; fallback?: string }): ReactNode =>
    h(
      'p',
      null,
      String(useGrayBranch(p.branches, p.fallback === undefined ? {} : { fallback: p.fallback })),
    );

  it.each([
    // [server version, branches, fallback, expected]
    ['beta', { beta: 'B', stable: 'S' }, undefined, 'B'],
    ['canary', { beta: 'B', stable: 'S' }, undefined, 'S'], // configured default
    ['canary', { beta: 'B', stable: 'S' }, 'beta', 'B'], // explicit fallback first
    ['canary', { beta: 'B' }, undefined, 'undefined'],
    ['canary', { beta: 'B', default: 'D' }, undefined, 'D'], // grayBranch's `default` key
    ['canary', { beta: 'B', default: 'D' }, 'nope', 'D'],
    ['stable', {}, undefined, 'undefined'],
    [
      'beta',
      Object.create({ beta: 'inherited' }) as Record<string, string>,
      undefined,
      'undefined',
    ],
  ] as const)('%s with %j (fallback %s) → %s', (v, branches, fallback, expected) => {
    const child = h(Pick, fallback === undefined ? { branches } : { branches, fallback });
    expect(page(v, child)).toBe(`<p>${expected}</p>`);
  });

  it('own keys only: versions named like Object.prototype members find nothing (I2)', () => {
    const options = { versions: ['stable', 'constructor', 'tostring'], default: 'stable' };
    for (const v of ['constructor', 'tostring']) {
      const html = renderToString(
        h(GrayProvider, { options, serverVersion: v }, h(Pick, { branches: { stable: 'S' } })),
      );
      expect(html).toBe('<p>S</p>');
    }
  });

  it('<GrayBranch> renders the branch element, or nothing', () => {
    const branches = { beta: h('em', null, 'new'), stable: h('span', null, 'old') };
    expect(page('beta', h(GrayBranch, { branches }))).toBe('<em>new</em>');
    expect(page('canary', h(GrayBranch, { branches }))).toBe('<span>old</span>');
    expect(page('canary', h(GrayBranch, { branches, fallback: 'beta' }))).toBe('<em>new</em>');
    expect(page('canary', h(GrayBranch, { branches: { beta: 'x' } }))).toBe('');
  });
});

describe('SV: a serverVersion that is not a string counts as absent (JSON hand-offs give null)', () => {
  it.each<[string, unknown]>([
    ['null', null],
    ['a number', 42],
    ['NaN', NaN],
    ['true', true],
    ['an object', { version: 'beta' }],
    ['an array', ['beta']],
    ['a String object', Object('beta')],
  ])('%s → the default, no throw, with options and with a client', (_what, sv) => {
    const props = { serverVersion: sv as string };
    expect(renderToString(h(GrayProvider, { options: OPTIONS, ...props }, h(Version)))).toBe(
      '<b>stable</b>',
    );
    const client = initGray({ ...OPTIONS, serverVersion: 'canary' });
    // With a client: its own hand-off, exactly as without the prop.
    expect(renderToString(h(GrayProvider, { client, ...props }, h(Version)))).toBe('<b>canary</b>');
    expect(initGray({ ...OPTIONS, serverVersion: sv as string }).getGrayVersion()).toBe('stable');
  });
});

describe('CDF: with a client, options.default must be one of the versions (INVALID_OPTIONS)', () => {
  const client = initGray({ versions: ['stable', 'beta'], default: 'stable' });
  const code = (options: unknown): unknown => {
    try {
      renderToString(h(GrayProvider, { client, options: options as GrayOptions }, h(Version)));
    } catch (e) {
      return isGraylaneError(e) ? e.code : e;
    }
    return 'rendered';
  };
  it.each<[string, unknown]>([
    ['not in options.versions', { versions: ['stable', 'beta'], default: 'canary' }],
    ['not in the client’s versions', { default: 'canary' }],
    ['markup', { default: '<img src=x onerror=alert(1)>' }],
    ['the empty string', { default: '' }],
    ['OWS around a version', { default: ' stable ' }],
    ['upper case', { default: 'STABLE' }],
    ['a number', { default: 1 }],
    ['null', { default: null }],
    ['in the client’s versions but not the options’', { versions: ['x', 'y'], default: 'beta' }],
  ])('%s → INVALID_OPTIONS', (_what, options) => {
    expect(code(options)).toBe('INVALID_OPTIONS');
  });
  it.each<[string, unknown, string]>([
    ['in the client’s versions', { default: 'beta' }, 'beta'],
    ['in options.versions', { versions: ['stable', 'beta'], default: 'stable' }, 'stable'],
    ['no default: the client’s', {}, 'stable'],
  ])('%s → renders', (_what, options, shown) => {
    expect(
      renderToString(h(GrayProvider, { client, options: options as GrayOptions }, h(Version))),
    ).toBe(`<b>${shown}</b>`);
  });
});
