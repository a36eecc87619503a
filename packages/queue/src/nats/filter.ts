import { GraylaneError } from '@graylane/core';
import type { NatsConsumerInfoLike } from './types.js';

/**
 * Whether every subject `subject` matches also matches `pattern`, by NATS token wildcards: `*`
 * stands for one token, a last `>` for one or more.
 *
 * @internal
 */
export function subjectCovers(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const want = p[i];
    const got = s[i];
    if (want === '>' && i === p.length - 1) return i < s.length;
    if (got === undefined || got === '>') return false;
    if (want !== '*' && want !== got) return false;
  }
  return p.length === s.length;
}

/**
 * The durable's `filter_subjects` (nats-server 2.10+) or `filter_subject`; `undefined` when it has
 * neither, and delivers every subject of its stream.
 */
function filtersOf(config: NatsConsumerInfoLike['config']): readonly string[] | undefined {
  const many = config?.filter_subjects;
  if (Array.isArray(many) && many.length > 0) return many;
  const one = config?.filter_subject;
  return typeof one === 'string' && one !== '' ? [one] : undefined;
}

/** The subjects a durable delivers from, as patterns. */
const patternsOf = (info: NatsConsumerInfoLike): readonly string[] =>
  filtersOf(info.config) ?? ['>'];

/** Whether the durable delivers the messages stored on `subject`. */
export function durableCovers(info: NatsConsumerInfoLike, subject: string): boolean {
  return patternsOf(info).some((f) => subjectCovers(f, subject));
}

/** A lane durable and the subjects it must, and must not, deliver from. */
export interface LaneFilterTarget {
  readonly stream: string;
  readonly durable: string;
  readonly lane: string;
  /** The lane's subject: the durable must deliver it. */
  readonly subject: string;
  /** The other lanes' subjects (the base subject among them): it must deliver none of them. */
  readonly others: readonly string[];
}

/** What the durable of `lane` must deliver from, and must not, among the router's `versions`. */
export function laneFilterTarget(
  names: { subjectFor(lane: string): string; durableFor(lane: string): string },
  stream: string,
  lane: string,
  versions: readonly string[],
): LaneFilterTarget {
  return {
    stream,
    durable: names.durableFor(lane),
    lane,
    subject: names.subjectFor(lane),
    others: versions.filter((v) => v !== lane).map((v) => names.subjectFor(v)),
  };
}

/**
 * `undefined` when the durable's filter is its lane's: it covers the lane's subject and no other
 * lane's. Otherwise `INVALID_OPTIONS` saying what to do. A durable that does not cover its lane's
 * subject hands a lane consumer nothing producers route there (its pull requests keep the lane
 * alive meanwhile), and the drain pulling it would move messages of another subject; one that
 * also covers another lane's subject hands that lane's messages to this lane's consumer. NATS token
 * rules: `*` one token, a last `>` one or more; no filter covers every subject.
 */
export function laneFilterRefusal(
  info: NatsConsumerInfoLike,
  target: LaneFilterTarget,
  where: string,
): GraylaneError | undefined {
  const filters = patternsOf(info);
  const { subject } = target;
  const taken = target.others.filter((o) => filters.some((f) => subjectCovers(f, o)));
  const covered = durableCovers(info, subject);
  if (covered && taken.length === 0) return undefined;
  const own = filtersOf(info.config);
  const shown =
    own === undefined ? 'no filter' : `filter ${JSON.stringify(own.length === 1 ? own[0] : own)}`;
  const why = covered
    ? `also covers ${JSON.stringify(taken)}, another lane's subject: its consumer would take ` +
      "that lane's messages"
    : `does not cover lane ${JSON.stringify(target.lane)}'s subject ${JSON.stringify(subject)}: ` +
      'what producers route to the lane would wait there for no consumer';
  return new GraylaneError(
    'INVALID_OPTIONS',
    `${where}: durable consumer ${JSON.stringify(target.durable)} of stream ` +
      `${JSON.stringify(target.stream)} has ${shown}, which ${why}. Delete it and run setup() ` +
      `again (it adds one with filter_subject ${JSON.stringify(subject)}), or create it yourself ` +
      'with that filter_subject',
  );
}
