import http, { IncomingMessage, METHODS } from 'node:http';
import {
  DEFAULT_HEADER,
  DEFAULT_MARKER_KEY,
  DEFAULT_MARKER_COOKIES,
  MARKER_SOURCES,
  explain as explainDecision,
  formatExplanation,
  hostOnly,
  readBaggageMember,
  readCookie,
  readCookies,
  readQueryParam,
  rulePath,
  type Decision,
  type GrayConfig,
  type GrayRequest,
  type KeyRead,
  type MarkerSource,
  type RuleTrace,
} from '@graylane/core';
import { createGraylane } from '@graylane/node';
import { once, pair, parse } from '../args.js';
import { instantOption } from '../instant.js';
import { CliError, paint } from '../io.js';
import {
  checkHeadSize,
  codePoint,
  requestTarget,
  shownFlag,
  type HeadPart,
  serverTarget,
  targetText,
  wireValue,
} from './explain-request.js';
import type { Run } from '../input/run.js';
import { requireConfig } from '../load.js';
import { printable, quoted } from '../text.js';
import { scheduleLines, schedulesAt } from '../schedule.js';

export const explainHelp = `Usage: graylane explain <config | - | etcd://…> [options]

Which version would this request get, and why? The request is decided by the middleware
an 'open' trust @graylane/node server runs, on the request the flags spell: header
X-Gray-Id, cookie __Host-gray, __Secure-gray then gray, query gray, baggage gray, then the rules. Each
marker carrier prints what was read from it, and whether it was used or ignored (why).

Options:
  --header 'Name: value'   request header line (repeatable; repeats combine as in Node)
  --cookie name=value      cookie pair, as sent in the Cookie header (repeatable)
  --query name=value       query pair, as it appears in the URL: percent-escapes and +
                           are decoded as the server decodes them (repeatable)
  --attr name=value        caller attribute such as userId (repeatable)
  --path /api/x            request target, as on the request line: a path (/api/x), *
                           or an absolute URL (http://h/api/x); rules match its path as
                           the server does (/a/../b is /b, %61 is a; a # starts the query)
  --method GET             request method, one of Node's http.METHODS (upper case)
  --host shop.example      request host (a Host line; given twice, the first counts,
                           as in Node). Without a Host line (--host or --header Host) the
                           request is HTTP/1.0: Node answers 400 to HTTP/1.1 without one
  A character outside ASCII in --path or --query is sent UTF-8 percent-encoded, as a
  browser sends it; a space or control character there is refused (a server answers 400).
  A --header, --cookie or --host value is sent as its UTF-8 bytes, which Node reads as
  Latin-1 (é arrives as Ã©, as from curl); a control character there is refused.
  A request whose target and header lines come to 16 KiB or more is refused too (a server
  answers 431): run explain with NODE_OPTIONS=--max-http-header-size=N for servers that allow N.
  --at 2026-12-24T10:00:00Z    evaluate at this instant (default: now); scheduled
                           ramps show every step and the share in force then
  --now …                  the same as --at
  --json                   machine-readable output`;

