import { MAX_CONFIG_BYTES } from '@graylane/core';
import { CliError } from '../io.js';
import { parseLocation } from '../location.js';
import { etcdFailure, openEtcd } from './etcd.js';
import { readFileCapped } from './file.js';
import type { Run } from './run.js';

/** A document read from the command line: its text (a UTF-8 BOM dropped) and where it came from. */
export interface Input {
  readonly text: string;
  /** The location as it may be printed (never with a password). */
  readonly display: string;
}

/** Limits of what the CLI reads, each from where it comes. */
export const INPUT_LIMITS = {
  /** A config document: the config cap (RELIABILITY: 1 MiB, under etcd's 1.5 MiB request). */
  config: MAX_CONFIG_BYTES,
  /** A key file or key ring: keys are short. */
  keys: 64 * 1024,
  /** A request sample for `diff`/`push` (one JSON request per line). */
  sample: 256 * 1024 * 1024,
} as const;

/**
 * Reads `text` (a path, `-` for stdin, or `etcd://…`) as UTF-8, at most `maxBytes`.
 */
export async function readInput(
  text: string,
  run: Run,
  options: { readonly what: string; readonly maxBytes: number },
): Promise<Input> {
  const location = parseLocation(text);
  switch (location.kind) {
    case 'stdin':
      return { text: decode(await run.takeStdin(options.what, options.maxBytes)), display: '-' };
    case 'file':
      return {
        text: decode(await readFileCapped(location.path, options.maxBytes, options.what)),
        display: location.display,
      };
    case 'etcd': {
      const { client, isAuthError } = await openEtcd(location, run);
      try {
        const doc = await client.read();
        if (doc.value === undefined)
          throw new CliError(`etcd key ${location.key} does not exist on ${location.display}`);
        return { text: stripBom(doc.value), display: location.display };
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw etcdFailure(location, err, isAuthError, 'read');
      } finally {
        client.close();
      }
    }
  }
}

/** UTF-8 without a leading byte order mark (editors on Windows write one). */
export function decode(bytes: Uint8Array): string {
  return stripBom(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
