/**
 * The demo's fixed loopback ports. Fixed so the page URL is the same every run; overridable
 * one by one (`GRAYLANE_PORT_ORDERS_BETA=5003`) or all at once (`GRAYLANE_PORT_BASE=5000`).
 */

/** Every process-level listener the demo starts, in port order. */
export const INSTANCE_IDS = [
  'gateway',
  'gateway-signed',
  'orders-stable',
  'orders-beta',
  'inventory-stable',
  'pricing-stable',
  'pricing-beta',
] as const;

export type InstanceId = (typeof INSTANCE_IDS)[number];

/** The first default port; the others follow in {@link INSTANCE_IDS} order (4100–4106). */
export const DEFAULT_PORT_BASE = 4100;

/** Everything listens here and nowhere else. */
export const HOST = '127.0.0.1';

/** `orders-beta` → `GRAYLANE_PORT_ORDERS_BETA`. */
export function portEnvName(id: string): string {
  return `GRAYLANE_PORT_${id.toUpperCase().replace(/-/g, '_')}`;
}

/** Resolves every port from the environment; throws a readable error on a bad value. */
export function resolvePorts(env: NodeJS.ProcessEnv = process.env): Record<InstanceId, number> {
  const base = parsePort(env.GRAYLANE_PORT_BASE, 'GRAYLANE_PORT_BASE') ?? DEFAULT_PORT_BASE;
  const ports = {} as Record<InstanceId, number>;
  INSTANCE_IDS.forEach((id, i) => {
    const name = portEnvName(id);
    ports[id] = parsePort(env[name], name) ?? base + i;
  });
  return ports;
}

function parsePort(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new Error(`${name}=${raw} is not a port number (0–65535).`);
  }
  return n;
}
