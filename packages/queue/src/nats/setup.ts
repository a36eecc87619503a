import type { NatsConsumerInfoLike, NatsJetStreamManagerLike } from './types.js';
import { GraylaneError } from '@graylane/core';
import { laneFilterRefusal, laneFilterTarget, subjectCovers } from './filter.js';
import {
  JS_CONSUMER_EXISTS,
  JS_CONSUMER_NOT_FOUND,
  JS_STREAM_NOT_FOUND,
  jsApiCode,
  natsCall,
  unlessApiError,
} from './errors.js';
import { LANE_RETENTION, assertLaneRetention } from './retention.js';

const WHERE = 'createNatsLanes().setup';
/** What `setup()` tells a user it may not do. */
const WHY =
  'setup() reads the stream (JetStream API STREAM.INFO), creates it or adds the lane subjects ' +
  '(STREAM.CREATE, STREAM.UPDATE) and adds a durable consumer per version (CONSUMER.CREATE): run ' +
  "it as a user that may, in a deploy step, say; the app's consumers and producers need none of these";

/** What `setup()` needs of a router. */
export interface NatsSetupTarget {
  readonly jsm: NatsJetStreamManagerLike;
  readonly stream: string;
  readonly versions: readonly string[];
  subjectFor(lane: string): string;
  durableFor(lane: string): string;
}

/**
 * Creates the work-queue stream (or adds the lane subjects to it) and one durable pull consumer
 * per version. The stream counts as missing only when the server says so (`10059`): a permission
 * the user lacks, an account without JetStream or a timeout fails here, with nothing created or
 * changed — never taken for a missing stream to create over an existing one. Nor does a durable
 * that exists with another lane's filter (MQ-43): refused before anything changes.
 */
export async function setupNatsLanes(target: NatsSetupTarget): Promise<void> {
  const { jsm, stream, versions } = target;
  const subjects = versions.map(target.subjectFor);
  const info = await natsCall(
    unlessApiError(jsm.streams.info(stream), JS_STREAM_NOT_FOUND, () => undefined),
    WHERE,
    WHY,
  );
  const found = new Map<string, NatsConsumerInfoLike>();
  if (info === undefined) {
    const config = { name: stream, subjects, retention: LANE_RETENTION };
    await natsCall(refused(jsm.streams.add(config), stream, subjects), WHERE, WHY);
  } else {
    // Refused before anything changes: the app's stream stays as it was.
    assertLaneRetention(info.config.retention, stream, WHERE);
    for (const v of versions) {
      const durable = await existing(target, v);
      if (durable !== undefined) found.set(v, durable);
    }
    // Add the lane subjects; the subjects the stream already has are the app's, and stay.
    const have = info.config.subjects ?? [];
    // A lane subject one of them already covers (`orders.lane.>`, `orders.*.beta`) is not added:
    // the server refuses a subject that overlaps another of the stream's.
    const missing = subjects.filter((subj) => !have.some((h) => subjectCovers(h, subj)));
    if (missing.length > 0) {
      const update = jsm.streams.update(stream, { subjects: [...have, ...missing] });
      await natsCall(refused(update, stream, missing), WHERE, WHY);
    }
  }
  for (const v of versions) if (!found.has(v)) await addDurable(target, v);
}

/**
 * The durable of version `v`, if the server has one; refused when its filter is not its lane's
 * (it would strand the lane's messages, or take another lane's).
 */
async function existing(
  target: NatsSetupTarget,
  v: string,
): Promise<NatsConsumerInfoLike | undefined> {
  const { jsm, stream } = target;
  const durable = target.durableFor(v);
  const info = await natsCall(
    unlessApiError(jsm.consumers.info(stream, durable), JS_CONSUMER_NOT_FOUND, () => undefined),
    WHERE,
    WHY,
  );
  if (info === undefined) return undefined;
  const lane = laneFilterTarget(target, stream, v, target.versions);
  const refusal = laneFilterRefusal(info, lane, WHERE);
  if (refusal !== undefined) throw refusal;
  return info;
}

/** A stream API refusal (a JetStream API error) of the lane subjects, saying what to do. */
async function refused<T>(call: Promise<T>, stream: string, subjects: readonly string[]) {
  try {
    return await call;
  } catch (err) {
    if (jsApiCode(err) === undefined) throw err;
    const message = (err as { message?: unknown }).message;
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `${WHERE}: the server refused to add the lane subjects ${JSON.stringify(subjects)} to stream ` +
        `${JSON.stringify(stream)} (${String(message)}): make the stream's subjects cover them ` +
        `yourself (those subjects, or a wildcard such as "${subjects[0] ?? ''}" with its last token ` +
        'replaced by ">") and make sure no other stream of the account captures them, then run ' +
        'setup() again',
      { cause: err },
    );
  }
}

/**
 * Adds the durable of version `v` only when the server says it has none (`10014`): CONSUMER.CREATE
 * of an existing durable updates it (on nats-server 2.9, whatever the client asks), which would
 * reset the app's own `ack_wait`, `max_deliver` or `max_ack_pending`. Routers starting at once
 * all create the same config, which the server takes as one; a durable someone else created in
 * between is kept where the server tells (`10148`, nats-server 2.10+).
 */
async function addDurable(target: NatsSetupTarget, v: string): Promise<void> {
  const { jsm, stream } = target;
  const durable = target.durableFor(v);
  if ((await existing(target, v)) !== undefined) return;
  const consumer = {
    durable_name: durable,
    filter_subject: target.subjectFor(v),
    ack_policy: 'explicit',
  };
  await natsCall(
    unlessApiError(jsm.consumers.add(stream, consumer), JS_CONSUMER_EXISTS, () => undefined),
    WHERE,
    WHY,
  );
}
