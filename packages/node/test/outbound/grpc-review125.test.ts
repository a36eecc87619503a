import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  grayGrpcInterceptor,
  installGlobal,
  runWithGray,
  tryGetGrayVersion,
} from '../../src/index.js';

/*
 * Review 125 (grpc-js from the tarballs):
 * D1 grpc-js delivers the callbacks of calls queued while its channel connects in the context of
 *    the call that connected it: a call made outside any lane, beside one in lane beta, ran its
 *    callbacks in beta and an http call from them sent `x-gray-id: beta` (I7).
 * D2 a `unix:` target is opened as `localhost`: with `localhost` allowlisted, another server on a
 *    Unix socket got the marker (for `http`, a `socketPath` is never allowlisted; I8).
 * D3 `grayGrpcInterceptor(notGrpc)` was accepted and every call then threw a raw TypeError.
 */

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (buffer: Buffer) => JSON.parse(buffer.toString()) as unknown,
};
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/graylane.test.Review/${name}`,
  requestStream,
  responseStream,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
});
const SERVICE = {
  unary: method('Unary', false, false),
  serverStream: method('ServerStream', false, true),
  clientStream: method('ClientStream', true, false),
  bidi: method('Bidi', true, true),
} satisfies grpc.ServiceDefinition;

type Marker = { marker: string[] };
const markerOf = (m: grpc.Metadata): Marker => ({ marker: m.get('x-gray-id').map(String) });

const Client = grpc.makeGenericClientConstructor(SERVICE, 'Review') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => grpc.Client & Record<keyof typeof SERVICE, (...args: unknown[]) => unknown>;

const implementation = {
  unary: (call: grpc.ServerUnaryCall<unknown, Marker>, done: grpc.sendUnaryData<Marker>) =>
    done(null, markerOf(call.metadata)),
  serverStream: (call: grpc.ServerWritableStream<unknown, Marker>) => {
    call.write(markerOf(call.metadata));
    call.end();
  },
  clientStream: (
    call: grpc.ServerReadableStream<unknown, Marker>,
    done: grpc.sendUnaryData<Marker>,
  ) => {
    call.on('data', () => {});
    call.on('end', () => done(null, markerOf(call.metadata)));
  },
  bidi: (call: grpc.ServerDuplexStream<unknown, Marker>) => {
    call.on('data', () => call.write(markerOf(call.metadata)));
    call.on('end', () => call.end());
  },
};

let tcp: grpc.Server;
let unix: grpc.Server;
let port: number;
let dir: string;
let socketPath: string;
let sink: http.Server;
let sinkPort: number;
const sinkSeen = new Map<string, string | undefined>();
let hopSeq = 0;
const clients = new Set<grpc.Client>();
let uninstall: (() => void) | undefined;

function bind(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
}

beforeAll(async () => {
  tcp = new grpc.Server();
  tcp.addService(SERVICE, implementation);
  port = await bind(tcp, '127.0.0.1:0');
  dir = mkdtempSync(join(tmpdir(), 'graylane-grpc-'));
  socketPath = join(dir, 's.sock');
  unix = new grpc.Server();
  unix.addService(SERVICE, implementation);
  await bind(unix, `unix:${socketPath}`);
  sink = http.createServer((req, res) => {
    sinkSeen.set(req.url ?? '', req.headers['x-gray-id'] as string | undefined);
    res.end();
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkPort = (sink.address() as { port: number }).port;
});
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
  for (const c of clients) c.close();
  clients.clear();
});
afterAll(() => {
  tcp.forceShutdown();
  unix.forceShutdown();
  sink.close();
  rmSync(dir, { recursive: true, force: true });
});

function client(target: string, interceptors: grpc.Interceptor[] = [grayGrpcInterceptor(grpc)]) {
  const c = new Client(target, grpc.credentials.createInsecure(), { interceptors });
  clients.add(c);
  return c;
}

type Kind = keyof typeof SERVICE;
const KINDS: readonly Kind[] = ['unary', 'serverStream', 'clientStream', 'bidi'];

/** One call of `kind`; resolves with what the server saw and the lane its last callback ran in. */
function call(
  c: ReturnType<typeof client>,
  kind: Kind,
): Promise<Marker & { cb: string | undefined }> {
  return new Promise((resolve, reject) => {
    const done = (err: unknown, res?: Marker) =>
      err || !res
        ? reject(err ?? new Error('no response'))
        : resolve({ ...res, cb: tryGetGrayVersion() });
    if (kind === 'unary') {
      c.unary({}, new grpc.Metadata(), done);
    } else if (kind === 'clientStream') {
      const s = c.clientStream(new grpc.Metadata(), done) as grpc.ClientWritableStream<unknown>;
      s.write({});
      s.end();
    } else {
      const s = (
        kind === 'serverStream' ? c.serverStream({}) : c.bidi()
      ) as grpc.ClientDuplexStream<unknown, Marker>;
      let last: Marker | undefined;
      let cb: string | undefined = 'unset';
      s.on('data', (m: Marker) => {
        last = m;
        cb = tryGetGrayVersion();
      });
      s.on('error', reject);
      s.on('end', () =>
        last
          ? resolve({
              ...last,
              cb:
                cb === tryGetGrayVersion()
                  ? cb
                  : `data:${String(cb)}/end:${String(tryGetGrayVersion())}`,
            })
          : reject(new Error('no message')),
      );
      if (kind === 'bidi') {
        s.write({});
        s.end();
      }
    }
  });
}

/** An http call from a callback: what the next hop got. */
async function hopFromCallback(): Promise<string | undefined> {
  const path = `/hop-${++hopSeq}`;
  await new Promise<void>((resolve, reject) =>
    http
      .get(`http://127.0.0.1:${sinkPort}${path}`, (res) => res.resume().on('end', resolve))
      .on('error', reject),
  );
  return sinkSeen.get(path);
}

