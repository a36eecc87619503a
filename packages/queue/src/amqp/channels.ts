import { GraylaneError } from '@graylane/core';
import type { Channel, ConfirmChannel, Message, Options } from 'amqplib';
import { withoutSenderRouting } from './sender-routing.js';

/**
 * A channel opened on first use and opened again after the broker closed it (a channel error such
 * as a 404 from `checkQueue` or `basic.get` closes the channel, not the connection).
 */
export function reopening<T extends Channel>(
  open: () => Promise<T>,
): { get(): Promise<T>; close(): Promise<void> } {
  let current: Promise<T> | undefined;
  return {
    get() {
      current ??= open().then((ch) => {
        ch.on('close', () => (current = undefined));
        ch.on('error', () => undefined);
        return ch;
      });
      return current;
    },
    async close() {
      const ch = current;
      current = undefined;
      if (ch) await quietly(async () => (await ch).close());
    },
  };
}

/** What became of one publish on a confirm channel. */
export type Published =
  | { readonly kind: 'routed' }
  /** The broker found no queue for it (`basic.return`, 312 NO_ROUTE): the message as returned. */
  | { readonly kind: 'returned'; readonly message: Message }
  /** Refused (`basic.nack`: a full queue with `reject-publish`, an internal error), or the channel closed. */
  | { readonly kind: 'refused'; readonly error: Error };

interface Pending {
  readonly queue: string;
  readonly content: Buffer;
  returned: Message | undefined;
}

const pendingOf = new WeakMap<ConfirmChannel, Set<Pending>>();

/**
 * Publishes `mandatory` on a confirm channel and resolves once the broker has answered; never
 * rejects. Without `mandatory` the broker confirms a message no queue takes (a queue that is gone:
 * auto-deleted with its last consumer, expired by `x-expires`, deleted by an operator) and drops
 * it: a silent loss. With it the broker sends the message back (`basic.return`) *before* its
 * `basic.ack` (RabbitMQ "Publisher Confirms": "the basic.return is sent to the client before
 * basic.ack"), so by the time the confirm callback runs the return has been seen.
 *
 * `basic.return` names no delivery tag: a return is matched to the oldest publish still waiting
 * for its confirm with the same routing key and the same bytes. Two such publishes are the same
 * message, so whichever the return is counted against, what the caller gets back is the
 * message the broker returned.
 */
export function publishMandatory(
  ch: ConfirmChannel,
  queue: string,
  content: Buffer,
  options: Options.Publish,
): Promise<Published> {
  const pending = pendingFor(ch);
  const entry: Pending = { queue, content, returned: undefined };
  pending.add(entry);
  const done = (): boolean => pending.delete(entry);
  return new Promise((resolve) => {
    try {
      ch.sendToQueue(queue, content, { ...options, mandatory: true }, (err) => {
        done();
        if (err) resolve({ kind: 'refused', error: asError(err) });
        else if (entry.returned) resolve({ kind: 'returned', message: entry.returned });
        else resolve({ kind: 'routed' });
      });
    } catch (err) {
      done();
      resolve({ kind: 'refused', error: asError(err) });
    }
  });
}

/** The publishes of `ch` waiting for their confirm, oldest first; listens for returns once. */
function pendingFor(ch: ConfirmChannel): Set<Pending> {
  let pending = pendingOf.get(ch);
  if (pending === undefined) {
    const waiting = new Set<Pending>();
    pending = waiting;
    pendingOf.set(ch, waiting);
    ch.on('return', (msg: Message) => {
      if (msg.fields.exchange !== '') return; // not one of ours: every publish here is to a queue
      let first: Pending | undefined;
      for (const p of waiting) {
        if (p.returned !== undefined || p.queue !== msg.fields.routingKey) continue;
        first ??= p;
        if (p.content.equals(msg.content)) {
          first = p;
          break;
        }
      }
      if (first) first.returned = msg;
    });
  }
  return pending;
}

/**
 * The properties to publish `msg` again with: every property it has, headers included but for
 * `CC`/`BCC` (the broker would copy it again to the queues its producer named, which had their
 * copy when it was first sent: review 149 D4); `omit` names properties to leave out.
 */
export function propertiesOf(msg: Message, omit: readonly string[] = []): Options.Publish {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(msg.properties)) {
    if (value !== undefined && !omit.includes(key)) out[key] = value;
  }
  const headers = out['headers'];
  if (typeof headers === 'object' && headers !== null) {
    out['headers'] = withoutSenderRouting(headers as Record<string, unknown>);
  }
  return out as Options.Publish;
}

/**
 * The error `publish()` rejects with when the broker returned a message no queue took
 * (`basic.return`, 312 NO_ROUTE): a `GraylaneError` with code `UNROUTABLE`.
 */
export function unroutable(queue: string, msg: Message): GraylaneError {
  const { replyCode, replyText } = msg.fields as Message['fields'] & {
    replyCode?: number;
    replyText?: string;
  };
  return new GraylaneError(
    'UNROUTABLE',
    `RabbitMQ returned the message unroutable (${String(replyCode)} ${String(replyText)}): queue ${JSON.stringify(queue)} does not exist`,
  );
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Runs a channel operation whose failure only means the channel is already gone. */
export async function quietly(op: () => Promise<unknown>): Promise<void> {
  try {
    await op();
  } catch {
    // IllegalOperationError / a closed channel: nothing left to undo.
  }
}
