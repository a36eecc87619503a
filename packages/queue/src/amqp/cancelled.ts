import type { Channel, ChannelModel } from 'amqplib';

/**
 * How a consumer of {@link AmqpLanes.consume} stopped receiving deliveries:
 * - `'closed'`: its own `close()`;
 * - `'app'`: the app cancelled it on its channel (`consumer.channel.cancel(consumer.consumerTag)`);
 * - `'broker'`: RabbitMQ cancelled it — its queue was deleted (by an operator, by another
 *   connection, by a delete and re-create). Raw amqplib reports this as a `null` delivery;
 * - `'channel'`: its channel closed (`channel.close()`, or the broker closed it for a channel error
 *   such as an ack for an unknown delivery tag; `error` says which);
 * - `'connection'`: the connection closed or was lost.
 *
 * @example
 * ```ts
 * const consumer = await orders.consume('beta', handle);
 * void consumer.cancelled.then(({ reason }) => console.warn('beta consumer gone:', reason));
 * ```
 */
export interface AmqpConsumerCancel {
  readonly reason: 'closed' | 'app' | 'broker' | 'channel' | 'connection';
  /** The error the broker closed the channel or the connection with, if any. */
  readonly error?: Error;
}

/** One consumer's end: seen once, whichever way it comes. */
export interface ConsumerEnd {
  /** Resolves once, with the first way the consumer ended; never rejects. */
  readonly cancelled: Promise<AmqpConsumerCancel>;
  /** Ends it now (later ends are ignored). */
  end(reason: AmqpConsumerCancel['reason'], error?: Error): void;
  /** Its channel closed before it was watched: ends it as the 'close' event would have. */
  closed(): void;
}

/**
 * Watches one consumer for every way it can end other than its own `close()`: the broker's
 * `basic.cancel` (the caller passes amqplib's `null` delivery to `end('broker')`), the app's
 * `channel.cancel(consumerTag)` (amqplib reports no `null` for a cancel the client sent), and its
 * channel closing, on its own or with the connection. `onEnd` runs once, synchronously, at the
 * first of them (from then on the consumer is not live, and its drain stops).
 */
export function watchConsumer(
  channel: Channel,
  consumerTag: string,
  since: ConnectionCloses,
  onEnd: () => void,
): ConsumerEnd {
  let resolve!: (cancel: AmqpConsumerCancel) => void;
  const cancelled = new Promise<AmqpConsumerCancel>((r) => (resolve = r));
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    channel.off('close', closed);
    channel.off('error', failed);
    onEnd();
  };
  let ended = false;
  const end = (reason: AmqpConsumerCancel['reason'], error?: Error): void => {
    if (ended) return;
    ended = true;
    stop();
    resolve(error === undefined ? { reason } : { reason, error });
  };

  let error: Error | undefined;
  const failed = (err: unknown): void => {
    error ??= err instanceof Error ? err : new Error(String(err));
    // Listening must not change what an unheard channel error does (amqplib: it throws, and the
    // process reports it): the app that listens on `consumer.channel` decides.
    if (channel.listenerCount('error') <= 1) throw err;
  };
  // The connection closes its channels before it emits its own 'close' (amqplib
  // `Connection.toClosed`): which of the two it was is known a turn later.
  const { closes, count: before } = since;
  const closed = (): void => {
    const channelError = error;
    stop();
    setImmediate(() => {
      const byConnection = closes.count !== before;
      end(
        byConnection ? 'connection' : 'channel',
        channelError ?? (byConnection ? closes.error : undefined),
      );
    });
  };
  channel.on('close', closed);
  channel.on('error', failed);

  const cancel = channel.cancel;
  channel.cancel = function graylaneCancel(this: unknown, tag: string, ...rest: unknown[]) {
    if (tag === consumerTag) end('app');
    return (cancel as (...a: unknown[]) => ReturnType<Channel['cancel']>).call(this, tag, ...rest);
  } as Channel['cancel'];

  return { cancelled, end, closed };
}

/** A connection's closes, counted from a moment on (see {@link connectionCloses}). */
export interface ConnectionCloses {
  readonly closes: Closes;
  readonly count: number;
}

interface Closes {
  count: number;
  /** What the last close said (an error when the connection was lost or closed by the broker). */
  error: Error | undefined;
}

const closesOf = new WeakMap<object, Closes>();

/**
 * The connection's closes from now on: its channels' ends are told from its own by them. One
 * listener per connection, however many consumers.
 */
export function connectionCloses(connection: ChannelModel): ConnectionCloses {
  const closes = closesFor(connection);
  return { closes, count: closes.count };
}

function closesFor(connection: ChannelModel): Closes {
  let closes = closesOf.get(connection);
  if (closes === undefined) {
    const state: Closes = { count: 0, error: undefined };
    closes = state;
    closesOf.set(connection, state);
    const on = (connection as { on?: unknown }).on;
    if (typeof on === 'function') {
      // amqplib's recovering connection says 'disconnect' when the one beneath it closes.
      for (const event of ['close', 'disconnect']) {
        (on as (e: string, l: (err?: unknown) => void) => void).call(connection, event, (err) => {
          state.count++;
          state.error = err instanceof Error ? err : undefined;
        });
      }
    }
  }
  return closes;
}
