import { GraylaneError } from '@graylane/core';
import type { Options } from 'amqplib';

/**
 * RabbitMQ's sender-selected distribution: a message whose `CC` or `BCC` header names queues is
 * routed to them too (amqplib turns the `CC`/`BCC` publish options into those headers). The
 * broker keeps `CC` on the delivered message and drops `BCC`.
 */
const SENDER_ROUTING = ['CC', 'BCC'] as const;

/**
 * Refuses `CC`/`BCC` (options or headers) on a router publish: the broker counts a message as
 * routed when any queue took it, a CC copy included, so neither `basic.return` nor the confirm
 * would say that the lane's or base queue is missing, and `publish()` could not keep its promise
 * that it never resolves for a message its queue did not take. `undefined` and an empty list
 * route nowhere and pass.
 */
export function assertNoSenderRouting(options: Options.Publish | undefined, where: string): void {
  const headers = options?.headers as Record<string, unknown> | undefined;
  for (const name of SENDER_ROUTING) {
    const values: unknown[] = [options?.[name]];
    if (typeof headers === 'object' && headers !== null && Object.hasOwn(headers, name)) {
      values.push(headers[name]);
    }
    if (values.every(routesNowhere)) continue;
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `${where}: ${name} (sender-selected distribution) is not supported: RabbitMQ confirms a message when a ${name} copy reached a queue, so publish() could not tell that its lane or base queue took it. Publish the copies separately.`,
    );
  }
}

function routesNowhere(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.length === 0);
}

/**
 * `headers` without `CC`/`BCC`: a message published again (drained, given back) must not be
 * copied again to the queues its producer named — they had their copy when it was first sent.
 */
export function withoutSenderRouting(
  headers: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...headers };
  for (const name of SENDER_ROUTING) delete out[name];
  return out;
}
