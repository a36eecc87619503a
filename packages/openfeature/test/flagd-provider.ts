import { FlagdCore } from '@openfeature/flagd-core';
import type { EvaluationContext, JsonValue, Logger, Provider } from '@openfeature/server-sdk';

/**
 * flagd's own in-process evaluator (`@openfeature/flagd-core`, the engine inside the flagd
 * provider's in-process mode) as a server provider over a flagd flag-definition document, so
 * targeting is real flagd JSON-logic — what a flagd user writes.
 */
export function flagdInProcess(definition: object): Provider {
  const core = new FlagdCore();
  core.setConfigurations(JSON.stringify(definition));
  return {
    metadata: { name: 'flagd-in-process' },
    runsOn: 'server',
    resolveBooleanEvaluation: async (k: string, d: boolean, c: EvaluationContext, l: Logger) =>
      core.resolveBooleanEvaluation(k, d, c, l),
    resolveStringEvaluation: async (k: string, d: string, c: EvaluationContext, l: Logger) =>
      core.resolveStringEvaluation(k, d, c, l),
    resolveNumberEvaluation: async (k: string, d: number, c: EvaluationContext, l: Logger) =>
      core.resolveNumberEvaluation(k, d, c, l),
    resolveObjectEvaluation: async <T extends JsonValue>(
      k: string,
      d: T,
      c: EvaluationContext,
      l: Logger,
    ) => core.resolveObjectEvaluation(k, d, c, l),
  };
}

/** Flags unrelated to graylane whose targeting reads the lane from the context. */
export const flagdFlags = {
  $schema: 'https://flagd.dev/schema/v0/flags.json',
  flags: {
    'new-checkout': {
      state: 'ENABLED',
      variants: { on: true, off: false },
      defaultVariant: 'off',
      targeting: { if: [{ '==': [{ var: 'grayVersion' }, 'beta'] }, 'on', 'off'] },
    },
    banner: {
      state: 'ENABLED',
      variants: { preview: 'Try the new checkout', none: '' },
      defaultVariant: 'none',
      targeting: { if: [{ in: [{ var: 'grayVersion' }, ['beta', 'canary']] }, 'preview', 'none'] },
    },
  },
};

/**
 * The same two flags for the SDKs' `InMemoryProvider` (server and web), with context evaluators
 * in place of flagd's JSON-logic.
 */
export const inMemoryFlags = {
  'new-checkout': {
    disabled: false,
    variants: { on: true, off: false },
    defaultVariant: 'off',
    contextEvaluator: (ctx: Record<string, unknown>) =>
      ctx['grayVersion'] === 'beta' ? 'on' : 'off',
  },
  banner: {
    disabled: false,
    variants: { preview: 'Try the new checkout', none: '' },
    defaultVariant: 'none',
    contextEvaluator: (ctx: Record<string, unknown>) =>
      ['beta', 'canary'].includes(String(ctx['grayVersion'])) ? 'preview' : 'none',
  },
};
