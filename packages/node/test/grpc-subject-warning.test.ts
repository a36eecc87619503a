import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createConfigStore, type RuleDocument } from '@graylane/core';
import {
  createGraylane,
  createGraylaneGrpc,
  getGrayVersion,
  grayGrpcService,
  type GraylaneGrpcOptions,
} from '../src/index.js';

/*
 * Review 133 D2: on a gRPC server `sticky: true` silenced the warning for a `cookie:` split
 * ("Turn on sticky: true (graylane mints an anonymous id)"), but gRPC answers carry no cookies:
 * the id minted for a call was never persisted, so each call was bucketed on a fresh random id —
 * a 5 % ramp put a random 5 % of calls (not of clients) on beta. Now a gRPC engine mints no
 * subject id and keeps the warning, whatever `sticky` says, advising a `header:` or `attr:`
 * subject; a client that sends the cookie in its `cookie` metadata (grpc-web) is bucketed on it,
 * as node:http buckets the same cookie. node:http rows are the control: sticky mints there.
 */

const split = (id: string, bucketBy: string | string[], beta = 5): RuleDocument => ({
  id,
  split: [
    { version: 'beta', weight: beta },
    { version: 'stable', weight: 100 - beta },
  ],
  bucketBy,
});
const config = (...rules: RuleDocument[]) => ({
  versions: ['stable', 'beta'],
  default: 'stable',
  rules,
});

afterEach(() => vi.restoreAllMocks());

function warnings(fn: () => void): string[] {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  fn();
  return warn.mock.calls.map((c) => String(c[0]));
}

const STICKY: readonly (readonly [string, GraylaneGrpcOptions['sticky'] | undefined])[] = [
  ['sticky absent', undefined],
  ['sticky: false', false],
  ['sticky: true', true],
  ['sticky names the cookie', { subjectCookie: 'gid' }],
  ['sticky names another cookie', { subjectCookie: 'other' }],
  ['sticky without the version cookie', { cookie: false }],
];
const COOKIE_CHAINS: readonly (readonly [string, string | string[]])[] = [
  ['cookie:gid', 'cookie:gid'],
  ['two cookies', ['cookie:gid', 'cookie:b']],
];
const BUILDERS = [
  ['createGraylaneGrpc', (o: GraylaneGrpcOptions) => void createGraylaneGrpc(o)],
  ['grayGrpcService', (o: GraylaneGrpcOptions) => void grayGrpcService(o, {})],
] as const;

