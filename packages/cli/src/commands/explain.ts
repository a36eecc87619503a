import {
  explain as explainDecision,
  formatExplanation,
  parseMarker,
  readCookie,
  readQueryParam,
  type Decision,
  type GrayConfig,
  type GrayRequest,
  type MarkerSource,
} from '@graylane/core';
import { pair, parse } from '../args.js';
import { CliError, paint } from '../io.js';
import type { Run } from '../input/run.js';
import { requireConfig } from '../load.js';

export const explainHelp = `Usage: graylane explain <config | - | etcd://…> [options]

Which version would this request get, and why? Markers are read as an 'open'
trust server reads them (header X-Gray-Id, cookie gray, query gray), then rules.

Options:
  --header 'Name: value'   request header (repeatable)
  --cookie name=value      cookie (repeatable)
  --query name=value       query parameter (repeatable)
  --attr name=value        caller attribute such as userId (repeatable)
  --path /api/x            request path
  --method GET             request method
  --host shop.example      request host
  --now 2026-12-24T10:00:00Z   evaluate at this instant (default: now)
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
  json: { type: 'boolean' },
} as const;

export async function explain(args: readonly string[], io: Run): Promise<number> {
  const { values, positionals } = parse(args, options, explainHelp);
  if (positionals.length !== 1) throw new CliError(explainHelp);
  const config = await requireConfig(positionals[0] as string, io);
  const now = values.now === undefined ? Date.now() : Date.parse(values.now);
  if (!Number.isFinite(now))
    throw new CliError(`--now expects an ISO instant, got ${JSON.stringify(values.now)}`);
  const headers = record(values.header, ':', 'header', true);
  const cookies = record(values.cookie, '=', 'cookie');
  const query = record(values.query, '=', 'query');
  const request: GrayRequest = {
    headers,
    cookies,
    query,
    attrs: record(values.attr, '=', 'attr'),
    path: values.path,
    method: values.method,
    host: values.host,
    now,
  };
  const marker = readMarkers(config, headers, cookies, query);
  const e = explainDecision(config, request, { rejected: marker.rejected });
  const decision: Decision = marker.decision ?? e.decision;
  if (values.json) {
    io.out(
      JSON.stringify(
        { decision, markers: marker.notes, rules: marker.decision ? [] : e.rules },
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
  return 0;
}

function record(
  items: string[] | undefined,
  sep: '=' | ':',
  what: string,
  lower = false,
): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const item of items ?? []) {
    const [k, v] = pair(item, sep, what);
    out[lower ? k.toLowerCase() : k] = v;
  }
  return out;
}

interface MarkerOutcome {
  decision?: Decision;
  rejected?: { source: MarkerSource; reason: NonNullable<Decision['rejected']>['reason'] };
  notes: string[];
}

function readMarkers(
  config: GrayConfig,
  headers: Record<string, string>,
  cookies: Record<string, string>,
  query: Record<string, string>,
): MarkerOutcome {
  const raw: [MarkerSource, string | undefined][] = [
    ['header', headers['x-gray-id']],
    [
      'cookie',
      fromRead(
        readCookie(cookies['gray'] === undefined ? undefined : `gray=${cookies['gray']}`, 'gray'),
      ),
    ],
    [
      'query',
      fromRead(
        readQueryParam(
          query['gray'] === undefined ? undefined : `gray=${encodeURIComponent(query['gray'])}`,
          'gray',
        ),
      ),
    ],
  ];
  const out: MarkerOutcome = { notes: [] };
  for (const [source, value] of raw) {
    if (value === undefined) continue;
    const r = parseMarker(value, config);
    if (r.kind === 'valid') {
      out.notes.push(`${source} marker ${JSON.stringify(value)}: valid`);
      out.decision = { version: r.version, reason: source, source };
      return out;
    }
    if (r.kind === 'invalid') {
      out.notes.push(`${source} marker ${JSON.stringify(value)}: ignored (${r.reason})`);
      out.rejected ??= { source, reason: r.reason };
    }
  }
  return out;
}

function fromRead(r: ReturnType<typeof readCookie>): string | undefined {
  return r.kind === 'value' ? r.value : undefined;
}
