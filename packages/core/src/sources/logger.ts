/** Where sources report problems. Default: `console`. */
export interface SourceLogger {
  warn(message: string, error?: unknown): void;
  error(message: string, error?: unknown): void;
}

/** The host console, looked up at call time (core has ES2022 types only). */
interface HostConsole {
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}
const hostConsole = (): HostConsole | undefined =>
  (globalThis as { console?: HostConsole }).console;

/**
 * The default logger: `console.warn` / `console.error`.
 *
 * @example
 * ```ts
 * createFileSource({ path, logger: consoleLogger });
 * ```
 */
export const consoleLogger: SourceLogger = {
  warn: (message, error) =>
    error === undefined ? hostConsole()?.warn(message) : hostConsole()?.warn(message, error),
  error: (message, error) =>
    error === undefined ? hostConsole()?.error(message) : hostConsole()?.error(message, error),
};

/** A logger that never throws into the caller, even if the user's logger does (FLT-16). */
export function safeLogger(logger: SourceLogger | undefined): SourceLogger {
  const target = logger ?? consoleLogger;
  return {
    warn(message, error) {
      try {
        target.warn(message, error);
      } catch {
        // A broken logger must not break a reload path.
      }
    },
    error(message, error) {
      try {
        target.error(message, error);
      } catch {
        // idem
      }
    },
  };
}
