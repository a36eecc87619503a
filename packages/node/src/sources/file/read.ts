import { createHash } from 'node:crypto';
import { MAX_CONFIG_BYTES } from '@graylane/core';
import { decodeDocument, readBoundedFile, type BoundedRead } from '../bounded-read.js';

/** One read of the config file: its text and the hash of its bytes, or why there is none. */
export type FileRead =
  | { readonly kind: 'ok'; readonly text: string; readonly hash: string }
  | Exclude<BoundedRead, { readonly kind: 'ok' }>;

/**
 * Reads the config file: a regular file of at most {@link MAX_CONFIG_BYTES}, checked before any
 * byte is read (SRC-05), never half-written (FLT-10), a UTF-8 BOM dropped (SRC-05), and refused
 * when it is not UTF-8.
 */
export async function readSettledFile(path: string): Promise<FileRead> {
  const read = await readBoundedFile(path, MAX_CONFIG_BYTES);
  if (read.kind !== 'ok') return read;
  const decoded = decodeDocument(read.bytes);
  if (!decoded.ok) return { kind: 'refused', reason: decoded.reason };
  const hash = createHash('sha256').update(read.bytes).digest('hex');
  return { kind: 'ok', text: decoded.text, hash };
}