describe('review 125 D1: callbacks of a call made outside any lane never run in another call’s lane', () => {
  for (const kind of KINDS)
    for (const withGlobal of [true, false])
      it(`I7 ${kind}, ${withGlobal ? 'with' : 'without'} installGlobal: lane calls and no-lane calls queued while the channel connects`, async () => {
        if (withGlobal)
          uninstall = installGlobal({ allowHosts: [`127.0.0.1:${port}`, `127.0.0.1:${sinkPort}`] });
        for (let round = 0; round < 2; round++) {
          const c = client(`127.0.0.1:${port}`);
          const plan = ['beta', undefined, 'canary', undefined, undefined, 'beta'] as const;
          const seen = await Promise.all(
            plan.map((v) =>
              v === undefined ? call(c, kind) : runWithGray(v, () => call(c, kind)),
            ),
          );
          expect(seen.map((s) => s.cb)).toEqual([...plan]);
          if (withGlobal)
            expect(seen.map((s) => s.marker)).toEqual(plan.map((v) => (v ? [v] : [])));
        }
      });

  it('I7/I8 an http call from a no-lane call’s callback sends no marker (it sent the connecting call’s beta)', async () => {
    uninstall = installGlobal({ allowHosts: [`127.0.0.1:${port}`, `127.0.0.1:${sinkPort}`] });
    const c = client(`127.0.0.1:${port}`);
    const hop = () =>
      new Promise<string | undefined>((resolve, reject) =>
        c.unary({}, new grpc.Metadata(), (err: unknown) =>
          err ? reject(err) : resolve(hopFromCallback()),
        ),
      );
    const hops = await Promise.all([runWithGray('beta', hop), hop(), hop()]);
    expect(hops).toEqual(['beta', undefined, undefined]);
  });
});

describe('review 125 D2: a unix: target is never allowlisted (grpc-js opens it as localhost)', () => {
  const allowLists = [
    ['localhost'],
    ['localhost:80'],
    ['http://localhost'],
    [/^http:\/\/localhost(:\d+)?$/],
  ];
  for (const allowHosts of allowLists)
    for (const target of ['unix:SOCKET', 'unix://SOCKET'])
      for (const kind of ['unary', 'bidi'] as const)
        it(`I8 ${target} with allowHosts ${String(allowHosts[0])}, ${kind}: no marker, a caller’s removed`, async () => {
          uninstall = installGlobal({ allowHosts });
          const c = client(target.replace('SOCKET', socketPath));
          expect((await runWithGray('beta', () => call(c, kind))).marker).toEqual([]);
          const m = new grpc.Metadata();
          m.set('x-gray-id', 'stable');
          const seen = await new Promise<Marker>((resolve, reject) =>
            c.unary({}, m, (err: unknown, res?: Marker) =>
              err || !res ? reject(err) : resolve(res),
            ),
          );
          expect(seen.marker).toEqual([]);
        });

  it('control: the same allowlist over TCP to localhost carries the marker', async () => {
    uninstall = installGlobal({ allowHosts: [`localhost:${port}`] });
    const c = client(`localhost:${port}`);
    expect((await runWithGray('beta', () => call(c, 'unary'))).marker).toEqual(['beta']);
  });
});

describe('review 125 D3: grayGrpcInterceptor refuses what is not the grpc-js module', () => {
  const junk: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['{}', {}],
    ['a number', 5],
    ['a string', '@grpc/grpc-js'],
    ['a module without InterceptingCall', { Metadata: grpc.Metadata }],
    ['InterceptingCall not a function', { InterceptingCall: {} }],
  ];
  for (const [name, value] of junk)
    it(`INVALID_OPTIONS at the call for ${name}`, () => {
      expect(() => grayGrpcInterceptor(value as typeof grpc)).toThrow(
        expect.objectContaining({
          code: 'INVALID_OPTIONS',
          message: expect.stringContaining('grayGrpcInterceptor'),
        }),
      );
    });
});
