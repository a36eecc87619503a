/**
 * True for etcd errors retrying cannot fix: wrong credentials or missing permissions
 * (FLT-04; flagd `fatalStatusCodes`). etcd3 error classes do not set `name`, so the constructor
 * name, the gRPC code and the etcd message are all checked.
 *
 * @example
 * ```ts
 * try { await doc.read(); } catch (err) { if (isEtcdAuthError(err)) console.error('check the credentials'); }
 * ```
 */
export function isEtcdAuthError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof ctor === 'string' && AUTH_CLASSES.has(ctor)) return true;
  const code = (error as { code?: unknown }).code;
  if (code === GRPC_PERMISSION_DENIED || code === GRPC_UNAUTHENTICATED) return true;
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && AUTH_MESSAGE.test(message);
}

/** gRPC status codes (grpc/status.proto). */
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAUTHENTICATED = 16;

const AUTH_CLASSES: ReadonlySet<string> = new Set([
  'EtcdPermissionDeniedError',
  'EtcdAuthenticationFailedError',
  'GRPCUnauthenticatedError',
  'EtcdRoleNotGrantedError',
]);

/** etcd server messages (etcdserver/api/v3rpc/rpctypes/error.go). */
const AUTH_MESSAGE =
  /permission denied|authentication failed|user name is empty|user name not found|PERMISSION_DENIED|UNAUTHENTICATED/i;

/**
 * A short text for logs and `lastError`, with any URL credentials (`//user:pass@`, `user:pass@host`)
 * replaced by `***@`: gRPC echoes its resolution target, and a status page must never show a
 * password (MISC-03). Defensive: hosts with credentials are already refused at start.
 */
export function describeError(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  // gRPC ends some messages with an empty "Resolution note:"; etcd3 cancels a compacted or
  // server-cancelled watch with an empty message: name the error instead of saying nothing.
  const text = raw.replace(/\s*Resolution note:\s*$/, '').trim();
  if (text) return redactUserinfo(text);
  const object = typeof error == 'object' ? (error as Record<string, unknown> | null) : null;
  const name = (object?.constructor as { name?: unknown } | undefined)?.name;
  const code = object?.code;
  const what = typeof name == 'string' && name && name != 'Object' ? name : 'error';
  return `${what} without a message${code === undefined ? '' : ` (code ${String(code)})`}`;
}

/** What is kept before the userinfo: punctuation, then `scheme://` or a gRPC `dns:`-style target. */
const KEPT_PREFIX = /^[^a-z0-9]*(?:[a-z][a-z0-9+.-]*:\/\/|(?:dns|ipv4|ipv6|unix):)?/i;

/**
 * Replaces URL credentials in `text` by `***`: in each whitespace-free run with an `@`, everything
 * between the scheme (or gRPC target prefix) and the last `@` (a password may hold `@` or `/`).
 */
export function redactUserinfo(text: string): string {
  return text.replace(/\S*@\S*/g, (token) => {
    const at = token.lastIndexOf('@');
    const kept = KEPT_PREFIX.exec(token)?.[0] ?? '';
    return kept.length >= at ? token : `${kept}***${token.slice(at)}`;
  });
}
