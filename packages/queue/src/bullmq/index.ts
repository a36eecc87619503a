/**
 * @graylane/queue/bullmq — BullMQ lanes: the marker in job data, processors bound to each job's
 * lane, one queue per lane with Redis-TTL liveness and fallback to the base queue.
 */
export { grayJobData, withGrayJob } from './carrier.js';
export type { GrayJobOptions } from './carrier.js';
export { createBullLanes } from './lanes.js';
export type {
  BullLaneWorker,
  BullLanes,
  BullLanesOptions,
  BullProcessor,
  RedisLivenessLike,
} from './lanes.js';
