import { existsSync, readFileSync } from 'node:fs';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';

const dist = (f: string) => new URL(`../dist/${f}`, import.meta.url);

describe('built core bundle', () => {
  it.each(['index.js', 'index.cjs'])(
    '%s imports no module at all (no node:, no require)',
    (file) => {
      expect(existsSync(dist(file)), 'run the build first (npm test builds)').toBe(true);
      const code = readFileSync(dist(file), 'utf8');
      expect(code).not.toMatch(/["']node:/);
      expect(code).not.toMatch(/\brequire\(/);
      expect(code).not.toMatch(/^import .* from /m);
    },
  );

  it('loads and decides in a bare ES2022 realm with no DOM and no Node globals', () => {
    const code = readFileSync(dist('index.cjs'), 'utf8');
    const realm = vm.createContext({});
    expect(
      vm.runInContext('typeof process + typeof document + typeof window + typeof Buffer', realm),
    ).toBe('undefinedundefinedundefinedundefined');
    const mod = { exports: {} as Record<string, unknown> };
    vm.runInContext(`(function (module, exports) { ${code}\n })`, realm)(mod, mod.exports);
    const run = vm.runInContext(
      `(function (core) {
        const config = core.parseConfig({ versions: ['stable', 'beta'], default: 'stable',
          rules: [{ id: 'r', split: [{ version: 'beta', weight: 50 }, { version: 'stable', weight: 50 }], bucketBy: 'attr:u',
                    window: { from: '2026-01-01T00:00:00Z' } }] });
        const d = core.decide(config, { attrs: { u: 'x' }, now: Date.parse('2026-06-01T00:00:00Z') });
        const store = core.createConfigStore({ initial: config });
        store.update('{"versions":["stable"],"default":"stable"}');
        return [d.reason, core.parseMarker('beta', config).kind, core.readCookie('gray=beta', 'gray').kind,
                core.readBaggageMember('gray=beta', 'gray').kind, store.get().version, typeof core.bucket('a', 'b'),
                core.shouldPropagate('https://a.example/', { allow: ['https://a.example'] })].join(',');
      })`,
      realm,
    );
    // shouldPropagate fails closed where the realm has no URL implementation.
    expect(run(mod.exports)).toBe('weight,valid,value,value,2,number,false');
  });

  it('runs the inbound engine and verifies a signed marker in a bare ES2022 realm', () => {
    const code = readFileSync(dist('index.cjs'), 'utf8');
    const realm = vm.createContext({});
    const mod = { exports: {} as Record<string, unknown> };
    vm.runInContext(`(function (module, exports) { ${code}\n })`, realm)(mod, mod.exports);
    const run = vm.runInContext(
      `(function (core) {
        const engine = core.createInboundEngine({ config: { versions: ['stable', 'beta'], default: 'stable' }, trust: 'signed',
          keys: { k1: 'a-signing-key-of-at-least-32-byte' }, now: () => 1800000000000 }, { randomId: () => 'id' });
        const headers = { 'x-gray-id': 'beta.1800003600.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };
        const carrier = { header: (n) => headers[n], headers, method: 'GET', url: '/', host: 'a', secure: false, remoteAddress: undefined };
        const prepared = engine.prepare(carrier, null);
        const out = engine.complete(prepared, [false]);
        return [prepared.signatureChecks.length, out.decision.reason, core.encodeBase64Url(core.utf8Encode('灰'))].join(',');
      })`,
      realm,
    );
    expect(run(mod.exports)).toBe('1,bad_signature,54Gw');
  });
});

describe('built core bundle: load-time work and weak references', () => {
  it('importing one function keeps nothing that constructs at load (tree-shaking, browser budgets)', async () => {
    const { build } = await import('esbuild');
    // core is one file: any statement at its top level that is not pure lands in every bundle.
    const out = await build({
      stdin: {
        contents: `import { isVersionLabel } from ${JSON.stringify(dist('index.js').pathname)}; console.log(isVersionLabel);`,
        resolveDir: process.cwd(),
      },
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    });
    const code = out.outputFiles[0]?.text ?? '';
    expect(code).toContain('console.log');
    expect(code).not.toMatch(/\bnew\s/);
    expect(code).not.toMatch(/FinalizationRegistry|WeakRef|WeakMap|subscribe/);
  });

  it.each([
    ['with WeakRef and FinalizationRegistry', ''],
    [
      'without them (Workers without enable_weak_ref)',
      'delete globalThis.WeakRef; delete globalThis.FinalizationRegistry;',
    ],
  ])('an engine on a shared store warns on reload %s', (_label, prelude) => {
    const code = readFileSync(dist('index.cjs'), 'utf8');
    const realm = vm.createContext({});
    vm.runInContext(prelude, realm);
    const mod = { exports: {} as Record<string, unknown> };
    vm.runInContext(`(function (module, exports) { ${code}\n })`, realm)(mod, mod.exports);
    const run = vm.runInContext(
      `(function (core) {
        const warnings = [];
        const store = core.createConfigStore({ initial: { versions: ['stable', 'beta'], default: 'stable' } });
        const engine = core.createInboundEngine({ config: store }, { randomId: () => 'id', warn: (m) => warnings.push(m) });
        store.update({ versions: ['stable', 'beta'], default: 'stable', rules: [{ id: 'ramp',
          split: [{ version: 'beta', weight: 50 }, { version: 'stable', weight: 50 }], bucketBy: 'cookie:uid' }] });
        const carrier = { header: () => undefined, headers: {}, method: 'GET', url: '/', host: 'a', secure: false, remoteAddress: undefined };
        return [typeof WeakRef, warnings.length, /"ramp"/.test(warnings[0] ?? ''), engine.evaluate(carrier, null).decision.version].join(',');
      })`,
      realm,
    );
    expect(run(mod.exports)).toBe(`${prelude ? 'undefined' : 'function'},1,true,stable`);
  });
});
