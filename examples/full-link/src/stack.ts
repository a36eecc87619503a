/**
 * Starts the whole example on 127.0.0.1: five service instances, the open-trust gateway (which
 * also serves the page) and the signed-trust gateway. Stops everything it started on failure.
 */
import type { ConfigStore } from '@graylane/core';
import { startGateway } from './gateway.js';
import { addLane, createLaneTable, type LaneTable, type ServiceName } from './lanes.js';
import type { InstanceId } from './ports.js';
import { internalConfig, startEdgeConfig } from './rules.js';
import { startInventory } from './services/inventory.js';
import { startOrders } from './services/orders.js';
import { startPricing } from './services/pricing.js';
import type { RunningService, ServiceOptions } from './services/common.js';
import { startFulfilment } from './services/fulfilment.js';

type StartService = (options: ServiceOptions) => Promise<RunningService>;

/** Key id and key of the demo's signed gateway. A demo secret: never reuse it. */
export const DEMO_SIGNING_KID = 'demo';
export const DEMO_SIGNING_KEY = 'graylane-demo-key-do-not-use-in-production';

/** Options of {@link startStack}. */
export interface StackOptions {
  readonly ports: Readonly<Record<InstanceId, number>>;
  readonly rulesPath: string;
  readonly webRoot?: string;
  /** Run the queue hop on BullMQ at this Redis URL instead of in-process. */
  readonly redisUrl?: string | undefined;
}

/** The running example. */
export interface Stack {
  readonly gatewayUrl: string;
  readonly signedGatewayUrl: string;
  readonly lanes: LaneTable;
  readonly edge: ConfigStore;
  /** Where the queue hop runs. */
  readonly queueKind: string;
  rulesStatus(): string;
  close(): Promise<void>;
}

interface Closable {
  close(): Promise<void>;
}

/** Stops what started, last first (gateways before the services they call); never throws. */
async function closeInReverse(started: Closable[]): Promise<void> {
  await Promise.allSettled(
    started
      .splice(0)
      .reverse()
      .map((s) => s.close()),
  );
}

/** Starts everything; on any failure stops what already started and rethrows. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const started: Closable[] = [];
  const track = async <T extends Closable>(p: Promise<T>): Promise<T> => {
    const item = await p;
    started.push(item);
    return item;
  };
  const closeAll = (): Promise<void> => closeInReverse(started);
  try {
    const { ports } = options;
    const edgeConfig = await track(
      startEdgeConfig(options.rulesPath).then((c) => ({ ...c, close: c.stop })),
    );
    const services = await track(
      startServices(ports, internalConfig(edgeConfig.store), { redisUrl: options.redisUrl }),
    );
    const { lanes } = services;
    const edge = { lanes, config: edgeConfig.store };
    const gateway = await track(
      startGateway({
        ...edge,
        instance: 'gateway',
        port: ports.gateway,
        trust: 'open',
        ...(options.webRoot !== undefined ? { webRoot: options.webRoot } : {}),
      }),
    );
    const signed = await track(
      startGateway({
        ...edge,
        instance: 'gateway-signed',
        port: ports['gateway-signed'],
        trust: 'signed',
        keys: { [DEMO_SIGNING_KID]: DEMO_SIGNING_KEY },
      }),
    );
    return {
      gatewayUrl: gateway.url,
      signedGatewayUrl: signed.url,
      lanes,
      edge: edgeConfig.store,
      queueKind: services.queueKind,
      rulesStatus: edgeConfig.status,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** The five service instances and the lane table that reaches them. */
export interface Services {
  readonly lanes: LaneTable;
  /** Where the queue hop runs: `in-process` or `BullMQ on host:port`. */
  readonly queueKind: string;
  close(): Promise<void>;
}

/**
 * Starts the five service instances, leaves first (each service only needs the lanes of the
 * services it calls, so a port may be 0), and the fulfilment queue hop behind `orders`
 * (in-process, or BullMQ when `queue.redisUrl` is set). Missing ports default to 0.
 */
export async function startServices(
  ports: Readonly<Partial<Record<InstanceId, number>>>,
  config: ConfigStore,
  queue: { readonly redisUrl?: string | undefined } = {},
): Promise<Services> {
  const lanes = createLaneTable();
  const started: Closable[] = [];
  const closeAll = (): Promise<void> => closeInReverse(started);
  const instances: readonly [ServiceName, string, StartService][] = [
    ['pricing', 'stable', startPricing],
    ['pricing', 'beta', startPricing],
    ['inventory', 'stable', startInventory],
    ['orders', 'stable', startOrders],
    ['orders', 'beta', startOrders],
  ];
  try {
    const fulfilment = await startFulfilment({ lanes, config, redisUrl: queue.redisUrl });
    started.push(fulfilment);
    for (const [service, lane, start] of instances) {
      const port = ports[`${service}-${lane}` as InstanceId] ?? 0;
      const running = await start({ lanes, config, lane, port, fulfilment });
      started.push(running);
      addLane(lanes, service, lane, running.url);
    }
    return { lanes, queueKind: fulfilment.kind, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
