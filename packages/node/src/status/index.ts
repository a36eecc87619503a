/**
 * `@graylane/node/status` — the read-only status page: JSON for machines, an HTML page with a
 * live traffic chart for people. Off by default; loopback-only or token-protected when on.
 * Mountable on node:http, connect/express, koa and fastify.
 */

export { createStatusHandler } from './handler.js';
export type { StatusHandler, StatusHandlerOptions } from './handler.js';
export type { StatusKoaContextLike, StatusKoaMiddleware } from './koa.js';
export type {
  StatusFastifyHook,
  StatusFastifyReplyLike,
  StatusFastifyRequestLike,
} from './fastify.js';
export type { StatusIncoming } from './request.js';

export { STATUS_REPORT_SCHEMA } from '@graylane/core';
export type {
  PropagationCoverage,
  ReloadEntry,
  StatusReport,
  StatusSourcesLike,
  StatusStatsLike,
} from '@graylane/core';
