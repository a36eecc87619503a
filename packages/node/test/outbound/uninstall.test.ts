import http from 'node:http';
import https from 'node:https';
import * as httpEsm from 'node:http';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { installGlobal, runWithGray } from '../../src/index.js';
import { startTopology, type Topology } from './servers.js';

/*
 * MISC-01 (RELIABILITY §10): `installGlobal()`, then another library wraps `http.request` (an
 * APM agent, a mock, OpenTelemetry's shimmer), then graylane uninstalls: the later wrapper must
 * survive and keep working. Uninstall gives back only what is still graylane's; a graylane
 * wrapper left under someone else's becomes a pass-through.
 */

let topo: Topology;
let seq = 0;
const pristine = { request: http.request, get: http.get, hrequest: https.request, hget: https.get };

beforeAll(async () => {
  topo = await startTopology();
});
afterAll(() => topo.close());
afterEach(() => {
  // Whatever a row did, the next starts from Node's own functions.
  Object.assign(http, { request: pristine.request, get: pristine.get });
  Object.assign(https, { request: pristine.hrequest, get: pristine.hget });
});

type Mod = { request: typeof http.request; get: typeof http.get };

/** Another library's wrapper, in the styles found in the wild. */
interface Lib {
  readonly name: string;
  wrap(mod: Mod): { calls: () => number; unwrap: () => void };
}

const LIBS: Lib[] = [
  {
    name: 'plain reassignment of request and get',
    wrap(mod) {
      let calls = 0;
      const prev = { request: mod.request, get: mod.get };
      mod.request = function lib(this: unknown, ...args: unknown[]) {
        calls++;
        return (prev.request as (...a: unknown[]) => http.ClientRequest).apply(this, args);
      } as typeof http.request;
      mod.get = function libGet(this: unknown, ...args: unknown[]) {
        calls++;
        return (prev.get as (...a: unknown[]) => http.ClientRequest).apply(this, args);
      } as typeof http.get;
      return { calls: () => calls, unwrap: () => Object.assign(mod, prev) };
    },
  },
  {
    name: 'shimmer style (__original / __wrapped), request only',
    wrap(mod) {
      let calls = 0;
      const original = mod.request;
      const wrapped = Object.assign(
        function shimmed(this: unknown, ...args: unknown[]) {
          calls++;
          return (original as (...a: unknown[]) => http.ClientRequest).apply(this, args);
        },
        { __original: original, __wrapped: true },
      );
      mod.request = wrapped as unknown as typeof http.request;
      return {
        calls: () => calls,
        unwrap: () => {
          if (mod.request === (wrapped as unknown)) mod.request = original;
        },
      };
    },
  },
];

function get(url: string, viaGet: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (res: http.IncomingMessage) => res.resume().on('end', resolve);
    const req = viaGet ? http.get(url, done) : http.request(url, done);
    req.on('error', reject);
    if (!viaGet) req.end();
  });
}

async function marker(viaGet = false): Promise<string[] | undefined> {
  const id = `u${++seq}`;
  await runWithGray('beta', () => get(`${topo.a.origin}/echo/${id}`, viaGet), {
    allowHosts: [`127.0.0.1:${topo.ports.a}`],
  });
  return topo.hops(id)[0]?.grayIds;
}

describe.each(LIBS.map((l) => [l.name, l] as const))('MISC-01 with %s', (_name, lib) => {
  it('MISC-01 installGlobal → library wraps → uninstall: the library stays, works, and graylane adds nothing', async () => {
    const uninstall = installGlobal();
    const wrapper = lib.wrap(http);
    expect(await marker()).toEqual(['beta']);
    const libRequest = http.request;
    uninstall();
    expect(http.request).toBe(libRequest);
    const before = wrapper.calls();
    expect(await marker()).toEqual([]);
    expect(await marker(true)).toEqual([]);
    expect(wrapper.calls()).toBeGreaterThan(before);
    expect(httpEsm.request).toBe(http.request); // ESM named exports follow (syncBuiltinESMExports)
  });

  it('MISC-01 … then the library unwraps too: Node works, graylane adds nothing', async () => {
    const uninstall = installGlobal();
    const wrapper = lib.wrap(http);
    uninstall();
    wrapper.unwrap();
    expect(await marker()).toEqual([]);
    expect(await marker(true)).toEqual([]);
  });

  it("MISC-01 library unwraps first, then uninstall: Node's own functions are back", async () => {
    const uninstall = installGlobal();
    const wrapper = lib.wrap(http);
    wrapper.unwrap();
    uninstall();
    expect(http.request).toBe(pristine.request);
    expect(http.get).toBe(pristine.get);
    expect(await marker()).toEqual([]);
  });

  it('MISC-01 reinstall over the library and the old graylane wrapper: the marker once, never twice', async () => {
    const first = installGlobal();
    lib.wrap(http);
    first();
    const second = installGlobal();
    try {
      expect(await marker()).toEqual(['beta']);
      expect(await marker(true)).toEqual(['beta']);
    } finally {
      second();
    }
    expect(await marker()).toEqual([]);
  });

  it('MISC-01 the same on https: the library wrapper survives uninstall', () => {
    const uninstall = installGlobal();
    lib.wrap(https);
    const libRequest = https.request;
    uninstall();
    expect(https.request).toBe(libRequest);
  });
});

it('MISC-01 uninstall is idempotent and a second installGlobal is a no-op while one is active', async () => {
  const uninstall = installGlobal();
  const noop = installGlobal();
  noop();
  expect(await marker()).toEqual(['beta']);
  uninstall();
  uninstall();
  expect(http.request).toBe(pristine.request);
  expect(await marker()).toEqual([]);
});
