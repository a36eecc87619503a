import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  grayGrpcInterceptor,
  installGlobal,
  runWithGray,
  tryGetGrayVersion,
} from '../../src/index.js';
import { MAX_TAGGED_CALLS } from '../../src/outbound/http2-grpc.js';
import { http2State } from '../../src/outbound/state.js';

/*
 * gRPC over `@grpc/grpc-js` (RELIABILITY OUT-01/02/03, I7, I8). grpc-js makes every call with
 * `ClientHttp2Session.request()`, but starts the calls made while its channel connects later, from
 * the context of the call that connected it (measured: three lanes' first calls all started in the
 * first lane's context). So `installGlobal()` alone cannot tell whose a grpc-js request is: it adds
 * no marker to one — never another call's — and only removes markers where they may not go.
 * `grayGrpcInterceptor()` reads the lane when the call is made and hands it to that judgement; the
 * call's callbacks run in the caller's context too. Before, gRPC carried no marker at all.
 */

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (buffer: Buffer) => JSON.parse(buffer.toString()) as unknown,
};
const SERVICE = {
  echo: {
    path: '/graylane.test.Lanes/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
  watch: {
    path: '/graylane.test.Lanes/Watch',
    requestStream: false,
    responseStream: true,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
} satisfies grpc.ServiceDefinition;

/** What a handler saw of one call's metadata. */
interface Seen {
  readonly marker: string[];
  readonly lane: string[];
  readonly baggage: string[];
  readonly token: string[];
}
interface LanesClient extends grpc.Client {
  echo(
    req: unknown,
    metadata: grpc.Metadata,
    callback: (err: grpc.ServiceError | null, res?: Seen) => void,
  ): grpc.ClientUnaryCall;
  watch(req: unknown, metadata?: grpc.Metadata): grpc.ClientReadableStream<Seen>;
}
const Lanes = grpc.makeGenericClientConstructor(SERVICE, 'Lanes') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => LanesClient;

const seenOf = (metadata: grpc.Metadata): Seen => {
  const text = (key: string) => metadata.get(key).map(String);
  return {
    marker: text('x-gray-id'),
    lane: text('x-lane'),
    baggage: text('baggage'),
    token: text('graylane-call'),
  };
};

let server: grpc.Server;
let port: number;
const clients = new Set<grpc.Client>();
let uninstall: (() => void) | undefined;

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(SERVICE, {
    echo: (call: grpc.ServerUnaryCall<unknown, Seen>, done: grpc.sendUnaryData<Seen>) =>
      done(null, seenOf(call.metadata)),
    watch: (call: grpc.ServerWritableStream<unknown, Seen>) => {
      call.write(seenOf(call.metadata));
      call.write(seenOf(call.metadata));
      call.end();
    },
  });
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
});
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
  for (const c of clients) c.close();
  clients.clear();
});
afterAll(() => server.forceShutdown());

const ALLOW = () => [`127.0.0.1:${port}`];

function client(
  host = '127.0.0.1',
  interceptors: grpc.Interceptor[] = [grayGrpcInterceptor(grpc)],
): LanesClient {
  const c = new Lanes(`${host}:${port}`, grpc.credentials.createInsecure(), { interceptors });
  clients.add(c);
  return c;
}

/** A unary call; resolves with what the server saw and the lane its callback ran in. */
function echo(
  c: LanesClient,
  metadata = new grpc.Metadata(),
): Promise<Seen & { cb: string | undefined }> {
  return new Promise((resolve, reject) =>
    c.echo({}, metadata, (err, res) =>
      err || !res
        ? reject(err ?? new Error('no response'))
        : resolve({ ...res, cb: tryGetGrayVersion() }),
    ),
  );
}

