/**
 * `@graylane/node/fastify` — a fastify (4/5) plugin. Fastify is not imported: the plugin is
 * typed structurally and marked with `Symbol.for('skip-override')` (what `fastify-plugin`
 * sets), so its hooks apply to the whole app rather than an encapsulated child context.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runInRequestContext } from '../inbound/bind.js';
import { createEngine } from '../inbound/engine.js';
import { decideOnce } from '../inbound/graylane.js';
import type { ResponseSink } from '../inbound/node-response.js';
import type { GraylaneOptions } from '../options.js';

/** The part of a fastify request graylane reads. */
export interface FastifyRequestLike {
  readonly raw: IncomingMessage;
}

/** The part of a fastify reply graylane writes. */
export interface FastifyReplyLike {
  readonly raw: ServerResponse;
  header(name: string, value: string): unknown;
}

type HookDone = (err?: Error) => void;
type Hook = (request: FastifyRequestLike, reply: FastifyReplyLike, done: HookDone) => void;

/** The part of a fastify instance the plugin uses. */
export interface FastifyInstanceLike {
  addHook(name: 'onRequest' | 'preValidation', hook: Hook): unknown;
}

/** The plugin function, with fastify's skip-override and display-name markers. */
export type GraylaneFastifyPlugin = ((
  instance: FastifyInstanceLike,
  options: GraylaneOptions,
  done: HookDone,
) => void) & {
  readonly [key: symbol]: unknown;
};

/**
 * The fastify plugin. Register it after authentication plugins and before routes. The
 * `onRequest` hook decides and binds the context; `preValidation` re-binds it after the body
 * has been parsed (content parsers run from socket events, outside any request context:
 * fastify#3570, RELIABILITY CTX-05). Construction errors are passed to `done`.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { graylaneFastify } from '@graylane/node/fastify';
 * const app = Fastify();
 * await app.register(graylaneFastify, { config });
 * app.get('/', async () => getGrayVersion());
 * ```
 */
export const graylaneFastify: GraylaneFastifyPlugin = Object.assign(
  function graylanePlugin(
    instance: FastifyInstanceLike,
    options: GraylaneOptions,
    done: HookDone,
  ): void {
    let engine: ReturnType<typeof createEngine<IncomingMessage>>;
    try {
      engine = createEngine<IncomingMessage>(options);
    } catch (err) {
      done(err as Error);
      return;
    }
    instance.addHook('onRequest', function graylaneOnRequest(request, reply, next) {
      const outcome = decideOnce(engine, request.raw, replySink(reply), reply.raw);
      runInRequestContext(outcome, () => next());
    });
    instance.addHook('preValidation', function graylanePreValidation(request, _reply, next) {
      const outcome = decideOnce(engine, request.raw, undefined);
      runInRequestContext(outcome, () => next());
    });
    done();
  },
  {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'graylane',
  },
);

function replySink(reply: FastifyReplyLike): ResponseSink {
  return {
    // fastify appends repeated `set-cookie` values instead of replacing them.
    appendCookie: (value) => void reply.header('set-cookie', value),
    setHeader: (name, value) => void reply.header(name, value),
  };
}

export type { GraylaneOptions } from '../options.js';
