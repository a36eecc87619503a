import http from 'node:http';
import { Writable } from 'node:stream';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grayInterceptor, installGlobal, runWithGray, tryGetGrayVersion } from '../../src/index.js';
import { closeLocal, listenLocal } from './servers.js';

/*
 * CTX-12 (RELIABILITY §10): undici delivers response events from the socket, so on a kept-alive
 * socket a request's body `data`/`end` callbacks, and `pipeline`/`stream` callbacks, run in the
 * async context of whichever request opened the socket — another request's marker. With
 * graylane's undici integration active (grayInterceptor composed, or installGlobal) they run in
 * the context of the request that made the call. Every row: many concurrent requests with
 * different versions over few sockets, a server that streams the body in several chunks.
 */

let server: http.Server;
let origin: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    res.writeHead(200, {
      'content-type': 'text/plain',
      'x-seen-gray-id': String(req.headers['x-gray-id']),
    });
    let n = 0;
    const tick = (): void => {
      if (n++ === 4) return void res.end('end');
      res.write(`chunk-${n}-${'x'.repeat(2048)}\n`);
      setTimeout(tick, 1 + (n % 3));
    };
    tick();
  });
  origin = await listenLocal(server);
});
afterAll(() => closeLocal(server));

const VERSIONS = ['beta', 'stable', 'canary'];

type Seen = Set<string | undefined>;
type Api = (dispatcher: undici.Dispatcher, path: string, seen: Seen) => Promise<void>;

/** The ways to read a response body in undici, each recording the version its callbacks see. */
const APIS: Record<string, Api> = {
  'request body data/end': async (dispatcher, path, seen) => {
    const res = await undici.request(`${origin}${path}`, { dispatcher });
    await new Promise<void>((resolve, reject) => {
      res.body.on('data', () => seen.add(tryGetGrayVersion()));
      res.body.on('end', () => {
        seen.add(tryGetGrayVersion());
        resolve();
      });
      res.body.on('error', reject);
    });
  },
  'request body async iterator': async (dispatcher, path, seen) => {
    const res = await undici.request(`${origin}${path}`, { dispatcher });
    for await (const chunk of res.body) if (chunk) seen.add(tryGetGrayVersion());
  },
  'pipeline handler and output': (dispatcher, path, seen) =>
    new Promise<void>((resolve, reject) => {
      const out = undici.pipeline(`${origin}${path}`, { dispatcher, method: 'GET' }, ({ body }) => {
        seen.add(tryGetGrayVersion());
        return body;
      });
      out.on('data', () => seen.add(tryGetGrayVersion()));
      out.on('end', () => {
        seen.add(tryGetGrayVersion());
        resolve();
      });
      out.on('error', reject);
      out.end();
    }),
  'stream factory and writable': async (dispatcher, path, seen) => {
    await undici.stream(`${origin}${path}`, { dispatcher, method: 'GET' }, () => {
      seen.add(tryGetGrayVersion());
      return new Writable({
        write(_chunk, _enc, cb) {
          seen.add(tryGetGrayVersion());
          cb();
        },
      });
    });
  },
};

/**
 * Your own handler on `dispatcher.dispatch`, legacy (`onData`) and new (`onResponseData`) API:
 * nothing of undici's own API is involved, so only graylane's dispatch-time hook (the
 * interceptor) can tell whose call a queued request is.
 */
