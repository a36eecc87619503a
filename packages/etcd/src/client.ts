import { Etcd3 } from 'etcd3';
import { noop } from 'cockatiel';
import { GraylaneError } from '@graylane/core';
import {
  ETCD_DIAL_TIMEOUT_MS,
  ETCD_KEEPALIVE_TIME_MS,
  ETCD_KEEPALIVE_TIMEOUT_MS,
  ETCD_REQUEST_TIMEOUT_MS,
} from './constants.js';

/** A key-value pair as etcd3 returns it. */
export interface EtcdKeyValueLike {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Decimal string of the revision that last modified the key. */
  readonly mod_revision: string;
}

/** A range response: the kvs and the store revision it was read at. */
export interface EtcdRangeResponseLike {
  /** `cluster_id` changes when a cluster is rebuilt or restored as a new cluster (SRC-01). */
  readonly header: { readonly revision: string; readonly cluster_id?: string | undefined };
  readonly kvs: readonly EtcdKeyValueLike[];
}

/** One watch response (events, or a progress notification with none). */
export interface EtcdWatchResponseLike {
  readonly header: { readonly revision: string };
  readonly events: readonly { readonly type: string; readonly kv: EtcdKeyValueLike }[];
}

/** The slice of etcd3's `Watcher` the source uses. */
export interface EtcdWatcherLike {
  on(event: 'data', handler: (res: EtcdWatchResponseLike) => void): unknown;
  on(event: 'disconnected', handler: (err: Error) => void): unknown;
  on(event: 'error', handler: (err: Error) => void): unknown;
  cancel(): Promise<void>;
}

/** The slice of etcd3's `WatchBuilder` the source uses. */
export interface EtcdWatchBuilderLike {
  key(key: string): EtcdWatchBuilderLike;
  startRevision(revision: string): EtcdWatchBuilderLike;
  create(): Promise<EtcdWatcherLike>;
}

/**
 * The slice of etcd3's `Etcd3` client the source uses. Pass a real `new Etcd3(...)` (or a
 * namespace) or a test fake.
 */
export interface EtcdClientLike {
  get(key: string): { exec(): Promise<EtcdRangeResponseLike> };
  watch(): EtcdWatchBuilderLike;
  close(): void;
}

/** TLS material, PEM-encoded (file contents, not paths). */
export interface EtcdTlsOptions {
  /** CA certificate(s) that signed the etcd server's certificate. Default: the system roots. */
  readonly ca?: string | Uint8Array | undefined;
  /** Client certificate chain, for etcd's `--client-cert-auth`. Needs `key`. */
  readonly cert?: string | Uint8Array | undefined;
  /** Client private key. Needs `cert`. */
  readonly key?: string | Uint8Array | undefined;
}

/** Options for the client {@link createEtcdClient} builds. */
export interface EtcdClientOptions {
  /** Endpoints: `http://host:2379`, or `https://host:2379` for TLS. */
  readonly hosts: string | readonly string[];
  readonly auth?: { readonly username: string; readonly password: string } | undefined;
  /** TLS material; with `https://` hosts and no `tls`, the system roots verify the server. */
  readonly tls?: EtcdTlsOptions | undefined;
  readonly requestTimeoutMs?: number | undefined;
  readonly dialTimeoutMs?: number | undefined;
  /**
   * gRPC keepalive pings, which end a watch on a connection that went silent (a partition that
   * drops packets, a frozen member) so the source never stays `ready` while deaf. Default: a ping
   * after 10 s idle, 5 s to answer. `false` turns it off (not recommended).
   */
  readonly keepalive?: EtcdKeepaliveOptions | false | undefined;
}

/** gRPC keepalive timings (see {@link EtcdClientOptions.keepalive}). */
export interface EtcdKeepaliveOptions {
  /** Idle time before a ping. Default 10 s; etcd closes connections that ping more often than its `--grpc-keepalive-min-time` (5 s). */
  readonly timeMs?: number | undefined;
  /** How long a ping may go unanswered before the connection is closed. Default 5 s. */
  readonly timeoutMs?: number | undefined;
}

/**
 * An etcd3 client tuned for a rule source: etcd3's own retries and circuit breaker are off, so
 * the source's backoff (1 s doubling to 60 s, ±20 %) is the only retry schedule; unary calls get
 * a deadline; keepalive pings close a connection that went silent, so a watch never hangs on it;
 * every call requires a leader ({@link requireLeaderInterceptor}), so a member cut off from the
 * majority ends the watch instead of keeping it open and silent.
 *
 * @example
 * ```ts
 * const client = createEtcdClient({ hosts: 'http://127.0.0.1:2379' });
 * ```
 */
export function createEtcdClient(options: EtcdClientOptions): EtcdClientLike {
  if (typeof options !== 'object' || options === null)
    throw new GraylaneError(
      'INVALID_OPTIONS',
      'createEtcdClient: options are required ({ hosts })',
    );
  return createEtcd3(options);
}

/** The etcd3 client behind {@link createEtcdClient} (and the document helpers). */
export function createEtcd3(options: EtcdClientOptions): Etcd3 {
  const timeout = options.requestTimeoutMs ?? ETCD_REQUEST_TIMEOUT_MS;
  const problem = clientOptionsProblem(options);
  if (problem !== undefined) throw new GraylaneError('INVALID_OPTIONS', `etcd client: ${problem}`);
  return new Etcd3({
    hosts: typeof options.hosts === 'string' ? [options.hosts] : [...options.hosts],
    ...(options.auth
      ? { auth: { username: options.auth.username, password: options.auth.password } }
      : {}),
    ...(options.tls ? { credentials: credentials(options.tls) } : {}),
    dialTimeout: options.dialTimeoutMs ?? ETCD_DIAL_TIMEOUT_MS,
    grpcOptions: {
      ...(options.keepalive === false ? {} : keepalive(options.keepalive ?? {})),
      interceptors: [requireLeaderInterceptor],
    },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    faultHandling: { host: () => noop, global: noop },
  });
}

