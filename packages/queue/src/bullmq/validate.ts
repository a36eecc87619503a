import { Job, type JobsOptions, type Queue } from 'bullmq';

/** One job of a batch, as `Queue#addBulk` takes it. */
export interface BulkJob {
  readonly name: string;
  readonly data: unknown;
  readonly opts?: JobsOptions;
}

/** The part of BullMQ's `Job` that checks a job without adding it (`protected` in its types). */
interface JobChecks {
  asJSON(): unknown;
  validateOptions(json: unknown): void;
}

/**
 * Makes every refusal `Queue#addBulk` would make of `job`, on `queue`, without writing anything:
 * the options it merges (the queue's `defaultJobOptions`, the job's, its `jobId` and `telemetry`),
 * then BullMQ's own `Job` constructor, `asJSON()` and `validateOptions()` — what `Job.createBulk`
 * runs on each job before its pipeline executes (bullmq 5 inside `job.addJob`, 6 before
 * `addJobs`). A router's batch spans several queues, each added by its own `addBulk`; checked this
 * way first, one job BullMQ refuses adds none of the batch, as on one plain queue (MQ-26). Throws
 * BullMQ's own error, unchanged.
 */
export function assertBullJob(queue: Queue, job: BulkJob): void {
  const opts = job.opts as (JobsOptions & { telemetry?: unknown }) | undefined;
  const merged = {
    ...queue.defaultJobOptions,
    ...opts,
    jobId: opts?.jobId,
    telemetry: opts?.telemetry,
  } as JobsOptions;
  const probe = new Job(queue, job.name, job.data, merged, merged.jobId) as unknown as JobChecks;
  probe.validateOptions(probe.asJSON());
}
