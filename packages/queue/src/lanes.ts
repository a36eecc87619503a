import { GraylaneError, isVersionLabel, type Decision, type GrayConfig } from '@graylane/core';
import { runWithGray } from '@graylane/node';
import { decideMessage, type MessageReader } from './carrier/extract.js';
import {
  TokenCache,
  injectTable,
  outgoingMarker,
  type OutgoingMarker,
} from './carrier/outgoing.js';
import { applyScrub, scrubPlan, type HeaderEditor } from './carrier/scrub.js';
import { runWithBaggage } from './context/otel.js';
import { countDecision, countFallback, countInvalid } from './metrics/stats.js';
import {
  resolveLaneOptions,
  type MessageLanesOptions,
  type ResolvedLaneOptions,
} from './options.js';

/** Options of {@link MessageLanes.run}. */
export interface RunMessageOptions {
  /**
   * The version this consumer's code is. A message of another version is counted as a lane
   * fallback (only for a version of the config: metric labels stay a closed set).
   */
  readonly served?: string;
}

/**
 * The broker-neutral half of message lanes: what producers put on a message and how consumers
 * bind it. Broker adapters (`/bullmq`, `/amqp`, `/nats`, `/kafka`) translate their message
 * shapes into these calls.
 */
export interface MessageLanes {
  /** The marker header name (lower case). */
  readonly header: string;
  /** The baggage key, or false. */
  readonly baggageKey: string | false;
  /** @internal Resolved options, for the broker adapters. */
  readonly options: ResolvedLaneOptions;
  /** The config in force (versions and default). */
  config(): GrayConfig;
  /** The marker for a message produced now, or undefined outside a lane. Never throws. */
  outgoing(): OutgoingMarker | undefined;
  /**
   * A copy of `headers` carrying `marker` (default: the current lane's), or the same object when
   * nothing is added.
   */
  inject<T extends Readonly<Record<string, unknown>>>(
    headers?: T,
    marker?: OutgoingMarker,
  ): T | Record<string, unknown> | undefined;
  /** The decision for a consumed message, counted. Never throws. */
  decide(read: MessageReader): Decision;
  /**
   * Decides a consumed message and runs `fn` inside its lane. `fn`'s errors propagate unchanged.
   * It reads the message only: the broker adapters' wrappers also remove the markers that did
   * not decide from the message the handler gets (GW-01).
   */
  run<T>(read: MessageReader, fn: () => T, options?: RunMessageOptions): T;
  /**
   * @internal {@link run} that first removes, through `edit`, every marker of the message that
   * did not decide its version (GW-01: a handler relaying what arrived never forwards a marker
   * this consumer refused).
   */
  runMessage<T>(
    read: MessageReader,
    edit: HeaderEditor | undefined,
    fn: () => T,
    options?: RunMessageOptions,
  ): T;
}

/**
 * Creates the marker logic shared by every broker adapter: trust mode, header names, the closed
 * set of versions. Throws `INVALID_OPTIONS` / `INVALID_CONFIG` here, never per message.
 *
 * @example
 * ```ts
 * import { createMessageLanes } from '@graylane/queue';
 *
 * const lanes = createMessageLanes({ config: { versions: ['stable', 'beta'], default: 'stable' } });
 * const headers = lanes.inject({ 'content-type': 'application/json' }); // adds x-gray-id in a lane
 * lanes.run((name) => headers?.[name], () => handle()); // handle() sees the producer's version
 * ```
 */
export function createMessageLanes(options: MessageLanesOptions): MessageLanes {
  if (typeof options !== 'object' || options === null)
    throw new GraylaneError(
      'INVALID_OPTIONS',
      'createMessageLanes: options are required ({ config })',
    );
  const opts = resolveLaneOptions(options);
  const tokens = new TokenCache(opts);
  const lanes: MessageLanes = {
    header: opts.header,
    baggageKey: opts.baggageKey,
    options: opts,
    config: () => opts.store.get().config,
    outgoing: () => outgoingMarker(opts, tokens),
    inject: (headers, marker) => injectTable(headers, marker ?? outgoingMarker(opts, tokens), opts),
    decide(read) {
      const config = opts.store.get().config;
      const { decision, rejections } = decideMessage(read, opts, config);
      for (const r of rejections) countInvalid(r.source, r.reason);
      countDecision(decision.version, decision.reason, decision.source);
      return decision;
    },
    run: (read, fn, runOptions) => lanes.runMessage(read, undefined, fn, runOptions),
    runMessage(read, edit, fn, runOptions = {}) {
      // Deciding and scrubbing read the same headers several times: each is looked up once.
      const once = readOnce(read);
      const decision = lanes.decide(once);
      if (edit !== undefined) {
        applyScrub(scrubPlan(once, opts, lanes.config(), decision), once, opts, edit);
      }
      const served = runOptions.served;
      // Labels stay in the closed set (I2): a `served` the config does not declare is not counted.
      if (
        served !== undefined &&
        served !== decision.version &&
        lanes.config().hasVersion(served)
      ) {
        countFallback(decision.version, served);
      }
      return bindDecision(decision, opts, fn);
    },
  };
  return lanes;
}

/**
 * `read` with each name's value kept after its first read (a reader that throws is asked again).
 * Safe across the scrub: it removes the marker header before it reads `baggage`, never after.
 */
function readOnce(read: MessageReader): MessageReader {
  const values = new Map<string, unknown>();
  return (name) => {
    if (values.has(name)) return values.get(name);
    const value = read(name);
    values.set(name, value);
    return value;
  };
}

/**
 * Runs `fn` with `decision` bound: `getGrayVersion()`, `grayBranch` and outbound calls see it, and
 * OTel baggage carries it when OTel is active. The version always comes from the config's closed
 * set; should it not be a label, `fn` runs unbound rather than throwing (I1).
 */
function bindDecision<T>(decision: Decision, opts: ResolvedLaneOptions, fn: () => T): T {
  if (!isVersionLabel(decision.version)) return fn();
  const inner = (): T => runWithBaggage(decision.version, opts.baggageKey, fn);
  return runWithGray(decision, inner, {
    ...(opts.allowHosts !== undefined ? { allowHosts: opts.allowHosts } : {}),
    baggageKey: opts.baggageKey,
  });
}
