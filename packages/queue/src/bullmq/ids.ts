import { randomUUID } from 'node:crypto';
import { GraylaneError } from '@graylane/core';
import type { JobsOptions } from 'bullmq';

/**
 * How long a producer's claim on a job id holds while it adds the job (it is released right after
 * the add; the TTL only frees the id of a producer that died in between). Longer than any add.
 */
const CLAIM_TTL_MS = 60_000;

/** Redis `eval`, as ioredis (and its Cluster client) spell it. */
export type RedisEval = (
  script: string,
  numKeys: number,
  ...args: (string | number)[]
) => Promise<unknown>;

/** The ids BullMQ keeps one job per queue for: `jobId`, and `deduplication.id` while pending. */
export interface JobIdentity {
  readonly jobId?: string;
  readonly dedupId?: string;
}

/**
 * The ids a job's options give, as BullMQ reads them (a falsy `jobId` is none: BullMQ then
 * numbers the job), or undefined. Values are keyed as strings; BullMQ refuses bad ones at add.
 */
export function identityOf(opts: JobsOptions | undefined): JobIdentity | undefined {
  if (typeof opts !== 'object' || opts === null) return undefined;
  const jobId: unknown = opts.jobId;
  const dedup = (opts as { deduplication?: { id?: unknown } | null }).deduplication;
  const dedupId: unknown = typeof dedup === 'object' && dedup !== null ? dedup.id : undefined;
  if (!jobId && !dedupId) return undefined;
  return {
    ...(jobId ? { jobId: String(jobId) } : {}),
    ...(dedupId ? { dedupId: String(dedupId) } : {}),
  };
}

// KEYS[1..c]: claim keys; KEYS[c+1..]: a job hash or deduplication key of a candidate queue.
// ARGV[1]: the claim's value (token, space, the queue routing chose); ARGV[2]: TTL; ARGV[3]: c;
// ARGV[4..]: the queue of each KEYS[c+i]. Returns { queue, claimed }.
const CLAIM = `
local c = tonumber(ARGV[3])
for i = c + 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {ARGV[3 + i - c], 0} end
end
for i = 1, c do
  local held = redis.call('GET', KEYS[i])
  if held then return {string.sub(held, string.find(held, ' ', 1, true) + 1), 0} end
end
for i = 1, c do redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2]) end
return {string.sub(ARGV[1], string.find(ARGV[1], ' ', 1, true) + 1), 1}
`;

// Deletes each claim key still holding ARGV[1] (this producer's claim, not a later one).
const RELEASE = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 0
`;

/** Where one job with an identity goes, and the release of the claim once it was added. */
export interface IdClaim {
  readonly queue: string;
  release(): Promise<void>;
}

/** Options of {@link createIdPlacement}. */
export interface IdPlacementOptions {
  /** The router's Redis client; `eval` is required for jobs with ids only. */
  readonly redis: { eval?: unknown };
  readonly prefix: string;
  /** The logical queue (names the claim keys). */
  readonly name: string;
  /** Every queue of the logical queue a job may sit in: the base and each lane's. */
  readonly queues: () => readonly string[];
}

/**
 * One job per id across a logical queue's lanes. BullMQ keeps one job per `jobId` (and one
 * pending job per `deduplication.id`) per queue; lanes are several queues, and the router picks
 * one per call by liveness, so an idempotent producer's retry could land on another lane's queue
 * and run twice. A job with an id goes, atomically (one Lua script), to the queue that already
 * holds a job with that id (any state BullMQ keeps it in) or that id's pending deduplication
 * key; else to the queue a concurrent producer claimed for it; else to the queue routing chose,
 * claimed until the add lands. BullMQ's own de-duplication then works in that one queue. The
 * drain never moves a BullMQ job (it processes it in place), so an id stays in its queue.
 */
export function createIdPlacement(options: IdPlacementOptions): {
  claim(identity: JobIdentity, chosen: string, where: string): Promise<IdClaim>;
} {
  const { prefix, name } = options;
  const claimKey = (kind: 'j' | 'd', id: string): string =>
    `graylane:ids:${prefix}:${name}:${kind}:${id}`;
  return {
    async claim(identity, chosen, where) {
      const evaluate = evalOf(options.redis, where);
      const claims: string[] = [];
      const checks: string[] = [];
      const owners: string[] = [];
      if (identity.jobId !== undefined) claims.push(claimKey('j', identity.jobId));
      if (identity.dedupId !== undefined) claims.push(claimKey('d', identity.dedupId));
      for (const q of options.queues()) {
        if (identity.jobId !== undefined) {
          checks.push(`${prefix}:${q}:${identity.jobId}`);
          owners.push(q);
        }
        if (identity.dedupId !== undefined) {
          checks.push(`${prefix}:${q}:de:${identity.dedupId}`);
          owners.push(q);
        }
      }
      const value = `${randomUUID()} ${chosen}`;
      const keys = [...claims, ...checks];
      const got = await evaluate(
        CLAIM,
        keys.length,
        ...keys,
        value,
        CLAIM_TTL_MS,
        claims.length,
        ...owners,
      );
      const [queue, claimed] = Array.isArray(got) ? (got as unknown[]) : [];
      return {
        queue: typeof queue === 'string' && queue !== '' ? queue : chosen,
        async release() {
          if (claimed !== 1) return;
          // A claim left behind only pins the id to its queue until the TTL: never fatal.
          await evaluate(RELEASE, claims.length, ...claims, value).catch(() => undefined);
        },
      };
    },
  };
}

/** The client's `eval`, bound; refuses clearly when the client has none. */
function evalOf(redis: { eval?: unknown }, where: string): RedisEval {
  const fn = redis.eval;
  if (typeof fn !== 'function') {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `${where}: a job with a jobId or deduplication id needs a redis client with eval (ioredis), so it stays one job across lanes`,
    );
  }
  return (fn as RedisEval).bind(redis);
}
