import type { EvaluationContext, JsonValue, Logger, Provider } from '@openfeature/web-sdk';
import { GraylaneError } from '@graylane/core';
import { DEFAULT_CONTEXT_KEY } from '../constants.js';
import { checkContextKey } from '../resolver.js';
import type { GrayClientLike } from './client-like.js';
import { createGivenContexts, type GivenContexts } from './given-contexts.js';

/** Options of {@link withGrayContext}. */
export interface WithGrayContextOptions {
  /** The context attribute that receives the lane. Default `grayVersion`. */
  readonly key?: string;
}

/** The provider members that are state, not calls: read through, so they stay the provider's. */
const FORWARDED = ['runsOn', 'domainScoped', 'status', 'hooks', 'events'] as const;

/**
 * Wraps a web provider so that every context it is given carries the page's lane: the one passed
 * to `initialize`, to `onContextChange` and to each `resolve*Evaluation` and `track`. Metadata,
 * events, hooks and status are the provider's own, and a method it lacks stays absent (the SDK
 * behaves differently without `initialize`). Use it for providers that evaluate remotely when the
 * context changes (OFREP, flagd-web): the web SDK calls `onContextChange` with the app's context
 * (`setContext({ targetingKey })` on login) before any listener can add the lane back, and such a
 * provider keeps whichever answer arrives last. Keep `syncGrayContext` running beside it: it puts
 * the lane in OpenFeature's context (hooks, other providers) and turns a lane change into a
 * context change the provider reconciles. When the sync then re-adds the lane, the provider has
 * already been given that context, so it is not asked again. Throws `INVALID_OPTIONS` without a
 * provider or client; never throws after.
 *
 * @example
 * ```ts
 * import { OpenFeature } from '@openfeature/web-sdk';
 * import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
 * import { initGray } from '@graylane/browser';
 * import { syncGrayContext, withGrayContext } from '@graylane/openfeature/web';
 *
 * const gray = initGray({ versions: ['stable', 'beta'], default: 'stable' });
 * syncGrayContext(gray);
 * const flags = new OFREPWebProvider({ baseUrl: 'https://flags.example.com' });
 * await OpenFeature.setProviderAndWait(withGrayContext(flags, gray));
 * ```
 */
export function withGrayContext(
  provider: Provider,
  client: GrayClientLike,
  options: WithGrayContextOptions = {},
): Provider {
  check(provider, client);
  const key = checkContextKey('key', options.key, DEFAULT_CONTEXT_KEY);
  const lane = (context: EvaluationContext): EvaluationContext => {
    try {
      const version = client.getGrayVersion();
      return context[key] === version ? context : { ...context, [key]: version };
    } catch {
      return context; // the provider still evaluates, only without the lane
    }
  };
  const given = createGivenContexts();
  const wrapped: Provider = {
    get metadata() {
      return provider.metadata;
    },
    resolveBooleanEvaluation: (flag, value, context, logger) =>
      provider.resolveBooleanEvaluation(flag, value, lane(context), logger),
    resolveStringEvaluation: (flag, value, context, logger) =>
      provider.resolveStringEvaluation(flag, value, lane(context), logger),
    resolveNumberEvaluation: (flag, value, context, logger) =>
      provider.resolveNumberEvaluation(flag, value, lane(context), logger),
    resolveObjectEvaluation: <T extends JsonValue>(
      flag: string,
      value: T,
      context: EvaluationContext,
      logger: Logger,
    ) => provider.resolveObjectEvaluation(flag, value, lane(context), logger),
  };
  for (const name of FORWARDED) {
    if (name in provider) {
      Object.defineProperty(wrapped, name, { enumerable: true, get: () => provider[name] });
    }
  }
  return Object.assign(wrapped, lifecycle(provider, lane, given));
}

type Lifecycle = Pick<Provider, 'initialize' | 'onClose' | 'onContextChange' | 'track'>;

/** The calls that take a context, each only if the provider has it (the SDK tests for them). */
function lifecycle(
  provider: Provider,
  lane: (context: EvaluationContext) => EvaluationContext,
  given: GivenContexts,
): Lifecycle {
  const { initialize, onClose, onContextChange, track } = provider;
  const methods: Lifecycle = {};
  if (typeof initialize === 'function') {
    methods.initialize = (context = {}, ...rest) => {
      const next = lane(context);
      return given.give(context, next, initialize.call(provider, next, ...rest));
    };
  }
  if (typeof onClose === 'function') methods.onClose = () => onClose.call(provider);
  if (typeof onContextChange === 'function') {
    methods.onContextChange = (oldContext, newContext) => {
      const next = lane(newContext);
      // Only the lane came back (the sync's write): the provider has this context already, or is
      // reconciling to it, and the SDK then waits for that same reconcile.
      const same = given.reuse(oldContext, newContext, next);
      if (same !== undefined) return same.pending;
      const old = given.of(oldContext) ?? lane(oldContext);
      return given.give(newContext, next, onContextChange.call(provider, old, next));
    };
  }
  if (typeof track === 'function') {
    methods.track = (event, context, details) =>
      track.call(provider, event, lane(context), details);
  }
  return methods;
}

function check(provider: Provider | undefined, client: GrayClientLike | undefined): void {
  if (typeof provider?.resolveBooleanEvaluation !== 'function') {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      'withGrayContext: `provider` must be an OpenFeature web provider',
    );
  }
  if (typeof client?.getGrayVersion !== 'function') {
    throw new GraylaneError('INVALID_OPTIONS', 'withGrayContext: `client` must be a GrayClient');
  }
}
