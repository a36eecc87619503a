import { MAX_ASSET_PATH_BYTES, MAX_ASSET_PATH_SEGMENTS } from './limits.js';

/** Why a request path is not served (closed set, a counter label). */
export type PathRejection =
  | 'too_long'
  | 'not_absolute'
  | 'bad_escape'
  | 'forbidden_char'
  | 'dot_segment'
  | 'hidden'
  | 'empty_segment'
  | 'too_deep';

/** A request path made safe: relative segments inside the lane folder, never `.`/`..`. */
export type SafePath =
  | { readonly ok: true; readonly segments: readonly string[]; readonly directory: boolean }
  | { readonly ok: false; readonly reason: PathRejection };

const reject = (reason: PathRejection): SafePath => ({ ok: false, reason });

/**
 * Characters no served file name contains, before or after decoding: NUL and controls, `\`
 * (a separator on Windows and in some proxies), `:` (drive letters, NTFS streams), and the
 * Unicode that turns into `/` or `.` under normalisation somewhere downstream.
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f\\:\u2215\u2044\uff0f\uff3c\u2024\uff0e\ufffd]/;
const ESCAPE = /%(?![0-9A-Fa-f]{2})/;
const RAW_FORBIDDEN = /[^\x21-\x7e]/;

/**
 * Turns a request target (`req.url`: origin-form `/a/b?q`, or absolute-form `http://h/a/b`) into
 * segments relative to the lane folder. Total and bounded: the length is checked before any
 * decoding, malformed escapes and bad UTF-8 are rejected without exceptions, and every segment
 * is checked after decoding, so `..`, `%2e%2e`, `%2f`, `\`, NUL, dotfiles and empty segments
 * (`//etc/passwd`) never reach the file system. A trailing `/` asks for the folder's index.
 */
export function safePath(target: string | undefined): SafePath {
  if (typeof target !== 'string') return reject('not_absolute');
  // Look at most one byte past the limit for the end of the path: the rest is never scanned.
  const scan = Math.min(target.length, MAX_ASSET_PATH_BYTES + 1);
  let end = target.length;
  for (let i = 0; i < scan; i++) {
    const c = target.charCodeAt(i);
    if (c === 0x3f /* ? */ || c === 0x23 /* # */) {
      end = i;
      break;
    }
  }
  if (end > MAX_ASSET_PATH_BYTES) return reject('too_long');
  let path = target.slice(0, end);
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/.exec(path);
  if (absolute) path = path.slice(absolute[0].length) || '/';
  if (path.charCodeAt(0) !== 0x2f) return reject('not_absolute');
  // Raw bytes outside printable ASCII never belong in a request target (RFC 3986 §2).
  if (RAW_FORBIDDEN.test(path)) return reject('forbidden_char');
  if (ESCAPE.test(path)) return reject('bad_escape');
  const raw = path.slice(1).split('/');
  const directory = raw[raw.length - 1] === '';
  if (directory) raw.pop();
  if (raw.length > MAX_ASSET_PATH_SEGMENTS) return reject('too_deep');
  const segments: string[] = [];
  for (const part of raw) {
    const segment = decodeSegment(part);
    if (segment === undefined) return reject('bad_escape');
    const problem = checkSegment(segment);
    if (problem) return reject(problem);
    segments.push(segment);
  }
  return { ok: true, segments, directory };
}

function checkSegment(segment: string): PathRejection | undefined {
  if (segment === '') return 'empty_segment';
  if (segment === '.' || segment === '..') return 'dot_segment';
  if (segment.includes('/') || FORBIDDEN.test(segment)) return 'forbidden_char';
  // Dotfiles (`.env`, `.git/`) are never part of a build's public output.
  if (segment.charCodeAt(0) === 0x2e) return 'hidden';
  return undefined;
}

const UTF8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Percent-decodes one segment; `undefined` for invalid UTF-8 (no exception-driven flow). */
function decodeSegment(part: string): string | undefined {
  if (!part.includes('%')) return part;
  const bytes: number[] = [];
  for (let i = 0; i < part.length; i++) {
    const c = part.charCodeAt(i);
    if (c === 0x25) {
      bytes.push(parseInt(part.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c);
    }
  }
  const text = UTF8.decode(Uint8Array.from(bytes));
  // A replacement character means the bytes were not UTF-8 (overlong `%c0%ae`, lone `%ff`).
  return text.includes('\ufffd') ? undefined : text;
}
