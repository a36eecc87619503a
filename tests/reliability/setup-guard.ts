import { afterAll } from 'vitest';

/**
 * Whole-suite guard (issue 9, "0 unhandled rejections or uncaught exceptions, asserted"): every
 * test file counts `unhandledRejection` and `uncaughtException` events and fails in `afterAll`
 * if any occurred. Loaded through `test.setupFiles`, so it runs once per test file.
 *
 * Vitest reports such errors only while its own listener is the *only* one ("if there is another
 * listener, assume that it's handled by user code"), so while this guard listens, vitest is
 * silent and the guard must fail the file itself. In `afterAll` the guard removes its listeners,
 * so anything later (teardown) is left to vitest's own reporting, as without the guard.
 */
interface GuardState {
  rejections: unknown[];
  exceptions: unknown[];
}

const KEY = Symbol.for('graylane.tests.setup-guard');
const state: GuardState = { rejections: [], exceptions: [] };
// Shared through a registered symbol so guard.test.ts can prove the counter moves.
(globalThis as { [KEY]?: GuardState })[KEY] = state;

const onRejection = (reason: unknown): void => void state.rejections.push(reason);
const onException = (error: unknown): void => void state.exceptions.push(error);
process.on('unhandledRejection', onRejection);
process.on('uncaughtException', onException);

afterAll(async () => {
  // Let rejections from the file's last microtasks and timers surface before counting.
  await new Promise((resolve) => setImmediate(resolve));
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);
  const found = [
    ...state.rejections.map((r) => `unhandledRejection: ${describe(r)}`),
    ...state.exceptions.map((e) => `uncaughtException: ${describe(e)}`),
  ];
  if (found.length > 0) {
    throw new Error(
      `[setup-guard] ${found.length} unhandled error(s) in this file:\n  ${found.slice(0, 5).join('\n  ')}`,
    );
  }
});

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return String(value).slice(0, 200);
  } catch {
    return '(unprintable)';
  }
}