/**
 * True when a host carries a userinfo part (`user@`, `user:pass@`). etcd endpoints never contain
 * `@`, so any `@` (a password may hold `@`, `/` or `%40`) is treated as credentials: gRPC would
 * resolve `dns:user:pass@host` and echo it in every error (MISC-03).
 */
function hasUserinfo(host: string): boolean {
  return host.includes('@');
}

/**
 * What makes client options unusable, or `undefined`: no endpoint, credentials in a host URL
 * (use `auth`), a mix of `http://` and
 * `https://` endpoints (etcd3 refuses it), a TLS client certificate without its key or the other
 * way round. Such options can never work, so they are reported once — the client throws, the
 * source stops at start — instead of failing in a retry loop (FLT-04: retrying cannot help).
 *
 * @example
 * ```ts
 * clientOptionsProblem({ hosts: ['https://a:2379', 'http://b:2379'] }); // '`hosts` mixes …'
 * ```
 */
export function clientOptionsProblem(options: {
  readonly hosts?: string | readonly string[] | undefined;
  readonly tls?: EtcdTlsOptions | undefined;
}): string | undefined {
  const hosts = typeof options.hosts === 'string' ? [options.hosts] : (options.hosts ?? []);
  if (hosts.length === 0 || hosts.some((h) => typeof h !== 'string' || h.trim() === ''))
    return '`hosts` needs at least one endpoint, e.g. http://127.0.0.1:2379';
  const withCredentials = hosts.findIndex(hasUserinfo);
  if (withCredentials >= 0)
    return `\`hosts\` entry ${withCredentials + 1} has a user name or password in it (user:password@); pass credentials with the \`auth\` option, never in a host URL (it would end up in error messages and logs)`;
  const secure = hosts.filter((h) => h.toLowerCase().startsWith('https://')).length;
  if (secure > 0 && secure < hosts.length)
    return '`hosts` mixes https:// and http:// endpoints; use one scheme for all';
  if (options.tls && (options.tls.cert === undefined) !== (options.tls.key === undefined))
    return 'tls `cert` and `key` go together (a client certificate and its private key)';
  return undefined;
}

/** The part of a grpc-js call an interceptor touches (grpc-js is etcd3's dependency, not ours). */
interface GrpcInterceptingCall {
  start(metadata: { set(key: string, value: string): void }, listener: unknown): void;
}

/**
 * A grpc-js client interceptor that puts etcd's require-leader metadata (`hasleader: true`, Go's
 * `clientv3.WithRequireLeader`) on every call. A member that has no leader — cut off from the
 * majority, or the majority is down — then fails reads with `etcdserver: no leader` and cancels
 * open watches with it (after about three election timeouts), instead of answering keepalive
 * pings while never seeing a new write. Without it a source watching through such a member stays
 * `ready` while deaf (SRC-01). {@link createEtcdClient} and a source built from `hosts` use it;
 * pass it to your own `Etcd3` too. Written without importing `@grpc/grpc-js` (it wraps the next
 * call's `start`), so it works with the grpc-js copy etcd3 loads.
 *
 * @example
 * ```ts
 * import { Etcd3 } from 'etcd3';
 * import { createEtcdSource, requireLeaderInterceptor } from '@graylane/etcd';
 *
 * const client = new Etcd3({
 *   hosts: ['http://etcd-0:2379', 'http://etcd-1:2379', 'http://etcd-2:2379'],
 *   grpcOptions: { interceptors: [requireLeaderInterceptor] },
 * });
 * const source = createEtcdSource({ client, key: '/graylane/config' });
 * ```
 */
export function requireLeaderInterceptor<C extends GrpcInterceptingCall>(
  options: unknown,
  nextCall: (options: unknown) => C,
): C {
  const call = nextCall(options);
  const start = call.start.bind(call);
  call.start = (metadata, listener) => {
    metadata.set(REQUIRE_LEADER_KEY, 'true');
    start(metadata, listener);
  };
  return call;
}

/** etcd's `rpctypes.MetadataRequireLeaderKey` (server/etcdserver/api/v3rpc/rpctypes/metadatafields.go). */
const REQUIRE_LEADER_KEY = 'hasleader';

function keepalive(options: EtcdKeepaliveOptions): Record<string, number> {
  return {
    'grpc.keepalive_time_ms': options.timeMs ?? ETCD_KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': options.timeoutMs ?? ETCD_KEEPALIVE_TIMEOUT_MS,
  };
}

type Credentials = NonNullable<NonNullable<ConstructorParameters<typeof Etcd3>[0]>['credentials']>;

function credentials(tls: EtcdTlsOptions): Credentials {
  // etcd3 types the CA as required; grpc-js's createSsl takes null for "the system roots".
  const out: { -readonly [K in keyof Credentials]: Credentials[K] } = {
    rootCertificate: (tls.ca === undefined ? null : Buffer.from(tls.ca)) as Buffer,
  };
  if (tls.key !== undefined) out.privateKey = Buffer.from(tls.key);
  if (tls.cert !== undefined) out.certChain = Buffer.from(tls.cert);
  return out;
}
