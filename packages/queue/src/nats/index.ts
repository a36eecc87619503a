/**
 * @graylane/queue/nats — NATS lanes: the marker in message headers, consumers bound to each
 * message's lane, JetStream lanes (one subject and durable consumer per lane) with fallback.
 */
export { grayNatsHeaders, withGrayNatsMessage } from './carrier.js';
export type { GrayNatsConsumeOptions, NatsHandlerArgs, NatsMessageLike } from './carrier.js';
export type { NatsHeadersFactory, NatsHeadersLike } from './headers.js';
export { createNatsLanes } from './lanes.js';
export type { NatsLaneConsumer, NatsLanes, NatsLanesOptions, NatsPublishOptions } from './lanes.js';
export type {
  NatsConsumeOptionsOf,
  NatsConsumerInfoLike,
  NatsConsumerLike,
  NatsConsumerMessagesLike,
  NatsConsumerMessagesOf,
  NatsJetStreamLike,
  NatsJetStreamManagerLike,
  NatsJsMsg,
  NatsMsgOf,
  NatsPubAckOf,
  NatsPulledMsgLike,
  NatsStoredMsgLike,
} from './types.js';
