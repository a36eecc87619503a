import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Frames looked at when a call site is wanted (the default 10 rarely reaches user code). */
const STACK_FRAMES = 60;
/** User frames kept in a reported call site. */
const SITE_FRAMES = 3;

/**
 * Frames that are not the app's: Node internals, built-ins (`new Promise`), the async frames of
 * promise combinators (`Promise.all (index 3)`: one per element, not a place in the code) and
 * dependencies.
 */
const FOREIGN =
  /\((?:node:|internal\/|<anonymous>|native\))|^\s*at (?:node:|internal\/|(?:async )?Promise\.\w+ \(index \d+\))|[\\/]node_modules[\\/]/;

/** graylane's own package folder, found on first use: its frames are not the app's either. */
let ownDir: string | null | undefined;

function graylaneDir(): string | null {
  if (ownDir === undefined) {
    try {
      // The package root (above `dist/`): its `dist/` and, through source maps, its `src/`.
      ownDir = dirname(dirname(fileURLToPath(import.meta.url)));
    } catch {
      ownDir = null;
    }
  }
  return ownDir;
}

/** Captures the stack here, cheaply: formatting is deferred until {@link callSite} reads it. */
export function captureStack(below: (...args: never[]) => unknown): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = STACK_FRAMES;
  try {
    const error = new Error('graylane call site');
    // Leaves out `below` (the channel listener) and everything it called.
    Error.captureStackTrace(error, below);
    return error;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * The app's frames of a captured stack, innermost first, at most {@link SITE_FRAMES}, joined
 * with ` < ` (`file:line:col`, relative to the working directory); `undefined` when the stack
 * has no frame of the app's. Never throws.
 */
export function callSite(error: Error | undefined): string | undefined {
  try {
    const stack = error?.stack;
    if (typeof stack !== 'string') return undefined;
    const cwd = `${process.cwd()}/`;
    const own = graylaneDir();
    const frames: string[] = [];
    for (const line of stack.split('\n')) {
      if (!line.startsWith('    at ') || FOREIGN.test(line)) continue;
      if (own !== null && (line.includes(`${own}/dist/`) || line.includes(`${own}/src/`))) continue;
      frames.push(cleanFrame(line, cwd));
      if (frames.length === SITE_FRAMES) break;
    }
    return frames.length === 0 ? undefined : frames.join(' < ');
  } catch {
    return undefined;
  }
}

function cleanFrame(line: string, cwd: string): string {
  let frame = line.slice('    at '.length).replace(/^async /, '');
  frame = frame.replaceAll('file://', '').replaceAll(cwd, '');
  return frame.length > 200 ? `${frame.slice(0, 199)}…` : frame;
}