/** A server-streaming call; resolves with every message. */
function watch(c: LanesClient): Promise<Seen[]> {
  return new Promise((resolve, reject) => {
    const out: Seen[] = [];
    const call = c.watch({});
    call.on('data', (m: Seen) => out.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
}

const carried = (version: string): Partial<Seen> => ({
  marker: [version],
  baggage: [`gray=${version}`],
  token: [],
});
const none: Partial<Seen> = { marker: [], baggage: [], token: [] };

describe('grpc-js with grayGrpcInterceptor and installGlobal', () => {
  it('OUT-01 a unary call inside a lane: the handler sees the marker and the gray member, no token', async () => {
    uninstall = installGlobal({ allowHosts: ALLOW() });
    const c = client();
    expect(await runWithGray('beta', () => echo(c))).toMatchObject({
      ...carried('beta'),
      cb: 'beta',
    });
    expect(await runWithGray('canary', () => echo(c))).toMatchObject(carried('canary'));
  });

  it('OUT-01 a server-streaming call inside a lane', async () => {
    uninstall = installGlobal();
    const c = client();
    const messages = await runWithGray('canary', () => watch(c), { allowHosts: ALLOW() });
    expect(messages).toHaveLength(2);
    for (const m of messages) expect(m).toMatchObject(carried('canary'));
  });

  it('OUT-01 the configured header name and baggage key', async () => {
    uninstall = installGlobal();
    const seen = await runWithGray('beta', () => echo(client()), {
      allowHosts: ALLOW(),
      header: 'X-Lane',
      baggageKey: false,
    });
    expect(seen).toMatchObject({ lane: ['beta'], marker: [], baggage: [], token: [] });
  });

  it('OUT-07 outside any lane: nothing', async () => {
    uninstall = installGlobal({ allowHosts: ALLOW() });
    expect(await echo(client())).toMatchObject(none);
  });

  it('OUT-02/I8 a channel to a target that is not allowlisted (localhost spelling): nothing, a caller’s marker and member removed', async () => {
    uninstall = installGlobal({ allowHosts: ALLOW() });
    const c = client('localhost');
    expect(await runWithGray('beta', () => echo(c))).toMatchObject(none);
    const metadata = new grpc.Metadata();
    metadata.set('x-gray-id', 'stable');
    metadata.set('baggage', 'gray=stable,a=1');
    const seen = await runWithGray('beta', () => echo(c, metadata));
    expect(seen).toMatchObject({ marker: [], baggage: ['a=1'], token: [] });
    expect(metadata.get('x-gray-id')).toEqual(['stable']);
  });

  it('OUT-03 a marker the caller put in the metadata is kept on an allowlisted target', async () => {
    uninstall = installGlobal({ allowHosts: ALLOW() });
    const metadata = new grpc.Metadata();
    metadata.set('x-gray-id', 'stable');
    const seen = await runWithGray('beta', () => echo(client(), metadata));
    expect(seen).toMatchObject({ marker: ['stable'], token: [] });
    expect(metadata.get('graylane-call')).toEqual([]);
  });

  it('I7 calls from three lanes made while the channel connects: each its own version, each callback in its own lane', async () => {
    uninstall = installGlobal({ allowHosts: ALLOW() });
    for (let round = 0; round < 3; round++) {
      const c = client();
      const lanes = ['beta', 'canary', 'stable', 'beta', 'canary'];
      const seen = await Promise.all(lanes.map((v) => runWithGray(v, () => echo(c))));
      expect(seen.map((s) => [s.marker, s.cb])).toEqual(lanes.map((v) => [[v], v]));
    }
    expect(http2State().calls.size, 'every tagged call released').toBe(0);
  });
});

describe('grpc-js without the interceptor, or without installGlobal', () => {
  it('I7 installGlobal alone: calls queued while the channel connects never carry another call’s lane (passes on the old source; fails if grpc-js requests were judged on the context they start in)', async () => {
    uninstall = installGlobal({ allowHosts: ALLOW() });
    for (let round = 0; round < 3; round++) {
      const c = client('127.0.0.1', []);
      const lanes = ['beta', 'canary', 'stable'];
      const seen = await Promise.all(lanes.map((v) => runWithGray(v, () => echo(c))));
      // Added by neither: the context grpc-js starts them in is not provably theirs.
      for (const [i, s] of seen.entries()) expect(s.marker, lanes[i]).toEqual([]);
      // Steady state too: a grpc-js request is never judged on the context it is started in.
      expect((await runWithGray('canary', () => echo(c))).marker).toEqual([]);
    }
  });

  it('OUT-02 installGlobal alone removes a caller’s marker on a target that is not allowlisted, keeps it on one that is', async () => {
    uninstall = installGlobal({ allowHosts: ALLOW() });
    const metadata = () => {
      const m = new grpc.Metadata();
      m.set('x-gray-id', 'stable');
      m.set('baggage', 'gray=stable');
      return m;
    };
    const inside = await runWithGray('beta', () => echo(client('127.0.0.1', []), metadata()));
    const outside = await runWithGray('beta', () => echo(client('localhost', []), metadata()));
    expect(inside).toMatchObject({ marker: ['stable'], baggage: ['gray=stable'] });
    expect(outside).toMatchObject({ marker: [], baggage: [] });
  });

  it('the interceptor without installGlobal (or after uninstall) adds nothing and no token (control: passes on the old source)', async () => {
    const c = client();
    expect(await runWithGray('beta', () => echo(c), { allowHosts: ALLOW() })).toMatchObject(none);
    installGlobal({ http2: false })();
    const done = installGlobal({ http2: false });
    expect(await runWithGray('beta', () => echo(c), { allowHosts: ALLOW() })).toMatchObject(none);
    done();
  });

  it(`past ${MAX_TAGGED_CALLS} unfinished tagged calls a call is not tagged: nothing carried (bounded)`, async () => {
    uninstall = installGlobal({ allowHosts: ALLOW() });
    const calls = http2State().calls;
    const filler = Array.from({ length: MAX_TAGGED_CALLS }, (_, i) => `filler.${i}`);
    for (const t of filler) calls.set(t, undefined as never);
    try {
      expect(await runWithGray('beta', () => echo(client()))).toMatchObject(none);
    } finally {
      for (const t of filler) calls.delete(t);
    }
    expect(await runWithGray('beta', () => echo(client()))).toMatchObject(carried('beta'));
  });
});