const RAW_APIS: Record<string, Api> = {
  'dispatch with a legacy handler (onHeaders/onData/onComplete)': (dispatcher, path, seen) =>
    new Promise<void>((resolve, reject) => {
      const u = new URL(`${origin}${path}`);
      dispatcher.dispatch({ origin: u.origin, path, method: 'GET' }, {
        onConnect: () => undefined,
        onHeaders: () => (seen.add(tryGetGrayVersion()), true),
        onData: () => (seen.add(tryGetGrayVersion()), true),
        onComplete: () => (seen.add(tryGetGrayVersion()), resolve()),
        onError: reject,
      } as unknown as undici.Dispatcher.DispatchHandler);
    }),
  'dispatch with a new-API handler (onResponseStart/onResponseData/onResponseEnd)': (
    dispatcher,
    path,
    seen,
  ) =>
    new Promise<void>((resolve, reject) => {
      const u = new URL(`${origin}${path}`);
      dispatcher.dispatch({ origin: u.origin, path, method: 'GET' }, {
        onRequestStart: () => undefined,
        onResponseStart: () => void seen.add(tryGetGrayVersion()),
        onResponseData: () => void seen.add(tryGetGrayVersion()),
        onResponseEnd: () => (seen.add(tryGetGrayVersion()), resolve()),
        onResponseError: (_c: unknown, err: Error) => reject(err),
      } as unknown as undici.Dispatcher.DispatchHandler);
    }),
};

/** Concurrent calls with mixed versions; each must only ever observe its own. */
async function expectOwnContext(dispatcher: undici.Dispatcher, api: Api): Promise<void> {
  const runs = Array.from({ length: 18 }, (_, i) => {
    const version = VERSIONS[i % VERSIONS.length] as string;
    const seen: Seen = new Set();
    return runWithGray(version, () => api(dispatcher, `/r${i}`, seen)).then(() => ({
      version,
      seen,
    }));
  });
  for (const { version, seen } of await Promise.all(runs)) {
    expect(seen.size, `callbacks observed for ${version}`).toBeGreaterThan(0);
    expect([...seen], `a ${version} request saw another request's context`).toEqual([version]);
  }
}

const DISPATCHERS: Record<string, () => undici.Dispatcher> = {
  'one kept-alive socket (connections: 1)': () => new undici.Agent({ connections: 1 }),
  'a pool of 2 sockets, saturated (requests queued)': () => new undici.Agent({ connections: 2 }),
  'a pipelining client (pipelining: 4)': () => new undici.Client(origin, { pipelining: 4 }),
};

describe('CTX-12 with grayInterceptor composed', () => {
  const apis = { ...APIS, ...RAW_APIS };
  for (const [dname, make] of Object.entries(DISPATCHERS))
    it.each(Object.keys(apis))(
      `CTX-12 %s over ${dname}: every callback in the caller's context`,
      async (name) => {
        const dispatcher = make().compose(grayInterceptor({ allowHosts: ['127.0.0.1'] }));
        try {
          await expectOwnContext(dispatcher, apis[name] as Api);
        } finally {
          await dispatcher.close();
        }
      },
    );
});

it('CTX-12 I7 a saturated pool with grayInterceptor: each queued request goes out with its own version', async () => {
  const dispatcher = new undici.Agent({ connections: 2 }).compose(
    grayInterceptor({ allowHosts: ['127.0.0.1'] }),
  );
  try {
    const runs = Array.from({ length: 24 }, (_, i) => {
      const version = VERSIONS[i % VERSIONS.length] as string;
      return runWithGray(version, async () => {
        const res = await undici.request(`${origin}/q${i}`, { dispatcher });
        await res.body.dump();
        return [version, res.headers['x-seen-gray-id']];
      });
    });
    for (const [version, seen] of await Promise.all(runs)) expect(seen).toBe(version);
  } finally {
    await dispatcher.close();
  }
});

describe('CTX-12 with installGlobal (undici:request:create)', () => {
  let uninstall: () => void = () => {};
  beforeAll(() => {
    uninstall = installGlobal({ allowHosts: ['127.0.0.1'] });
  });
  afterAll(() => uninstall());
  // A pool that queues requests creates them later, from another request's context: the
  // listener finds the caller's context on undici's own handler (I7, see saturated.test.ts).
  for (const [dname, make] of Object.entries(DISPATCHERS))
    it.each(Object.keys(APIS))(
      `CTX-12 %s over ${dname}: every callback in the caller's context`,
      async (name) => {
        const dispatcher = make();
        try {
          await expectOwnContext(dispatcher, APIS[name] as Api);
        } finally {
          await dispatcher.close();
        }
      },
    );
});
