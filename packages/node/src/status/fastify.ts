import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnswerStatus } from './write.js';

/** The part of a fastify request the status page reads (fastify is not imported). */
export interface StatusFastifyRequestLike {
  readonly raw: IncomingMessage;
}

/** The part of a fastify reply the status page writes. */
export interface StatusFastifyReplyLike {
  readonly raw: ServerResponse;
  code(status: number): unknown;
  headers(values: Record<string, string>): unknown;
  send(body: string): unknown;
}

/** A fastify `onRequest` hook serving the status page. */
export type StatusFastifyHook = (
  request: StatusFastifyRequestLike,
  reply: StatusFastifyReplyLike,
  done: (err?: Error) => void,
) => void;

/**
 * @internal A fastify `onRequest` hook over the endpoint. Answering from a hook means sending
 * the reply and not calling `done` (fastify "Respond to a request from a hook").
 */
export function fastifyStatus(answer: AnswerStatus): StatusFastifyHook {
  return function graylaneStatusFastify(request, reply, done) {
    const response = answer(request.raw, reply.raw);
    if (!response) {
      done();
      return;
    }
    reply.code(response.status);
    reply.headers({ ...response.headers });
    reply.send(response.body);
  };
}
