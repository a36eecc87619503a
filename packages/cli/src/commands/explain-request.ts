import { originForm, routerTarget } from '@graylane/core';

import { CliError } from '../io.js';
import { quoted } from '../text.js';

/**
 * The request line and header values of `graylane explain`, as a Node server (node:http, llhttp)
 * reads the bytes the flags spell: what it answers 400 to is a usage error naming the flag; what
 * it decides is read as it reads it. Probed on Node 20, 22 and 24; `explain-node.test.ts` holds
 * each row to a real server byte by byte.
 */

/**
 * The ASCII Node's HTTP parser refuses anywhere in a request target (answering 400 before any
 * middleware runs): C0 controls, the space (it ends the target: `GET /?q=a b HTTP/1.1` is no
 * request) and DEL. It refuses every byte over 0x7F too, which {@link targetText}
 * percent-encodes.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const TARGET_REFUSED = /[\u0000-\u0020\u007f]/;

/** What llhttp refuses in the authority of an absolute-form target, besides TARGET_REFUSED. */
const AUTHORITY_REFUSED = /["#<>\\^`{|}]/;

/** `scheme://` at the start of an absolute-form target (RFC 3986 scheme), as core reads it. */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** `scheme://` as llhttp reads it: letters only (`h2c://` is a 400). */
const LLHTTP_ABSOLUTE = /^[A-Za-z]+:\/\//;

/**
 * `--path` as the request target: the origin form (`/api/x`), the asterisk form (`*`, any method,
 * as Node takes it) or the absolute form (`http://shop.example/api/x`, what a forward proxy is
 * sent); anything else — `x`, `?a=1`, `shop.example:443`, `h2c://h/x` — Node answers 400 to.
 */
export function requestTarget(path: string | undefined): string {
  if (path === undefined) return '/';
  const target = targetText(path, '--path');
  const first = target.charCodeAt(0);
  if (first === 0x2f || first === 0x2a) return target;
  const scheme = LLHTTP_ABSOLUTE.exec(target);
  if (scheme === null) {
    const hint = ABSOLUTE_FORM.test(target)
      ? ' (its scheme is letters only)'
      : target === '' || target.includes(':')
        ? ''
        : `: write ${quoted(`/${target}`)}`;
    throw new CliError(
      `--path ${quoted(path)}: a Node server answers 400 to a request target that is not a path (/api/x), * or an absolute URL (http://host/api/x)${hint}`,
    );
  }
  const rest = target.slice(scheme[0].length);
  const end = rest.search(/[/?]/);
  const bad = AUTHORITY_REFUSED.exec(end === -1 ? rest : rest.slice(0, end))?.[0];
  if (bad !== undefined)
    throw new CliError(
      `--path ${quoted(path)}: a Node server answers 400 to ${quoted(bad)} in the host of an absolute URL`,
    );
  return target;
}

/**
 * `--path` / `--query` text as it goes on the request line: a character outside ASCII is sent
 * UTF-8 percent-encoded, as browsers and `fetch` send it (Node's parser refuses the raw bytes);
 * an ASCII character a request line cannot hold is a usage error naming the flag.
 */
export function targetText(text: string, flag: string): string {
  const bad = TARGET_REFUSED.exec(text)?.[0];
  if (bad !== undefined)
    throw new CliError(
      `${flag} ${quoted(text)}: a request target cannot hold ${bad === ' ' ? 'a space' : `the control character ${codePoint(bad)}`} (a Node server answers 400 before any middleware runs): write it percent-encoded, ${percent(bad)}${bad === ' ' ? " (or '+' in a query)" : ''}`,
    );
  try {
    // Past the check above, what is not printable ASCII is outside ASCII.
    return text.replace(/[^!-~]+/g, (s) => encodeURIComponent(s));
  } catch {
    throw new CliError(`${flag} ${quoted(text)}: holds a lone surrogate, which is no text`);
  }
}

/**
 * A header value (`--header`, `--cookie`, `--host`) as a Node server reads it: the text is sent
 * as its UTF-8 bytes (as curl sends what a UTF-8 terminal typed) and Node reads every header byte
 * as Latin-1, so `é` arrives as `Ã©` (HDR-10). ASCII is unchanged.
 */
export function wireValue(value: string, flag: string): string {
  if (!/[\u0080-\uffff]/.test(value)) return value;
  if (LONE_SURROGATE.test(value))
    throw new CliError(`${flag}: holds a lone surrogate, which is no text`);
  return Buffer.from(value, 'utf8').toString('latin1');
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The target as `@graylane/node`'s middleware reads it (core's `originForm` and `routerTarget`,
 * the same functions): an absolute-form target without its scheme and authority; the query
 * starting at the first `?` or `#`, a later `#`, a `?` after a `#` and a `?` right after the first
 * separating parameters like `&`. The rules' path and the markers are read from this.
 */
export function serverTarget(url: string): string {
  return routerTarget(originForm(url));
}

export function codePoint(ch: string): string {
  return `U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

function percent(ch: string): string {
  return `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
}

/** One flag's share of the request head Node's parser counts (see {@link checkHeadSize}). */
export interface HeadPart {
  /** The flag as given, for the message (`--header "X-A: …"`). */
  readonly flag: string;
  readonly bytes: number;
}

/**
 * Refuses a request whose head a Node server answers 431 to (Request Header Fields Too Large)
 * before any middleware runs. Node's parser counts the request target and every header line's
 * name and value, as sent — not the method, the version, `: ` or line ends — and refuses the
 * request when they come to `http.maxHeaderSize` bytes or more (probed on Node 20, 22 and 24).
 * That is 16 KiB unless the process runs with `--max-http-header-size=N`: explain reads the limit
 * of the Node running it, so `NODE_OPTIONS=--max-http-header-size=N` gives it the servers' limit.
 * Values are counted as the Latin-1 strings {@link wireValue} makes of them: one byte each.
 */
export function checkHeadSize(parts: readonly HeadPart[], limit: number): void {
  const total = parts.reduce((sum, p) => sum + p.bytes, 0);
  if (total < limit) return;
  const largest = parts.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  throw new CliError(
    `${largest.flag} (${largest.bytes} bytes): the request target and header lines come to ${total} bytes, and a Node server answers 431 (Request Header Fields Too Large) to ${limit} or more (http.maxHeaderSize) before any middleware runs. For servers started with --max-http-header-size=N, run explain with NODE_OPTIONS=--max-http-header-size=N`,
  );
}

/** `--flag "value"`, the value shortened for a message. */
export function shownFlag(flag: string, value: string): string {
  return `${flag} ${quoted(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
}
