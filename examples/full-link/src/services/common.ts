import type { ConfigStore, InboundOptions } from '@graylane/core';
import type { LaneTable } from '../lanes.js';
import type { Fulfilment } from './fulfilment.js';

/** Options every example service takes. */
export interface ServiceOptions {
  /** The version this instance's code is (`orders-beta` runs the beta code). */
  readonly lane: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Where the next service's instances listen. */
  readonly lanes: LaneTable;
  /** Internal hops need only the version set; the decision arrives with the request. */
  readonly config: ConfigStore;
  /** The queue hop `orders` publishes to (orders only). */
  readonly fulfilment?: Fulfilment;
}

/** A started service. */
export interface RunningService {
  readonly instance: string;
  readonly url: string;
  close(): Promise<void>;
}

/** The options every internal hop shares; none depends on the framework's request type. */
export type InternalGrayOptions = Pick<InboundOptions<unknown>, 'config' | 'trust' | 'allowHosts'>;

/**
 * graylane options for internal hops, for any adapter (express, koa, fastify): markers are
 * honoured as they arrive (the edge already decided and overwrote whatever the client sent), and
 * they are passed on to loopback only.
 */
export function internalGrayOptions(config: ConfigStore): InternalGrayOptions {
  return { config, trust: 'open', allowHosts: ['127.0.0.1'] };
}

/** The default version of the config in force: the lane every fallback lands on. */
export function defaultVersion(config: ConfigStore): string {
  return config.get().config.default;
}
