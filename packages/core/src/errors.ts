/** Every code a {@link GraylaneError} can carry. */
export type GraylaneErrorCode =
  | 'INVALID_CONFIG'
  | 'INVALID_OPTIONS'
  | 'NO_CONTEXT'
  | 'SOURCE_FATAL'
  | 'SOURCE_UNAVAILABLE'
  | 'INVALID_TOKEN'
  /** `@graylane/queue`: the broker took a message into no queue (RabbitMQ's 312 NO_ROUTE). */
  | 'UNROUTABLE';

/**
 * The one error class of graylane. Only configuration and programming mistakes throw;
 * request-time input never does.
 *
 * @example
 * ```ts
 * try { parseConfig(text); } catch (err) {
 *   if (isGraylaneError(err) && err.code === 'INVALID_CONFIG') console.error(err.issues);
 * }
 * ```
 */
export class GraylaneError extends Error {
  // `declare` + constructor assignments instead of class fields: no downlevel field helpers in
  // browser bundles.
  declare readonly code: GraylaneErrorCode;
  /** For `INVALID_CONFIG`: every problem found, each with its JSON path. */
  declare readonly issues: readonly ConfigIssue[];

  constructor(
    code: GraylaneErrorCode,
    message: string,
    options: { cause?: unknown; issues?: readonly ConfigIssue[] } = {},
  ) {
    super(`[graylane] ${message}`, { cause: options.cause });
    this.name = 'GraylaneError';
    this.code = code;
    this.issues = options.issues ?? [];
  }
}

/** One problem in a configuration document. `path` is a JSON path such as `$.rules[2].split`. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * True for errors thrown by any graylane package, across duplicate package copies
 * (it checks `name`, not `instanceof`).
 *
 * @example
 * ```ts
 * if (isGraylaneError(err)) log.warn(err.code, err.message);
 * ```
 */
export function isGraylaneError(value: unknown): value is GraylaneError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { name?: unknown }).name === 'GraylaneError' &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}

/** @internal Builds the INVALID_CONFIG error from a list of issues. */
export function invalidConfig(issues: readonly ConfigIssue[], cause?: unknown): GraylaneError {
  const lines = issues.map((i) => `${i.path}: ${i.message}`);
  return new GraylaneError('INVALID_CONFIG', `invalid config: ${lines.join('; ')}`, {
    issues,
    cause,
  });
}
