/**
 * @graylane/queue/kafka — the marker in Kafka record headers, for kafkajs and (structurally) the
 * Confluent client, and consumers bound to each record's lane. Header carriers only: lane routing
 * for Kafka (a consumer group per lane) is not provided.
 */
export {
  grayKafkaMessage,
  grayKafkaMessages,
  runInKafkaMessage,
  withGrayKafkaMessage,
} from './carrier.js';
export type {
  GrayKafkaConsumeOptions,
  GrayKafkaRecord,
  KafkaEachMessagePayload,
  KafkaHeaders,
  KafkaHeaderEntry,
  KafkaHeadersLike,
  KafkaMessageLike,
} from './carrier.js';
