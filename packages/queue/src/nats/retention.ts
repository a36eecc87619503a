import { GraylaneError } from '@graylane/core';

/** The only retention a lane stream may have: an ack removes the message from the stream. */
export const LANE_RETENTION = 'workqueue';

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
