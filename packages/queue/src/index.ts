/**
 * @graylane/queue — message-queue lanes. The root entry is broker-neutral: the marker a producer
 * puts on a message, how a consumer binds it, lane liveness and the fallback drain loop. Broker
 * adapters are subpath exports (`/bullmq`, `/amqp`, `/nats`, `/kafka`); brokers are optional
 * peers. Nothing happens on import.
 */

// Marker carry and bind
export { createMessageLanes } from './lanes.js';
export type { MessageLanes, RunMessageOptions } from './lanes.js';
export type { MessageLanesOptions, MessageTrust } from './options.js';
export type { OutgoingMarker } from './carrier/outgoing.js';
export type { MessageReader } from './carrier/extract.js';
export { readHeader } from './carrier/table.js';

// Routing by lane, with fallback
export { createLiveness } from './routing/liveness.js';
export type { LaneProbe, Liveness, LivenessOptions } from './routing/liveness.js';
export { startDrain } from './routing/drain.js';
export type { DrainHooks, DrainLoop } from './routing/drain.js';
export { laneName } from './routing/names.js';

// Observability
export { queueStats } from './metrics/stats.js';
export type { CarryResult, MessageMarkerSource, QueueStats } from './metrics/stats.js';

// Defaults and limits
export {
  BAGGAGE_HEADER,
  DEFAULT_BAGGAGE_KEY,
  DEFAULT_DRAIN_BATCH,
  DEFAULT_DRAIN_INTERVAL_MS,
  DEFAULT_HEARTBEAT_TTL_MS,
  DEFAULT_LIVENESS_GRACE_MS,
  DEFAULT_MESSAGE_HEADER,
  DEFAULT_PROBE_INTERVAL_MS,
  JOB_MARKER_FIELD,
  MAX_MARKER_VALUE_BYTES,
} from './limits.js';
