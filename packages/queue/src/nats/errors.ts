import type { NatsJetStreamManagerLike } from './types.js';
import { GraylaneError } from '@graylane/core';

/** JetStream API error codes (`err_code`, nats-server `server/errors.json`) told apart here. */
export const JS_CONSUMER_NOT_FOUND = 10014;
/** CONSUMER.CREATE (action `create`) of a durable that exists with another config (2.10+). */
export const JS_CONSUMER_EXISTS = 10148;
/** The stream refused a message larger than its `max_msg_size`. */
export const JS_MESSAGE_TOO_LARGE = 10054;
export const JS_NOT_ENABLED_FOR_ACCOUNT = 10039;
export const JS_NO_MESSAGE_FOUND = 10057;
/** STREAM.MSG.GET found nothing: v3 resolves `null` for it, `nats` v2 rejects with it. */
export const JS_GET_NO_MESSAGE = 10037;
export const JS_STREAM_NOT_FOUND = 10059;

/**
 * Causes searched for the error the server sent: `@nats-io/jetstream` wraps a permissions
 * violation once (`RequestError` → `PermissionViolationError`) and an account without JetStream
 * once (`JetStreamNotEnabled` → `JetStreamApiError` 10039) [measured, 3.4 on nats-server 2.9].
 */
const MAX_CAUSE_DEPTH = 4;

/** `err` and its causes, outermost first, bounded. */
function chain(err: unknown): object[] {
  const out: object[] = [];
  for (let e = err; out.length < MAX_CAUSE_DEPTH && typeof e === 'object' && e !== null;) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/**
 * The JetStream API error code (`err_code`) of `err`, if the server answered with one. Read by
 * shape, not `instanceof`: the app's copy of `@nats-io/jetstream` may not be the one loaded here.
 * `nats` v2 keeps the server's answer in `api_error`.
 */
export function jsApiCode(err: unknown): number | undefined {
  for (const e of chain(err)) {
    const api = e as { apiError?: unknown; code?: unknown; api_error?: { err_code?: unknown } };
    if (typeof api.apiError === 'function' && typeof api.code === 'number') return api.code;
    if (typeof api.api_error?.err_code === 'number') return api.api_error.err_code;
  }
  return undefined;
}

/** The operation and subject a `Permissions Violation` from the server names, if `err` is one. */
export function permissionDenied(
  err: unknown,
): { readonly operation: string; readonly subject: string } | undefined {
  for (const e of chain(err)) {
    const pv = e as { name?: unknown; operation?: unknown; subject?: unknown };
    if (pv.name === 'PermissionViolationError' && typeof pv.subject === 'string') {
      return { operation: String(pv.operation), subject: pv.subject };
    }
  }
  return undefined;
}

/** True when the account has no JetStream (no responder on the API, or the server's 10039). */
export function jetStreamDisabled(err: unknown): boolean {
  return (
    chain(err).some((e) => (e as { name?: unknown }).name === 'JetStreamNotEnabled') ||
    jsApiCode(err) === JS_NOT_ENABLED_FOR_ACCOUNT
  );
}

/**
 * A JetStream API call's failure as the caller sees it. What no retry can fix — a permission the
 * connection's user lacks, an account without JetStream — becomes `INVALID_OPTIONS` naming what
 * to grant, then `why` (what the call is for); anything else (a timeout, a closed connection, an
 * API error) is returned unchanged, never taken for another answer.
 */
export function natsFailure(err: unknown, where: string, why: string): unknown {
  const denied = permissionDenied(err);
  if (denied !== undefined) {
    const grant =
      denied.operation === 'subscription'
        ? `grant subscribe on the connection's reply inbox ("_INBOX.>", or its inboxPrefix)`
        : `grant publish on ${JSON.stringify(denied.subject)}`;
    const verb = denied.operation === 'subscription' ? 'subscribe to' : 'publish to';
    return new GraylaneError(
      'INVALID_OPTIONS',
      `${where}: the NATS user of this connection may not ${verb} ${JSON.stringify(denied.subject)} ` +
        `(permissions violation): ${grant}. ${why}`,
      { cause: err },
    );
  }
  if (jetStreamDisabled(err)) {
    return new GraylaneError(
      'INVALID_OPTIONS',
      `${where}: JetStream is not enabled for the account of this connection: enable it for the ` +
        `account (\`jetstream: enabled\`), or connect as a user of an account that has it. ${why}`,
      { cause: err },
    );
  }
  return err;
}

/** Rejects with {@link natsFailure} of what `call` rejected with. */
export async function natsCall<T>(call: Promise<T>, where: string, why: string): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw natsFailure(err, where, why);
  }
}

/** `call`'s answer, or `onCode(err)` when the server answered the API error `code` (only then). */
export async function unlessApiError<T, F>(
  call: Promise<T>,
  code: number,
  onCode: (err: unknown) => F,
): Promise<T | F> {
  try {
    return await call;
  } catch (err) {
    if (jsApiCode(err) === code) return onCode(err);
    throw err;
  }
}

/**
 * After `js.consumers.get` failed other than by an API error: when the durable is a push consumer
 * (the clients refuse one, each in its own words), an error that says lane durables must be pull
 * consumers; otherwise `undefined`.
 *
 * @internal
 */
export async function pushDurable(
  jsm: NatsJetStreamManagerLike,
  stream: string,
  name: string,
  where: string,
  err: unknown,
): Promise<GraylaneError | undefined> {
  if (jsApiCode(err) !== undefined) return undefined;
  const info = await jsm.consumers.info(stream, name).catch(() => undefined);
  if (typeof info?.config?.deliver_subject !== 'string') return undefined;
  return new GraylaneError(
    'INVALID_OPTIONS',
    `${where}: durable consumer ${JSON.stringify(name)} of stream ${JSON.stringify(stream)} is a ` +
      `push consumer (deliver_subject ${JSON.stringify(info.config.deliver_subject)}): lane ` +
      'durables must be pull consumers. Delete it and run setup() again (it adds a pull ' +
      'consumer), or create it yourself without deliver_subject',
    { cause: err },
  );
}
