import { RE2JS } from 're2js';
import {
  createRe2Engine,
  validateConfig,
  type GrayConfig,
  type ValidationResult,
} from '@graylane/core';
import { CliError } from './io.js';
import { printable } from './text.js';
import { INPUT_LIMITS, NOT_UTF8, readInput } from './input/read.js';
import type { Run } from './input/run.js';

/** The regex engine of every config the CLI validates (linear time, RE2 semantics). */
export const regex = createRe2Engine(RE2JS);

/** A config read and validated; `display` is the location as it may be printed. */
export interface LoadedConfig {
  readonly result: ValidationResult;
  readonly display: string;
  readonly text: string;
}

/**
 * Reads (path, `-`, `etcd://…`) and validates; never throws for an invalid document. Bytes that
 * are not UTF-8 make it invalid (as every rule source refuses them), never silently replaced; so
 * does a document over the config cap, read no further (core and the etcd source say the same:
 * `document larger than 1048576 bytes`), wherever it comes from: exit 1, never an I/O error.
 */
export async function loadConfig(
  location: string,
  run: Run,
  what = 'config',
): Promise<LoadedConfig> {
  const input = await readInput(location, run, {
    what,
    maxBytes: INPUT_LIMITS.config,
    reportTooLarge: true,
  });
  const refused = input.tooLarge ?? (input.utf8 ? undefined : NOT_UTF8);
  return {
    result:
      refused === undefined
        ? validateConfig(input.text, { regex })
        : { ok: false, errors: [{ path: '$', message: refused }], warnings: [] },
    display: input.display,
    text: input.text,
  };
}

/** Reads, validates and returns the config, or fails (exit 1) with every problem listed. */
export async function requireConfig(
  location: string,
  run: Run,
  what = 'config',
): Promise<GrayConfig> {
  const { result, display } = await loadConfig(location, run, what);
  if (!result.ok) {
    throw new CliError(
      `${printable(display)} is not a valid config:\n${problemLines(result.errors)}`,
      1,
      'invalid_config',
      result.errors.map((e) => ({ path: e.path, message: e.message })),
    );
  }
  return result.config;
}

/** One line per problem, indented, its path and message escaped (they quote the document: I1). */
export function problemLines(problems: readonly { path: string; message: string }[]): string {
  return problems.map((e) => `  ${printable(e.path)}: ${printable(e.message)}`).join('\n');
}
