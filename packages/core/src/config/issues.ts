import type { ConfigIssue } from '../errors.js';

/** Collects every problem in a document, so one load reports them all. */
export class Issues {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];

  /** Records an error; returns undefined so callers can `return issues.add(…)`. */
  add(path: string, message: string): undefined {
    this.errors.push({ path, message });
    return undefined;
  }

  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }
}
