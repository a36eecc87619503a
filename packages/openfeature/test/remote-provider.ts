import {
  ErrorCode,
  StandardResolutionReasons,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/web-sdk';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A web provider that evaluates remotely, the OFREP-web / flagd-web pattern: one bulk request per
 * context in `initialize` and `onContextChange`, answers served from the cached result. Like those
 * providers it keeps whichever answer arrives last, so a request for an older context that is slower
 * than a newer one wins. `latencies` are the delays of the successive requests (then 0).
 */
export class RemoteProvider implements Provider {
  readonly metadata = { name: 'remote' };
  readonly runsOn = 'client';
  /** Every context a bulk request was made for, in order. */
  readonly seen: EvaluationContext[] = [];
  private cache: Record<string, boolean> = {};

  constructor(private readonly latencies: number[] = []) {}

  async initialize(context: EvaluationContext = {}): Promise<void> {
    this.cache = await this.fetchBulk(context);
  }

  async onContextChange(_old: EvaluationContext, context: EvaluationContext): Promise<void> {
    this.cache = await this.fetchBulk(context);
  }

  resolveBooleanEvaluation(key: string, value: boolean): ResolutionDetails<boolean> {
    const cached = this.cache[key];
    return cached === undefined
      ? { value, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND }
      : { value: cached, reason: StandardResolutionReasons.CACHED };
  }

  resolveStringEvaluation(_key: string, value: string): ResolutionDetails<string> {
    return { value, errorCode: ErrorCode.FLAG_NOT_FOUND };
  }

  resolveNumberEvaluation(_key: string, value: number): ResolutionDetails<number> {
    return { value, errorCode: ErrorCode.FLAG_NOT_FOUND };
  }

  resolveObjectEvaluation<T extends JsonValue>(_key: string, value: T): ResolutionDetails<T> {
    return { value, errorCode: ErrorCode.FLAG_NOT_FOUND };
  }

  private async fetchBulk(context: EvaluationContext): Promise<Record<string, boolean>> {
    this.seen.push(context);
    await sleep(this.latencies.shift() ?? 0);
    return { 'new-checkout': context['grayVersion'] === 'beta' };
  }
}
