import { decodeDocument, type DecodedDocument } from '../bounded-read.js';

/**
 * The bytes of a file that replaced the config file (a new inode at the path), as text, when
 * they are a whole document: UTF-8 and one complete JSON object. Otherwise `undefined`: the file
 * may still be being written.
 *
 * Why this proves a new file complete: a new inode holds no old bytes, so it cannot hold a torn
 * mix of two documents (only an in-place write can, FLT-10); what it holds mid-write is what its
 * writer wrote so far. A writer that writes front to back (every tool that creates a file:
 * `install`, `rm` + `cat >`, an editor's backup-rename save) leaves a strict prefix, and no strict
 * prefix of a JSON object is a JSON object (its closing brace comes last; only whitespace may
 * follow it); a writer that writes out of order leaves holes, which read as NUL bytes, which JSON
 * refuses. A file renamed into place (temp + `rename`, a ConfigMap `..data` swap) was complete
 * before it got there, and parses at once.
 *
 * What this cannot tell: a new file whose writer first writes one whole JSON object and then
 * changes it (appends a second document, or overwrites the first in place right after creating
 * the file) may be read at its first object. Write such a file elsewhere and rename it into place.
 *
 * @example
 * ```ts
 * wholeDocument(Buffer.from('{"versions":["stable"],"default":"stable"}')); // { ok: true, text: '…' }
 * wholeDocument(Buffer.from('{"versions":["stable"],"def')); // undefined
 * ```
 */
export function wholeDocument(bytes: Uint8Array): DecodedDocument | undefined {
  const decoded = decodeDocument(bytes);
  if (!decoded.ok) return undefined;
  try {
    const value: unknown = JSON.parse(decoded.text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? decoded
      : undefined;
  } catch {
    return undefined;
  }
}