const options = {
  header: { type: 'string', multiple: true },
  cookie: { type: 'string', multiple: true },
  query: { type: 'string', multiple: true },
  attr: { type: 'string', multiple: true },
  // Declared `multiple` so that a repeat is seen, not silently the last one.
  path: { type: 'string', multiple: true },
  method: { type: 'string', multiple: true },
  host: { type: 'string', multiple: true },
  now: { type: 'string', multiple: true },
  at: { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const;

export async function explain(args: readonly string[], io: Run): Promise<number> {
  const { values, positionals } = parse(args, options, explainHelp);
  if (positionals.length !== 1) throw new CliError(explainHelp);
  const at = once(values.at, 'at', 'evaluate at one instant');
  const nowText = once(values.now, 'now', 'evaluate at one instant');
  if (at !== undefined && nowText !== undefined)
    throw new CliError('--at and --now are the same option: give one');
  const now = instantOption(at ?? nowText, at === undefined ? '--now' : '--at');
  const method = requestMethod(once(values.method, 'method', 'a request has one method'));
  const headerLines = (values.header ?? []).map((h) =>
    headerLine(pair(h, ':', 'header'), `--header ${quoted(h)}`),
  );
  const cookies = (values.cookie ?? []).map((c) =>
    headerLine(pair(c, '=', 'cookie'), `--cookie ${quoted(c)}`, 'value'),
  );
  const query = (values.query ?? []).map((q) => {
    const [k, v] = pair(targetText(q, '--query'), '=', 'query');
    return `${k}=${v}`;
  });
  const attrs = Object.fromEntries((values.attr ?? []).map((a) => pair(a, '=', 'attr')));
  const path = requestTarget(once(values.path, 'path', 'a request line has one target'));
  // The request the flags spell, as a Node server receives it: one header line per --header,
  // the --cookie pairs on one Cookie line, one Host line per --host (Node keeps the first), the
  // --query pairs (as on the request line) after --path.
  const lines: [string, string][] = [...headerLines];
  if (cookies.length > 0) lines.push(['Cookie', cookies.map(([k, v]) => `${k}=${v}`).join('; ')]);
  for (const host of values.host ?? [])
    lines.push(headerLine(['Host', host], `--host ${quoted(host)}`, 'value'));
  const search = query.join('&');
  const url = search === '' ? path : `${path}${path.includes('?') ? '&' : '?'}${search}`;
  checkHeadSize(headParts(values, lines, path, url), http.maxHeaderSize);
  const config = await requireConfig(positionals[0] as string, io);
  const req = nodeRequest(lines, method, url);
  // What the rules and the notes read, taken before the middleware edits the request (it
  // removes the markers it read, GW-01), from the target as the middleware reads it.
  const headers = { ...req.headers };
  const target = serverTarget(url);
  const view = ruleView(headers, target, req.method, attrs, now);
  const reads = markerReads(headers, target);
  const { decision, rejections } = decideAsServer(config, now, attrs, req);
  const notes = markerNotes(reads, decision, rejections);
  const byMarker = isMarkerSource(decision.source);
  // Said when the server's normalisation changed the path its rules match (`/a/../b` is `/b`).
  const given = url.slice(0, url.includes('?') ? url.indexOf('?') : url.length);
  const pathNote =
    byMarker || view.path === given
      ? undefined
      : `path ${quoted(given)}: rules match it as ${quoted(view.path ?? '')}`;
  const e = explainDecision(config, view, { rejected: decision.rejected });
  const schedules = schedulesAt(config, now);
  if (values.json) {
    io.out(
      JSON.stringify(
        {
          ok: true,
          at: new Date(now).toISOString(),
          decision,
          path: view.path,
          markers: notes,
          rules: byMarker ? [] : e.rules,
          schedules,
        },
        null,
        2,
      ),
    );
    return 0;
  }
  // Each note, rule id, condition and version is one line that quotes the config or the request
  // (a header name, a matcher value): escaped before core's format joins them (I1).
  for (const note of notes) io.out(paint(io, 'dim', printable(note)));
  if (pathNote !== undefined) io.out(paint(io, 'dim', printable(pathNote)));
  const shown = printableDecision(decision);
  if (byMarker)
    io.out(
      `version ${paint(io, 'bold', shown.version)} (reason: ${shown.reason}); rules not consulted`,
    );
  else
    io.out(
      formatExplanation({ decision: shown, rules: e.rules.map(printableTrace) }).replace(
        /^version (\S+)/,
        (_m, v: string) => `version ${paint(io, 'bold', v)}`,
      ),
    );
  for (const view of schedules) for (const line of scheduleLines(view, now)) io.out(line);
  return 0;
}

type Lookup = Record<string, string | string[] | undefined>;

/** A decision with every text field escaped, for the text output. */
function printableDecision(decision: Decision): Decision {
  return {
    ...decision,
    version: printable(decision.version),
    reason: printable(decision.reason) as Decision['reason'],
    ...(decision.ruleId === undefined ? {} : { ruleId: printable(decision.ruleId) }),
    ...(decision.rejected === undefined
      ? {}
      : {
          rejected: {
            ...decision.rejected,
            reason: printable(decision.rejected.reason) as typeof decision.rejected.reason,
          },
        }),
  };
}

/** One rule's trace with its id and every detail line escaped. */
function printableTrace(step: RuleTrace): RuleTrace {
  return { ...step, ruleId: printable(step.ruleId), details: step.details.map(printable) };
}

/** The longest of a repeatable flag's values (the one a size message names). */
function longest(list: readonly string[]): string {
  return list.reduce((a, b) => (b.length > a.length ? b : a), '');
}

/**
 * Each flag's share of the request head Node's parser counts: the target (`--path`, then the
 * `--query` pairs), and each line's name and value, in the order `lines` holds them (the
 * `--header` lines, one `Cookie` line, the `--host` lines).
 */
function headParts(
  values: {
    readonly header?: readonly string[] | undefined;
    readonly cookie?: readonly string[] | undefined;
    readonly query?: readonly string[] | undefined;
    readonly path?: readonly string[] | undefined;
    readonly host?: readonly string[] | undefined;
  },
  lines: readonly [string, string][],
  path: string,
  url: string,
): HeadPart[] {
  const headers = values.header ?? [];
  const cookies = values.cookie ?? [];
  const flags = [
    ...headers.map((h) => shownFlag('--header', h)),
    ...(cookies.length > 0 ? [shownFlag('--cookie', longest(cookies))] : []),
    ...(values.host ?? []).map((h) => shownFlag('--host', h)),
  ];
  return [
    { flag: shownFlag('--path', values.path?.[0] ?? '/'), bytes: path.length },
    { flag: shownFlag('--query', longest(values.query ?? [])), bytes: url.length - path.length },
    ...lines.map(([name, value], i) => ({
      flag: flags[i] ?? name,
      bytes: name.length + value.length,
    })),
  ];
}

/**
 * `--method`, refused where no middleware would see the request: Node's parser answers 400 to a
 * method that is not one of `http.METHODS` (it is case-sensitive: `post` is refused), and hands
 * `CONNECT` to the server's `connect` listener instead of its request handler.
 */
function requestMethod(method: string | undefined): string {
  if (method === undefined) return 'GET';
  if (method === 'CONNECT')
    throw new CliError(
      "--method CONNECT: a Node server hands a CONNECT request to its 'connect' listener; no middleware sees it",
    );
  if (METHODS.includes(method)) return method;
  const upper = method.toUpperCase();
  throw new CliError(
    `--method ${quoted(method)}: a Node server answers 400 to a method that is not one of http.METHODS (upper case)${METHODS.includes(upper) && upper !== 'CONNECT' ? `: ${upper}?` : ''}`,
  );
}

/** An HTTP token (RFC 9110 §5.6.2): what Node's parser accepts as a header name. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What Node's parser refuses in a header value: C0 controls but tab, and DEL. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const VALUE_REFUSED = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/**
 * A header line (or a `--cookie` pair, a `--host`: `value` only), refused where Node's parser
 * would answer 400, with `flag` (the option as given) in the message.
 */
function headerLine(
  [name, value]: [string, string],
  flag: string,
  check: 'line' | 'value' = 'line',
): [string, string] {
  if (check === 'line' && !TOKEN.test(name))
    throw new CliError(
      `${flag}: ${quoted(name)} is not a header name (letters, digits and !#$%&'*+-.^_\`|~ only; a Node server answers 400)`,
    );
  const bad = VALUE_REFUSED.exec(value)?.[0];
  if (bad !== undefined)
    throw new CliError(
      `${flag}: a header value cannot hold the control character ${codePoint(bad)} (a Node server answers 400)`,
    );
  return [name, wireValue(value, flag)];
}

/**
 * A Node `IncomingMessage` holding `lines`, combined exactly as Node's HTTP parser combines a
 * request's header lines (names lower-cased; repeated `Cookie` lines joined with `; `, most
 * others with `, `; a repeated `Host` keeps the first). Node's own code does it, so a repeated
 * marker header reaches the middleware as it would from the wire (HDR-07).
 */
function nodeRequest(
  lines: readonly [string, string][],
  method: string,
  url: string,
): IncomingMessage {
  const req = new IncomingMessage(null as never);
  const raw = lines.flat();
  const add = (req as unknown as { _addHeaderLines?: (raw: string[], n: number) => void })
    ._addHeaderLines;
  if (typeof add === 'function') add.call(req, raw, raw.length);
  else
    for (const [k, v] of lines) {
      const name = k.toLowerCase();
      const had = req.headers[name];
      req.headers[name] =
        had === undefined ? v : `${String(had)}${name === 'cookie' ? '; ' : ', '}${v}`;
    }
  req.method = method;
  req.url = url;
  return req;
}

/**
 * Decides `req` with `@graylane/node`'s middleware (`decideRequest`) in `open` trust, without
 * sticky cookies, at `now`: the decision a server running this config makes for this request,
 * and the markers it ignored, in precedence order.
 */
function decideAsServer(
  config: GrayConfig,
  now: number,
  attrs: Record<string, string>,
  req: IncomingMessage,
): { decision: Decision; rejections: { source: MarkerSource; reason: string }[] } {
  // A `cookie:` split without sticky cookies is warned about on the console: explain is not a
  // server, and nothing is set for it to warn about.
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    const gray = createGraylane({
      config,
      trust: 'open',
      sticky: false,
      now: () => now,
      attributes: () => attrs,
    });
    const decision = gray.decideRequest(req);
    const ignored = gray.stats().invalidMarkers;
    const rejections = MARKER_SOURCES.flatMap((source) =>
      ignored.filter((r) => r.source === source).map((r) => ({ source, reason: r.reason })),
    );
    return { decision, rejections };
  } finally {
    console.warn = warn;
  }
}

/**
 * The request as the rules read it: headers as Node delivered them, cookies and query
 * parameters through core's readers (the ones the server's request view uses), the path through
 * core's `rulePath`, the normalisation the engine applies before its `path` rules match (percent-
 * escaped unreserved characters, `\\`, dot segments), so the trace and the decision read one path.
 */
function ruleView(
  headers: Lookup,
  url: string,
  method: string | undefined,
  attrs: Record<string, string>,
  now: number,
): GrayRequest {
  const q = url.indexOf('?');
  const search = q === -1 ? undefined : url.slice(q + 1);
  const value = (r: KeyRead): string | undefined => (r.kind === 'value' ? r.value : undefined);
  const authority = headers[':authority'];
  return {
    headers,
    cookies: (name) => value(readCookie(headers['cookie'], name)),
    query: (name) => value(readQueryParam(search, name)),
    attrs,
    path: rulePath(q === -1 ? url : url.slice(0, q)),
    method,
    host: hostOnly(
      typeof authority === 'string' && authority !== '' ? authority : str(headers['host']),
    ),
    now,
  };
}

function str(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** What one marker carrier held, as the server's reader read it. */
interface CarrierRead {
  /** The name read (the first of `__Host-gray`, `__Secure-gray`, `gray` sent), for the note. */
  readonly name: string;
  readonly read: KeyRead;
  /** Marker cookies the server did not read because an earlier name came first. */
  readonly shadowed?: readonly { readonly name: string; readonly read: KeyRead }[] | undefined;
}

/** Each carrier's marker, read from the request by core's readers (the server's). */
function markerReads(headers: Lookup, url: string): Record<MarkerSource, CarrierRead> {
  const header = headers[DEFAULT_HEADER];
  const q = url.indexOf('?');
  // The server's names in its order (core's list): the first one sent is read, the rest not.
  const reads = readCookies(headers['cookie'], DEFAULT_MARKER_COOKIES);
  const sent = DEFAULT_MARKER_COOKIES.map((name, i) => ({
    name,
    read: reads[i] as KeyRead,
  })).filter((c) => c.read.kind !== 'absent');
  const [first, ...rest] = sent;
  const cookie: CarrierRead =
    first === undefined
      ? { name: DEFAULT_MARKER_KEY, read: { kind: 'absent' } }
      : { ...first, shadowed: rest.length > 0 ? rest : undefined };
  return {
    header: {
      name: DEFAULT_HEADER,
      read:
        header === undefined
          ? { kind: 'absent' }
          : { kind: 'value', value: Array.isArray(header) ? header.join(', ') : header },
    },
    cookie,
    query: {
      name: DEFAULT_MARKER_KEY,
      read: readQueryParam(q === -1 ? undefined : url.slice(q + 1), DEFAULT_MARKER_KEY),
    },
    baggage: {
      name: DEFAULT_MARKER_KEY,
      read: readBaggageMember(headers['baggage'], DEFAULT_MARKER_KEY),
    },
  };
}

/** `value "beta"`, `repeated with different values`, `too long` — what a reader found. */
function shown(r: KeyRead): string {
  switch (r.kind) {
    case 'value':
      return JSON.stringify(r.value);
    case 'ambiguous':
      return '(repeated with different values)';
    case 'too_long':
      return '(over the size limit)';
    case 'absent':
      return '(absent)';
  }
}

/** One line per marker carrier the server used or ignored, with what it read there. */
function markerNotes(
  reads: Record<MarkerSource, CarrierRead>,
  decision: Decision,
  rejections: readonly { source: MarkerSource; reason: string }[],
): string[] {
  const label = (source: MarkerSource): string => {
    const r = reads[source];
    return source === 'cookie'
      ? `cookie marker ${r.name} ${shown(r.read)}`
      : `${source} marker ${shown(r.read)}`;
  };
  const notes = rejections.map((r) => `${label(r.source)}: ignored (${r.reason})`);
  const source = decision.source;
  if (isMarkerSource(source)) {
    notes.push(`${label(source)}: valid`);
  }
  const shadowed = reads.cookie.shadowed ?? [];
  if (source === 'cookie' || rejections.some((r) => r.source === 'cookie'))
    for (const s of shadowed)
      notes.push(
        `cookie marker ${s.name} ${shown(s.read)}: not read (${reads.cookie.name} comes first)`,
      );
  return notes;
}

function isMarkerSource(source: string): source is MarkerSource {
  return (MARKER_SOURCES as readonly string[]).includes(source);
}
