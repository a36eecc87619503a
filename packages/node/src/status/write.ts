import type { ServerResponse } from 'node:http';
import type { StatusResponse } from '@graylane/core';
import type { StatusIncoming } from './request.js';

/** @internal Answers a request for the status page, or `undefined` when it is not one. */
export type AnswerStatus = (
  req: StatusIncoming,
  res: ServerResponse | undefined,
  originalUrl?: string,
) => StatusResponse | undefined;

/** @internal Writes an endpoint answer on a Node response, unless something already answered. */
export function writeStatus(res: ServerResponse, response: StatusResponse): void {
  if (res.headersSent || res.writableEnded) return;
  res.writeHead(response.status, response.headers);
  res.end(response.body);
}