describe('review 133 D2: gRPC warns for a cookie: split whatever sticky says', () => {
  const rows = BUILDERS.flatMap(([b, build]) =>
    STICKY.flatMap(([s, sticky]) =>
      COOKIE_CHAINS.map(([c, chain]) => [`${b}, ${s}, ${c}`, build, sticky, chain] as const),
    ),
  );
  it.each(rows)('%s', (_name, build, sticky, chain) => {
    const options = {
      config: config(split('ramp', chain)),
      ...(sticky === undefined ? {} : { sticky }),
    };
    const seen = warnings(() => build(options));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain('rule "ramp"');
    expect(seen[0]).toContain('gRPC');
    expect(seen[0]).toMatch(/header:.*attr:/);
    expect(seen[0]).not.toContain('Turn on sticky');
  });

  it.each([
    ['a header subject', split('ramp', 'header:x-user')],
    ['an attr subject', split('ramp', 'attr:userId')],
    ['an attr first, cookie second', split('ramp', ['attr:userId', 'cookie:gid'])],
    ['no split', { id: 'qa', version: 'beta', match: { header: { 'x-qa': { equals: '1' } } } }],
  ] as const)('control, gRPC with sticky: true: %s is quiet', (_name, rule) => {
    expect(warnings(() => createGraylaneGrpc({ config: config(rule), sticky: true }))).toEqual([]);
  });

  it.each([
    ['sticky: true', true, []],
    ['sticky names the cookie', { subjectCookie: 'gid' }, []],
    ['sticky off', false, ['Turn on sticky']],
  ] as const)('control, node:http %s', (_name, sticky, expected) => {
    const seen = warnings(() =>
      createGraylane({ config: config(split('ramp', 'cookie:gid')), sticky }),
    );
    expect(seen.map((m) => (m.includes('Turn on sticky') ? 'Turn on sticky' : m))).toEqual(
      expected,
    );
  });

  it('a reload bringing a cookie: split warns on gRPC with sticky: true, once per rule', () => {
    const store = createConfigStore({ initial: config() });
    const seen = warnings(() => {
      createGraylaneGrpc({ config: store, sticky: true });
      store.update(config(split('late', 'cookie:gid')));
      store.update(config(split('late', 'cookie:gid'), { id: 'qa', version: 'beta' }));
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain('rule "late"');
    expect(seen[0]).toContain('gRPC');
  });
});

// ---- real calls -------------------------------------------------------------------------------

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (buffer: Buffer) => JSON.parse(buffer.toString()) as unknown,
};
const SERVICE = {
  get: {
    path: '/graylane.test.Sticky/Get',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
} satisfies grpc.ServiceDefinition;
type Client = grpc.Client & {
  get(
    req: object,
    md: grpc.Metadata,
    cb: (err: grpc.ServiceError | null, res?: { version: string }) => void,
  ): void;
};
const Sticky = grpc.makeGenericClientConstructor(SERVICE, 'Sticky') as unknown as new (
  address: string,
  creds: grpc.ChannelCredentials,
) => Client;

/** A gRPC server (interceptor or wrapped service) and a client; `calls` answers versions. */
async function grpcLane(
  options: GraylaneGrpcOptions,
  how: 'interceptor' | 'service',
): Promise<{ call(cookie?: string): Promise<string>; close(): void }> {
  const gray = createGraylaneGrpc(options);
  const server = new grpc.Server(
    how === 'interceptor' ? { interceptors: [gray.interceptor(grpc)] } : {},
  );
  const impl = {
    get: (_c: unknown, done: grpc.sendUnaryData<unknown>) =>
      done(null, { version: getGrayVersion() }),
  };
  server.addService(SERVICE, how === 'service' ? gray.service(impl) : impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const client = new Sticky(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    call: (cookie) =>
      new Promise((resolve, reject) => {
        const md = new grpc.Metadata();
        if (cookie !== undefined) md.set('cookie', cookie);
        client.get({}, md, (err, res) => (err ? reject(err) : resolve(res?.version ?? '?')));
      }),
    close: () => {
      client.close();
      server.forceShutdown();
    },
  };
}

/** A node:http server with sticky: true; answers the version and the Set-Cookie it wrote. */
async function httpLane(cfg: ReturnType<typeof config>): Promise<{
  get(cookie?: string): Promise<{ version: string; setCookie: string[] }>;
  close(): void;
}> {
  const gray = createGraylane({ config: cfg, sticky: true });
  const server: Server = createServer((req, res) =>
    gray.handle(req, res, () => res.end(getGrayVersion())),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    get: async (cookie) => {
      const r = await fetch(`http://127.0.0.1:${port}/`, cookie ? { headers: { cookie } } : {});
      return { version: await r.text(), setCookie: r.headers.getSetCookie() };
    },
    close: () => server.close(),
  };
}

describe('review 133 D2: gRPC with sticky: true buckets no call on a minted id', () => {
  // 50 % makes a fresh id per call visible at once: 40 calls all on the default by chance is 2^-40.
  const cfg = config(split('ramp', 'cookie:gid', 50));
  const IDS = ['u-1', 'u-2', 'u-3', 'u-4', 'u-5', 'u-6', 'u-7', 'u-8'];

  it.each(['interceptor', 'service'] as const)(
    '%s: a call without the cookie gets the default, every time',
    async (how) => {
      vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const lane = await grpcLane({ config: cfg, sticky: true }, how);
      try {
        const versions = await Promise.all(Array.from({ length: 40 }, () => lane.call()));
        expect(new Set(versions)).toEqual(new Set(['stable']));
      } finally {
        lane.close();
      }
    },
  );

  it.each(['interceptor', 'service'] as const)(
    'control, %s: a call carrying the cookie (grpc-web) is bucketed on it, as node:http buckets it',
    async (how) => {
      vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const [lane, http] = await Promise.all([
        grpcLane({ config: cfg, sticky: true }, how),
        httpLane(cfg),
      ]);
      try {
        const overGrpc = await Promise.all(IDS.map((id) => lane.call(`gid=${id}`)));
        const again = await Promise.all(IDS.map((id) => lane.call(`sid=1; gid=${id}`)));
        const overHttp = await Promise.all(
          IDS.map(async (id) => (await http.get(`gid=${id}`)).version),
        );
        expect(overGrpc).toEqual(overHttp);
        expect(again).toEqual(overHttp);
        expect(new Set(overHttp)).toEqual(new Set(['stable', 'beta'])); // the rows reach both
      } finally {
        lane.close();
        http.close();
      }
    },
  );

  it('control, node:http with sticky: true mints the id, writes it and buckets on it', async () => {
    const http = await httpLane(cfg);
    try {
      for (let i = 0; i < 6; i++) {
        const first = await http.get();
        const gid = first.setCookie.map((c) => /^gid=([^;]+)/.exec(c)?.[1]).find(Boolean);
        expect(gid, 'the subject cookie is written').toBeDefined();
        expect((await http.get(`gid=${gid}`)).version).toBe(first.version);
      }
    } finally {
      http.close();
    }
  });
});
