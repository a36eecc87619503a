/**
 * `@graylane/node/hono` — a hono middleware. Hono is not imported; its context is typed
 * structurally. On `@hono/node-server` the Node request (`c.env.incoming`) is read, so raw
 * header values, the peer address and TLS are exact; elsewhere the Fetch `Request` is used.
 */
import type { IncomingMessage } from 'node:http';
import { runInRequestContext } from '../inbound/bind.js';
import { fromFetchRequest, type FetchRequestLike } from '@graylane/core';
import { fromIncomingMessage } from '../inbound/carrier.js';
import { createEngine } from '../inbound/engine.js';
import { applyOutcome } from '../inbound/node-response.js';
import type { GrayAttributes, GraylaneOptions } from '../options.js';
import type { Decision } from '@graylane/core';
import type { GraylaneStats } from '../metrics/stats.js';

/** The part of a hono context graylane uses. */
export interface HonoContextLike {
  readonly req: { readonly raw: FetchRequestLike };
  readonly env?: unknown;
  header(name: string, value: string, options?: { append?: boolean }): void;
}

/** Hono options: callbacks receive the hono context instead of a Node request. */
export type GraylaneHonoOptions = Omit<GraylaneOptions, 'attributes' | 'subject' | 'onDecision'> & {
  readonly attributes?: (c: HonoContextLike) => GrayAttributes | undefined;
  readonly subject?: (c: HonoContextLike) => string | undefined;
  readonly onDecision?: (decision: Decision, c: HonoContextLike) => void;
};

/** Hono middleware with `stats()` attached. */
export type GraylaneHonoMiddleware = ((
  c: HonoContextLike,
  next: () => Promise<void>,
) => Promise<void>) & {
  stats(): GraylaneStats;
};

/**
 * Hono middleware: `app.use(graylaneHono({ config }))` after auth, before routes.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { graylaneHono } from '@graylane/node/hono';
 * const app = new Hono();
 * app.use(graylaneHono({ config }));
 * app.get('/', (c) => c.text(getGrayVersion()));
 * ```
 */
export function graylaneHono(options: GraylaneHonoOptions): GraylaneHonoMiddleware {
  const engine = createEngine<HonoContextLike>(options);
  const middleware = async function graylaneHonoMiddleware(
    c: HonoContextLike,
    next: () => Promise<void>,
  ): Promise<void> {
    const incoming = nodeIncoming(c.env);
    const carrier = incoming ? fromIncomingMessage(incoming) : fromFetchRequest(c.req.raw);
    const outcome = engine.evaluate(carrier, c);
    applyOutcome(
      {
        appendCookie: (value) => c.header('set-cookie', value, { append: true }),
        setHeader: (name, value) => c.header(name, value),
      },
      outcome,
    );
    await runInRequestContext(outcome, () => next());
  };
  return Object.assign(middleware, { stats: () => engine.stats() });
}

function nodeIncoming(env: unknown): IncomingMessage | undefined {
  if (typeof env !== 'object' || env === null) return undefined;
  const incoming = (env as { incoming?: unknown }).incoming;
  if (typeof incoming !== 'object' || incoming === null) return undefined;
  const headers = (incoming as { headers?: unknown }).headers;
  return typeof headers === 'object' && headers !== null
    ? (incoming as IncomingMessage)
    : undefined;
}

export type { GraylaneOptions } from '../options.js';
