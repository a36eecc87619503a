/**
 * Thrown (or answered as 503) when a `strict` lane table has no implementation for the requested
 * version. It carries what frameworks read to answer it: `status`/`statusCode` 503 and
 * `expose` (express, koa, fastify), and `getResponse()` (hono's default error handler).
 *
 * @example
 * ```ts
 * app.use((err, req, res, next) => {
 *   if (err instanceof GrayLaneUnavailableError) return res.status(503).json({ lane: err.version });
 *   next(err);
 * });
 * ```
 */
export class GrayLaneUnavailableError extends Error {
  declare readonly code: 'LANE_UNAVAILABLE';
  /** The requested version this service does not implement. */
  declare readonly version: string;
  declare readonly status: 503;
  declare readonly statusCode: 503;
  declare readonly expose: true;

  constructor(version: string) {
    super(`[graylane] lane ${JSON.stringify(version).slice(0, 80)} is not implemented here`);
    this.name = 'GrayLaneUnavailableError';
    this.code = 'LANE_UNAVAILABLE';
    this.version = version;
    this.status = 503;
    this.statusCode = 503;
    this.expose = true;
  }

  /** A 503 `Response` (hono's default error handler answers with it). */
  getResponse(): Response {
    return new Response(JSON.stringify({ error: 'lane_unavailable', version: this.version }), {
      status: 503,
      headers: { 'content-type': 'application/json' },
    });
  }
}
