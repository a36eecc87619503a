import { decodeDocument, type DecodedDocument } from '../bounded-read.js';

/**
 * The bytes of a file that newly arrived at the config path as finished files do (see
 * `isFinishedArrival`: one link, the same file name, renamed over or created there or in a
 * swapped directory), as text, when they are a whole document: UTF-8 and one complete JSON
 * object. Otherwise `undefined`: the file may still be being written.
 *
 * Why this proves such a file complete: a torn mix of two documents exists only in an existing
 * file written in place (FLT-10). A file that arrived that way was either written before it got
 * there (renamed or swapped in: complete) or created there, and is being written by the writer
 * that created it. A writer that writes front to back (every tool that creates a file: `install`,
 * `rm` + `cat >`, an editor's backup-rename save) leaves a strict prefix, and no strict prefix of
 * a JSON object is a JSON object (its closing brace comes last; only whitespace may follow it); a
 * writer that writes out of order leaves holes, which read as NUL bytes, which JSON refuses.
 *
 * What this cannot tell: a new file whose writer first writes one whole JSON object and then
 * changes it (appends a second document, or overwrites the first in place right after creating
 * the file) may be read at its first object; nor can it tell an existing file written in place
 * that is renamed or swapped in mid-write (`isFinishedArrival` names those). Write such a file
 * elsewhere, completely, and rename it into place.
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
