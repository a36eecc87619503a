import { GraylaneError } from '@graylane/core';
import type { NatsJetStreamManagerLike } from './types.js';
import { JS_STREAM_NOT_FOUND, natsCall, unlessApiError } from './errors.js';

/** The only retention a lane stream may have: an ack removes the message from the stream. */
export const LANE_RETENTION = 'workqueue' as const;

/**
 * Refuses a stream whose retention may keep acked messages (`limits`, the default of `nats stream
 * add` and `jsm.streams.add`; `interest`, while any other consumer is interested). The drain moves
 * every message stored on a dead lane's subject — in a work-queue stream exactly the ones its
 * consumer has not acked; in any other it would run acked messages again on the default lane and
 * delete the app's history. JetStream cannot tell which stored messages a consumer acked past its
 * ack floor, and never turns an existing stream into a work-queue one: a lane stream is created so.
 */
export function assertLaneRetention(
  retention: string | undefined,
  stream: string,
  where: string,
): void {
  if (retention === LANE_RETENTION) return;
  throw new GraylaneError(
    'INVALID_OPTIONS',
    `${where}: stream ${JSON.stringify(stream)} has retention ${JSON.stringify(retention ?? 'limits')}; ` +
      `lanes need a work-queue stream (retention "${LANE_RETENTION}"), where an ack removes the message, ` +
      `so a lane's acked messages are never run or deleted again by the drain. JetStream does not turn ` +
      `an existing stream into a work-queue one: give createNatsLanes a stream of its own (setup() creates it) on subjects ` +
      `no other stream holds`,
  );
}

/** What `consume()` tells a user who may not read the stream. */
const WHY_STREAM_INFO =
  'consume() reads the stream (JetStream API STREAM.INFO) to refuse one that keeps acked ' +
  'messages, which the drain would run again; for a stream made as a work queue, say so instead: ' +
  "createNatsLanes({ …, streamRetention: 'workqueue' }) makes no STREAM.INFO call";

/**
 * `consume()`'s check of the stream: its retention read from the server (`STREAM.INFO`), or taken
 * from `asserted` (`streamRetention`, for a user without that permission) without a call. Only a
 * missing stream reads as missing; a permission or JetStream refusal says what to grant; any other
 * failure (a timeout) is the client's own error — never taken for an answer.
 */
export async function checkLaneStream(
  jsm: Pick<NatsJetStreamManagerLike, 'streams'>,
  stream: string,
  where: string,
  asserted: typeof LANE_RETENTION | undefined,
): Promise<void> {
  if (asserted === LANE_RETENTION) return;
  const missing = (err: unknown): never => {
    throw streamMissing(stream, where, err);
  };
  const info = await natsCall(
    unlessApiError(jsm.streams.info(stream), JS_STREAM_NOT_FOUND, missing),
    where,
    WHY_STREAM_INFO,
  );
  assertLaneRetention(info.config.retention, stream, where);
}

/** The stream does not exist (yet): `setup()` creates it. */
export function streamMissing(stream: string, where: string, cause?: unknown): GraylaneError {
  return new GraylaneError(
    'INVALID_OPTIONS',
    `${where}: stream ${JSON.stringify(stream)} does not exist: run setup() first (it creates a ` +
      `work-queue stream and the lane consumers), or create it with retention "${LANE_RETENTION}"`,
    { cause },
  );
}

/** `streamRetention` of createNatsLanes: absent, or the one retention lanes work on. */
export function assertAssertedRetention(value: unknown, where: string): void {
  if (value === undefined || value === LANE_RETENTION) return;
  throw new GraylaneError(
    'INVALID_OPTIONS',
    `${where}: streamRetention must be "${LANE_RETENTION}" (the only retention lanes work on) or ` +
      `absent, not ${typeof value === 'string' ? JSON.stringify(value) : typeof value}`,
  );
}
