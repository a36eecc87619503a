import { GraylaneError } from '@graylane/core';
import type { NatsHeadersLike } from './headers.js';
import { headerBytes, republishOverhead } from './republish.js';
import type { NatsJetStreamLike, NatsJetStreamManagerLike } from './types.js';

/** How long the stream's `max_msg_size` (or the failure to read it) is reused before asking again. */
const STREAM_LIMIT_TTL_MS = 60_000;

/** Refuses a lane message the drain could never move off its lane. */
export interface SizeGuard {
  /** Rejects with `INVALID_OPTIONS` when a copy of the message with the drain's headers is too large. */
  check(
    data: Uint8Array | string,
    headers: NatsHeadersLike | undefined,
    lane: string,
  ): Promise<void>;
  /** Reads the stream's limit again at the next check (after `setup()`). */
  forget(): void;
}

/**
 * A lane's message must still fit once the drain adds its headers (`Nats-Msg-Id`, the lane it came
 * from) — else, its lane dead, it could only be moved without a de-duplication id. The limits are
 * the server's `max_payload` (the connection's INFO, free) and the stream's `max_msg_size` (one
 * STREAM.INFO per minute at most; a user who may not read it gets the `max_payload` check only).
 */
export function createSizeGuard(target: {
  readonly js: NatsJetStreamLike;
  readonly jsm: NatsJetStreamManagerLike;
  readonly stream: string;
}): SizeGuard {
  const { js, jsm, stream } = target;
  let cached: { at: number; max: Promise<number | undefined> } | undefined;
  const streamMax = (): Promise<number | undefined> => {
    if (cached === undefined || Date.now() - cached.at > STREAM_LIMIT_TTL_MS) {
      const max = jsm.streams.info(stream).then(
        (info) => positive(info.config.max_msg_size),
        () => undefined,
      );
      cached = { at: Date.now(), max };
    }
    return cached.max;
  };
  return {
    async check(data, headers, lane) {
      const bytes =
        (typeof data === 'string' ? new TextEncoder().encode(data).byteLength : data.byteLength) +
        headerBytes(headers);
      const need = bytes + republishOverhead(stream, lane, headerBytes(headers) > 0);
      const payload = positive(maxPayload(js));
      if (payload !== undefined && need > payload)
        throw refused(bytes, need, lane, payload, 'max_payload');
      const max = await streamMax();
      if (max !== undefined && need > max) throw refused(bytes, need, lane, max, 'max_msg_size');
    },
    forget() {
      cached = undefined;
    },
  };
}

const positive = (n: unknown): number | undefined =>
  typeof n === 'number' && n > 0 ? n : undefined;

/** The server's `max_payload`, from the connection under the JetStream client (v3 and v2: `js.nc`). */
function maxPayload(js: NatsJetStreamLike): unknown {
  try {
    return (js as { nc?: { info?: { max_payload?: unknown } } }).nc?.info?.max_payload;
  } catch {
    return undefined;
  }
}

function refused(bytes: number, need: number, lane: string, limit: number, what: string) {
  const source = what === 'max_payload' ? "the server's max_payload" : "the stream's max_msg_size";
  return new GraylaneError(
    'INVALID_OPTIONS',
    `createNatsLanes().publish: a message of ${bytes} bytes (data and headers) routed to ${JSON.stringify(lane)} ` +
      `could not be moved off that lane if its consumers stopped: the drain's copy takes up to ${need} bytes, ` +
      `over ${source} (${limit}). Nothing was sent; send a smaller message (keep ${need - bytes} bytes under the limit)`,
  );
}
