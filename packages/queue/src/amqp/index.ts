/**
 * @graylane/queue/amqp — RabbitMQ lanes through amqplib: the marker in message `headers`,
 * consumers bound to each message's lane, one queue per lane with fallback to the base queue.
 */
export { grayPublishOptions, withGrayMessage } from './carrier.js';
export type { GrayConsumeOptions } from './carrier.js';
export { createAmqpLanes } from './lanes.js';
export type { AmqpConsumerCancel } from './cancelled.js';
export type { AmqpConsumeOptions, AmqpLaneConsumer, AmqpLanes, AmqpLanesOptions } from './lanes.js';
