import type { Channel, ConfirmChannel, Options } from 'amqplib';

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

/**
 * Publishes on a confirm channel; resolves once the broker has answered: undefined when it
 * confirmed the message, the error when it refused it (a `basic.nack`: a full queue with
 * `reject-publish`, an internal error) or the channel closed first. Never rejects.
 */
export function sendConfirmed(
  ch: ConfirmChannel,
  queue: string,
  content: Buffer,
  options: Options.Publish,
): Promise<Error | undefined> {
  return new Promise((resolve) => {
    try {
      ch.sendToQueue(queue, content, options, (err) => resolve(err ? asError(err) : undefined));
    } catch (err) {
      resolve(asError(err));
    }
  });
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
