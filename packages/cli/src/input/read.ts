import { isUtf8 } from 'node:buffer';
import { MAX_CONFIG_BYTES } from '@graylane/core';
import { asIoError, CliError, InputTooLarge } from '../io.js';
import { parseLocation } from '../location.js';
import { printable } from '../text.js';
import { etcdFailure, openEtcd } from './etcd.js';
import { readFileCapped } from './file.js';
import type { Run } from './run.js';

/** A document read from the command line: its text (a UTF-8 BOM dropped) and where it came from. */
export interface Input {
  readonly text: string;
  /** The location as it may be printed (never with a password). */
  readonly display: string;
  /**
   * False when the bytes are not valid UTF-8 (`text` then holds U+FFFD in their place): a config
   * document must be refused, never validated or pushed with replaced bytes.
   */
  readonly utf8: boolean;
  /**
   * With `reportTooLarge`: why the document was not read (it is over `maxBytes`), instead of a
   * failure — a config that large is an invalid config (`loadConfig`), as every source says.
   */
  readonly tooLarge?: string | undefined;
}

/** What {@link readInput} reads and how. */
export interface ReadOptions {
  /** What the document is, for messages (`config`, `sample`, `key file`). */
  readonly what: string;
  readonly maxBytes: number;
  /** Return a document over `maxBytes` as {@link Input.tooLarge} instead of failing. */
  readonly reportTooLarge?: boolean | undefined;
}

/** Why a config that is not UTF-8 is invalid (the file, HTTP and etcd sources refuse it too). */
export const NOT_UTF8 =
  'not valid UTF-8 (a JSON document must be UTF-8, RFC 8259 §8.1; was it saved as Latin-1 or UTF-16?)';

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
export async function readInput(text: string, run: Run, options: ReadOptions): Promise<Input> {
  try {
    return await readLocation(text, run, options);
  } catch (err) {
    if (err instanceof InputTooLarge && options.reportTooLarge)
      return {
        text: '',
        display: parseLocation(text).display,
        utf8: true,
        tooLarge: `document larger than ${err.maxBytes} bytes${err.size === undefined ? '' : ` (${err.size} bytes)`}`,
      };
    // A location that cannot be read is an I/O failure (`--json`'s `error.code`: `io`).
    throw asIoError(err);
  }
}

async function readLocation(text: string, run: Run, options: ReadOptions): Promise<Input> {
  const location = parseLocation(text);
  switch (location.kind) {
    case 'stdin':
      return { ...decoded(await run.takeStdin(options.what, options.maxBytes)), display: '-' };
    case 'file':
      return {
        ...decoded(await readFileCapped(location.path, options.maxBytes, options.what)),
        display: location.display,
      };
    case 'etcd': {
      const { client, isAuthError } = await openEtcd(location, run);
      try {
        const doc = await client.read();
        if (doc.value === undefined)
          throw new CliError(
            `etcd key ${printable(location.rawKey)} does not exist on ${printable(location.display)}`,
          );
        return { text: stripBom(doc.value), display: location.display, utf8: doc.utf8 };
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

/** {@link decode}, and whether the bytes were valid UTF-8 at all. */
export function decoded(bytes: Uint8Array): { readonly text: string; readonly utf8: boolean } {
  return { text: decode(bytes), utf8: isUtf8(bytes) };
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
