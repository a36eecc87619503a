import {
  createInboundEngine,
  explain as explainDecision,
  formatExplanation,
  type Decision,
  type GrayConfig,
  type GrayRequest,
  type InboundCarrier,
  type MarkerSource,
} from '@graylane/core';
import { pair, parse } from '../args.js';
import { instantOption } from '../instant.js';
import { CliError, paint } from '../io.js';
import type { Run } from '../input/run.js';
import { requireConfig } from '../load.js';
import { scheduleLines, schedulesAt } from '../schedule.js';

export const explainHelp = `Usage: graylane explain <config | - | etcd://…> [options]

Which version would this request get, and why? Markers are read by the same engine
an 'open' trust server runs, in its order: header X-Gray-Id, cookie __Host-gray then
gray, query gray, baggage gray; an ignored marker is listed with its reason. Then rules.

Options:
  --header 'Name: value'   request header (repeatable)
  --cookie name=value      cookie (repeatable)
  --query name=value       query parameter (repeatable)
  --attr name=value        caller attribute such as userId (repeatable)
  --path /api/x            request path
  --method GET             request method
  --host shop.example      request host
  --at 2026-12-24T10:00:00Z    evaluate at this instant (default: now); scheduled
                           ramps show every step and the share in force then
  --now …                  the same as --at
  --json                   machine-readable output`;

const options = {
  header: { type: 'string', multiple: true },
  cookie: { type: 'string', multiple: true },
  query: { type: 'string', multiple: true },
  attr: { type: 'string', multiple: true },
  path: { type: 'string' },
  method: { type: 'string' },
  host: { type: 'string' },
  now: { type: 'string' },
  at: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function explain(args: readonly string[], io: Run): Promise<number> {
  const { values, positionals } = parse(args, options, explainHelp);
  if (positionals.length !== 1) throw new CliError(explainHelp);
  const config = await requireConfig(positionals[0] as string, io);
  if (values.at !== undefined && values.now !== undefined)
    throw new CliError('--at and --now are the same option: give one');
  const now = instantOption(values.at ?? values.now, values.at === undefined ? '--now' : '--at');
  const headers = pairs(values.header, ':', 'header', true);
  const cookies = pairs(values.cookie, '=', 'cookie');
  const query = pairs(values.query, '=', 'query');
  const request: GrayRequest = {
    headers: record(headers),
    cookies: record(cookies),
    query: record(query),
    attrs: Object.fromEntries(pairs(values.attr, '=', 'attr')),
    path: values.path,
    method: values.method,
    host: values.host,
    now,
  };
  const marker = readMarkers(config, now, { headers, cookies, query, request });
  const e = explainDecision(config, request, { rejected: marker.rejected });
  const decision: Decision = marker.decision ?? e.decision;
  const schedules = schedulesAt(config, now);
  if (values.json) {
    io.out(
      JSON.stringify(
        {
          at: new Date(now).toISOString(),
          decision,
          markers: marker.notes,
          rules: marker.decision ? [] : e.rules,
          schedules,
        },
        null,
        2,
      ),
    );
    return 0;
  }
  for (const note of marker.notes) io.out(paint(io, 'dim', note));
  if (marker.decision)
    io.out(
      `version ${paint(io, 'bold', decision.version)} (reason: ${decision.reason}); rules not consulted`,
    );
  else
    io.out(
      formatExplanation(e).replace(
        /^version (\S+)/,
        (_m, v: string) => `version ${paint(io, 'bold', v)}`,
      ),
    );
  for (const view of schedules) for (const line of scheduleLines(view, now)) io.out(line);
  return 0;
}

type Pairs = readonly (readonly [string, string])[];

/** `--flag k=v` values in order, duplicates kept (a repeated marker is ambiguous to a server). */
function pairs(items: string[] | undefined, sep: '=' | ':', what: string, lower = false): Pairs {
  return (items ?? []).map((item) => {
    const [k, v] = pair(item, sep, what);
    return [lower ? k.toLowerCase() : k, v] as const;
  });
}

/** Pairs as a rule-lookup record (a repeated name keeps every value, as Node delivers headers). */
function record(list: Pairs): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [k, v] of list) {
    const had = out[k];
    out[k] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
  }
  return out;
}

interface MarkerOutcome {
  decision?: Decision;
  rejected?: Decision['rejected'];
  notes: string[];
}

/**
 * The marker step, by the inbound engine an open-trust server runs (so explain can never read
 * markers differently from the server: `__Host-gray` before `gray`, baggage, duplicates and
 * quotes included), on a request built from the command-line flags.
 */
function readMarkers(
  config: GrayConfig,
  now: number,
  flags: { headers: Pairs; cookies: Pairs; query: Pairs; request: GrayRequest },
): MarkerOutcome {
  const ignored: { source: MarkerSource; reason: string }[] = [];
  const engine = createInboundEngine<undefined>(
    { config, trust: 'open', sticky: false, now: () => now },
    {
      randomId: () => 'explain',
      counters: {
        decision: () => undefined,
        invalidMarker: (source, reason) => void ignored.push({ source, reason }),
      },
    },
  );
  const headers = record(flags.headers);
  const cookieHeader = [
    ...[headers['cookie'] ?? []].flat(),
    ...flags.cookies.map(([k, v]) => `${k}=${v}`),
  ].join('; ');
  if (cookieHeader !== '') headers['cookie'] = cookieHeader;
  const search = new URLSearchParams(
    flags.query.map(([k, v]): [string, string] => [k, v]),
  ).toString();
  const carrier: InboundCarrier = {
    header: (name) => headers[name],
    headers,
    method: flags.request.method ?? 'GET',
    url: `${flags.request.path ?? '/'}${search === '' ? '' : `?${search}`}`,
    host: flags.request.host,
    secure: false,
    remoteAddress: undefined,
  };
  const { decision } = engine.evaluate(carrier, undefined);
  const raw = rawMarkers(flags);
  const notes = ignored.map(
    (r) => `${r.source} marker ${JSON.stringify(raw[r.source])}: ignored (${r.reason})`,
  );
  const source = decision.source;
  if (isMarkerSource(source)) {
    notes.push(`${source} marker ${JSON.stringify(raw[source])}: valid`);
    return { decision, notes };
  }
  return { rejected: decision.rejected, notes };
}

/** What the client sent on each marker carrier, for the notes. */
function rawMarkers(flags: {
  headers: Pairs;
  cookies: Pairs;
  query: Pairs;
}): Record<MarkerSource, string> {
  const all = (list: Pairs, names: readonly string[]): string =>
    list
      .filter(([k]) => names.includes(k))
      .map(([, v]) => v)
      .join(', ');
  return {
    header: all(flags.headers, ['x-gray-id']),
    cookie: all(flags.cookies, ['__Host-gray', 'gray']),
    query: all(flags.query, ['gray']),
    baggage: all(flags.headers, ['baggage']),
  };
}

const MARKER_SOURCES: ReadonlySet<string> = new Set(['header', 'cookie', 'query', 'baggage']);
function isMarkerSource(source: string): source is MarkerSource {
  return MARKER_SOURCES.has(source);
}
