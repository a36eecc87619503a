import { GraylaneError } from '@graylane/core';

/**
 * A client object a router needs: which option, what it must be, the methods the router calls on
 * it (dotted paths: `consumers.get`), and objects people pass by mistake, told apart by methods
 * only they have (a NatsConnection for a JetStream client, an amqplib Channel for a connection).
 */
export interface ClientShape {
  readonly field: string;
  readonly what: string;
  readonly methods: readonly string[];
  readonly mistakes?: readonly { readonly name: string; readonly methods: readonly string[] }[];
}

/**
 * Checks each client option at construction by the methods the router calls on it, so a wrong
 * object fails here with `INVALID_OPTIONS` naming it, not later as a bare TypeError, a silent
 * loss or a half-started worker. Duck-typed: any client with those methods is accepted.
 */
export function assertClients(
  options: unknown,
  where: string,
  shapes: readonly ClientShape[],
): void {
  const o = options as Record<string, unknown>;
  for (const shape of shapes) {
    const client = o[shape.field];
    const missing = shape.methods.filter((m) => !hasMethod(client, m));
    if (missing.length === 0) continue;
    const mistake = shape.mistakes?.find((m) => m.methods.every((p) => hasMethod(client, p)));
    const got = mistake === undefined ? '' : `, got ${mistake.name}`;
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `${where}: ${shape.field} must be ${shape.what}${got} (no ${missing.join(', ')})`,
    );
  }
}

/** A promise of the client (`amqp.connect()`, `jetstreamManager(nc)` not awaited). */
export const PROMISE = { name: 'a promise (await it first)', methods: ['then'] } as const;

function hasMethod(value: unknown, path: string): boolean {
  let at: unknown = value;
  try {
    for (const part of path.split('.')) {
      if ((typeof at !== 'object' && typeof at !== 'function') || at === null) return false;
      at = (at as Record<string, unknown>)[part];
    }
  } catch {
    return false;
  }
  return typeof at === 'function';
}
