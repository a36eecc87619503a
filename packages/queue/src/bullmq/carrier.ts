import type { Job } from 'bullmq';
import { hasValue, type OutgoingMarker } from '../carrier/outgoing.js';
import type { HeaderEditor } from '../carrier/scrub.js';
import type { MessageLanes } from '../lanes.js';
import { assertLanes, assertServed } from '../routing/names.js';
import { JOB_MARKER_FIELD } from '../limits.js';
import { countCarry } from '../metrics/stats.js';

/**
 * Job data carrying the current lane in the `__gray` field (BullMQ keeps job options to a closed
 * set, so the marker rides in `data`). A copy: the caller's object is never mutated; a `__gray`
 * the caller set is kept. Data that is not a plain object (arrays, strings, class instances)
 * cannot carry it and is returned as is, counted as `skipped_shape`.
 *
 * @example
 * ```ts
 * import { createMessageLanes } from '@graylane/queue';
 * import { grayJobData } from '@graylane/queue/bullmq';
 *
 * const lanes = createMessageLanes({ config: { versions: ['stable', 'beta'], default: 'stable' } });
 * await queue.add('charge', grayJobData(lanes, { orderId: 42 }));
 * ```
 */
export function grayJobData<T>(lanes: MessageLanes, data: T): T {
  assertLanes(lanes, 'grayJobData');
  return jobDataWith(data, lanes.outgoing()).data;
}

/** @internal The data to enqueue and whether it carries `marker` (routing needs to know). */
export function jobDataWith<T>(
  data: T,
  marker: OutgoingMarker | undefined,
): { data: T; carried: boolean } {
  if (marker === undefined) return { data, carried: false };
  if (!isPlainObject(data)) {
    countCarry('skipped_shape');
    return { data, carried: false };
  }
  // A field holding undefined or null is no value: the marker replaces it.
  if (
    Object.hasOwn(data, JOB_MARKER_FIELD) &&
    hasValue((data as Record<string, unknown>)[JOB_MARKER_FIELD])
  ) {
    countCarry('skipped_caller');
    return { data, carried: false };
  }
  countCarry('injected');
  return { data: { ...data, [JOB_MARKER_FIELD]: marker.value } as T, carried: true };
}

/** Options of {@link withGrayJob}. */
export interface GrayJobOptions {
  /** The version this worker's code is (one of the config's: else INVALID_OPTIONS); other versions count as lane fallbacks. */
  readonly served?: string;
}

/**
 * Wraps a BullMQ processor so each job runs inside the lane its `__gray` field names. What the
 * processor returns or throws is what BullMQ sees (completion, failure, retries untouched).
 *
 * A `__gray` that did not decide the job's version (refused or untrusted in `open`/`signed` mode,
 * any value in `ignore` mode) is removed from `job.data` before the processor runs, so
 * `grayJobData(lanes, job.data)` in a processor that re-enqueues what it got carries the version
 * decided here, never the refused one (GW-01).
 *
 * @example
 * ```ts
 * import { Worker } from 'bullmq';
 * import { withGrayJob } from '@graylane/queue/bullmq';
 *
 * new Worker('orders', withGrayJob(lanes, async (job) => charge(job.data)), { connection });
 * ```
 */
export function withGrayJob<
  J extends Pick<Job, 'data'> = Job,
  A extends unknown[] = [],
  R = unknown,
>(
  lanes: MessageLanes,
  processor: (job: J, ...rest: A) => R,
  options: GrayJobOptions = {},
): (job: J, ...rest: A) => R {
  assertLanes(lanes, 'withGrayJob', processor);
  options ??= {}; // `null` from plain JS
  assertServed(options.served, lanes, 'withGrayJob');
  return function grayJob(job, ...rest) {
    const data: unknown = job.data;
    const edit = jobEditor(lanes, data);
    return lanes.runMessage(jobReader(lanes, data), edit, () => processor(job, ...rest), options);
  };
}

/**
 * The job's `__gray` field as a header to remove (GW-01): only plain-object data has one.
 * Removing it edits `job.data` as the processor sees it, not the job stored in Redis (a retry
 * reads and judges the stored job again).
 */
function jobEditor(lanes: MessageLanes, data: unknown): HeaderEditor | undefined {
  if (!isPlainObject(data) || !Object.hasOwn(data, JOB_MARKER_FIELD)) return undefined;
  return {
    remove(name) {
      if (name === lanes.header) delete data[JOB_MARKER_FIELD];
    },
    set() {
      // Job data carries no baggage.
    },
  };
}

/** @internal Reads a job's marker as the consumer does: the `__gray` field stands for the header. */
export function jobReader(lanes: MessageLanes, data: unknown): (name: string) => unknown {
  return (name) => (name === lanes.header ? jobMarker(data) : undefined);
}

function jobMarker(data: unknown): unknown {
  return isPlainObject(data) && Object.hasOwn(data, JOB_MARKER_FIELD)
    ? data[JOB_MARKER_FIELD]
    : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
