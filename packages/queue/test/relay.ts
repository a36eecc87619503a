import { signMarker, verifyMarker } from '@graylane/node';
import { readBaggageMember } from '@graylane/core';
import { expect, it } from 'vitest';
import { createMessageLanes, type MessageLanes } from '../dist/index.js';
import { CONFIG, KEY, KID, listenLoopback } from './helpers.js';

/**
 * GW-01 for messages: a consumer that refused a marker (or ignores markers) runs the default
 * version; a handler that relays what arrived — republishes the headers, re-enqueues the job
 * data, forwards the header to an HTTP service — must send on the version decided here, never
 * the refused marker. The shared rows below drive every broker suite: what an untrusted producer
 * put on the message, and per trust mode the version decided and what the handler's message
 * still carries (the carrier that decided, as it arrived; nothing refused).
 */
export type Trust = 'open' | 'signed' | 'ignore';
export const TRUSTS: readonly Trust[] = ['open', 'signed', 'ignore'];

/** What the handler's message must still carry, and the version it runs in. */
export interface Kept {
  readonly version: 'stable' | 'beta';
  /** The marker header's value (as text) when it stays; undefined when it must be gone. */
  readonly header?: string;
  /** The whole `baggage` header when it stays; undefined when it must be gone. */
  readonly baggage?: string;
}

export interface RelayShape {
  readonly name: string;
  /** The inbound headers, as an untrusted producer set them. */
  readonly headers: Readonly<Record<string, string | Buffer>>;
  /** Needs a carrier that keeps bytes (AMQP, Kafka). */
  readonly bytes?: boolean;
  readonly expect: Readonly<Record<Trust, Kept>>;
}

// Valid for the whole run: a broker file reaches these rows a minute or more after loading.
const TOKEN = signMarker('beta', { key: KEY, kid: KID, ttlSeconds: 3600 });
const FLIPPED = `${TOKEN.slice(0, -3)}${TOKEN.at(-3) === 'A' ? 'B' : 'A'}${TOKEN.slice(-2)}`;
const STABLE: Kept = { version: 'stable' };

/** Every row removes at least one marker in every mode (so every row fails without GW-01). */
export const RELAY_SHAPES: readonly RelayShape[] = [
  {
    name: 'bare label, disagreeing baggage',
    headers: { 'x-gray-id': 'beta', baggage: 'a=1,gray=stable' },
    expect: {
      open: { version: 'beta', header: 'beta', baggage: 'a=1' },
      signed: { version: 'stable', baggage: 'a=1' },
      ignore: { version: 'stable', baggage: 'a=1' },
    },
  },
  {
    name: 'unknown label, baggage label',
    headers: { 'x-gray-id': 'gamma', baggage: 'gray=beta,b=2' },
    expect: {
      open: { version: 'beta', baggage: 'gray=beta,b=2' },
      signed: { version: 'stable', baggage: 'b=2' },
      ignore: { version: 'stable', baggage: 'b=2' },
    },
  },
  {
    name: 'bare label, signed token in baggage',
    headers: { 'x-gray-id': 'beta', baggage: `a=1,gray=${TOKEN}` },
    expect: {
      open: { version: 'beta', header: 'beta', baggage: 'a=1' },
      signed: { version: 'beta', baggage: `a=1,gray=${TOKEN}` },
      ignore: { version: 'stable', baggage: 'a=1' },
    },
  },
  {
    name: 'signed token, bare baggage label',
    headers: { 'x-gray-id': TOKEN, baggage: 'gray=beta' },
    expect: {
      open: { version: 'beta', baggage: 'gray=beta' },
      signed: { version: 'beta', header: TOKEN },
      ignore: STABLE,
    },
  },
  {
    name: 'token with a flipped signature byte',
    headers: { 'x-gray-id': FLIPPED },
    expect: { open: STABLE, signed: STABLE, ignore: STABLE },
  },
  {
    name: 'HDR-07 the header under two spellings',
    headers: { 'x-gray-id': 'beta', 'X-Gray-Id': 'beta' },
    expect: { open: STABLE, signed: STABLE, ignore: STABLE },
  },
  {
    name: 'blank header, baggage label with a property',
    headers: { 'x-gray-id': '   ', baggage: 'gray=beta;p=1' },
    expect: {
      open: { version: 'beta', baggage: 'gray=beta;p=1' },
      signed: STABLE,
      ignore: STABLE,
    },
  },
  {
    name: 'BG-02 ambiguous baggage member',
    headers: { baggage: 'gray=beta,gray=stable,x=1' },
    expect: {
      open: { version: 'stable', baggage: 'x=1' },
      signed: { version: 'stable', baggage: 'x=1' },
      ignore: { version: 'stable', baggage: 'x=1' },
    },
  },
  {
    name: 'bytes: label, unknown baggage member',
    headers: { 'x-gray-id': Buffer.from('beta'), baggage: Buffer.from('gray=gamma,c=3') },
    bytes: true,
    expect: {
      open: { version: 'beta', header: 'beta', baggage: 'c=3' },
      signed: { version: 'stable', baggage: 'c=3' },
      ignore: { version: 'stable', baggage: 'c=3' },
    },
  },
];

/** One message lanes object per trust mode; handlers may call `127.0.0.1`. */
export function lanesByTrust(): Record<Trust, MessageLanes> {
  const make = (trust: Trust): MessageLanes =>
    createMessageLanes({
      config: CONFIG,
      trust,
      keys: { [KID]: KEY },
      allowHosts: ['127.0.0.1'],
    });
  return { open: make('open'), signed: make('signed'), ignore: make('ignore') };
}

/** A header value as text (bytes as UTF-8), for comparing what a carrier holds. */
export function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(text).join(',');
  return String(value);
}

/** Every value of `name` in a header record, any spelling, as text. */
export function valuesOf(headers: Readonly<Record<string, unknown>>, name: string): string[] {
  return Object.keys(headers)
    .filter((k) => k.toLowerCase() === name)
    .flatMap((k) => {
      const v = headers[k];
      return Array.isArray(v) ? v.map((x) => text(x) ?? '') : [text(v) ?? ''];
    });
}

/** What a handler's message carries now: the marker header and the baggage header, as text. */
export function carried(headers: Readonly<Record<string, unknown>>): {
  header: string | undefined;
  baggage: string | undefined;
} {
  const header = valuesOf(headers, 'x-gray-id');
  const baggage = valuesOf(headers, 'baggage');
  return {
    header: header.length === 0 ? undefined : header.join(' | '),
    baggage: baggage.length === 0 ? undefined : baggage.join(','),
  };
}

/** True when `value` names `version`: the label itself, or a valid token for it. */
export function says(value: string, version: string): boolean {
  if (value === version) return true;
  const verified = verifyMarker(value, { keys: { [KID]: KEY }, versions: CONFIG.versions });
  return verified.ok && verified.version === version;
}

/**
 * The problems of an onward message's headers (relayed by a handler that decided `version`):
 * exactly one marker header value that names `version`, and a `gray` baggage member, if any,
 * that names it too. An empty list when it carries exactly the decided version.
 */
export function onwardProblems(
  headers: Readonly<Record<string, unknown>>,
  version: string,
): string[] {
  const problems: string[] = [];
  const marker = valuesOf(headers, 'x-gray-id');
  if (marker.length !== 1 || !says(marker[0] as string, version)) {
    problems.push(`x-gray-id ${JSON.stringify(marker)}`);
  }
  const baggage = valuesOf(headers, 'baggage').join(',');
  const member = readBaggageMember(baggage, 'gray');
  if (member.kind !== 'absent' && !(member.kind === 'value' && says(member.value, version))) {
    problems.push(`baggage ${JSON.stringify(baggage)}`);
  }
  return problems;
}

/** The rows of one broker: every shape its carrier can hold, in every trust mode. */
export function relayRows(
  bytes: boolean,
): { key: string; trust: Trust; shape: RelayShape; want: Kept }[] {
  return RELAY_SHAPES.filter((s) => bytes || !s.bytes).flatMap((shape) =>
    TRUSTS.map((trust) => ({
      key: `${trust}:${RELAY_SHAPES.indexOf(shape)}`,
      trust,
      shape,
      want: shape.expect[trust],
    })),
  );
}

/**
 * A loopback HTTP service that records the marker and baggage headers each relayed request
 * carried, by the (decoded) path it was sent to.
 */
export async function startRelayEcho(): Promise<{
  url: string;
  seen: Map<string, Record<string, unknown>>;
  close(): Promise<void>;
}> {
  const seen = new Map<string, Record<string, unknown>>();
  const server = await listenLoopback((req, res) => {
    const key = decodeURIComponent((req.url ?? '/').slice(1));
    const headers: Record<string, unknown> = {};
    for (const name of ['x-gray-id', 'baggage']) {
      if (req.headers[name] !== undefined) headers[name] = req.headers[name];
    }
    seen.set(key, headers);
    res.end('ok');
  });
  return { ...server, seen };
}

/** What one relayed message gave: the version decided, what it carried, what went on by path. */
export interface Relayed {
  readonly version: string;
  readonly carried: ReturnType<typeof carried>;
  readonly onward: Record<string, Record<string, unknown>>;
}

/**
 * GW-01 for one row: the handler decided `want.version` and still carried what `want` says, and
 * every onward path (`paths`, in order) sent exactly the decided version on.
 */
export function expectRelayed(r: Relayed | undefined, want: Kept, paths: readonly string[]): void {
  expect({ version: r?.version, ...r?.carried }).toEqual({
    version: want.version,
    header: want.header,
    baggage: want.baggage,
  });
  const onward = Object.entries(r?.onward ?? {}).map(([path, headers]) => ({
    path,
    problems: onwardProblems(headers, want.version),
  }));
  expect(onward).toEqual(paths.map((path) => ({ path, problems: [] })));
}

/** A BullMQ job's `__gray` as an untrusted producer set it, and what stays per trust mode. */
export interface JobShape {
  readonly name: string;
  readonly value: unknown;
  /** The version decided; whether `__gray` stays (as it arrived). */
  readonly expect: Readonly<Record<Trust, { version: 'stable' | 'beta'; kept: boolean }>>;
}

const gone = { version: 'stable', kept: false } as const;
const everywhereGone = { open: gone, signed: gone, ignore: gone };

export const JOB_SHAPES: readonly JobShape[] = [
  {
    name: 'bare label',
    value: 'beta',
    expect: { open: { version: 'beta', kept: true }, signed: gone, ignore: gone },
  },
  { name: 'unknown label', value: 'gamma', expect: everywhereGone },
  {
    name: 'signed token',
    value: TOKEN,
    expect: { open: gone, signed: { version: 'beta', kept: true }, ignore: gone },
  },
  { name: 'flipped token', value: FLIPPED, expect: everywhereGone },
  { name: 'blank', value: '   ', expect: everywhereGone },
  { name: 'number', value: 42, expect: everywhereGone },
  {
    name: 'one-element list',
    value: ['beta'],
    expect: { open: { version: 'beta', kept: true }, signed: gone, ignore: gone },
  },
  { name: 'HDR-07 two values', value: ['beta', 'beta'], expect: everywhereGone },
];

/** Files what the relay echo service saw under `withGray(fetch)`, by message key. */
export function fileEchoed(
  results: ReadonlyMap<string, Relayed>,
  seen: ReadonlyMap<string, Record<string, unknown>>,
): void {
  for (const [key, headers] of seen) {
    const r = results.get(key);
    if (r) r.onward['withGray(fetch)'] = headers;
  }
}

/**
 * The GW-01 rows of one broker: `relayAll` runs every row once (shared by the rows); each row
 * checks its message with {@link expectRelayed} over `paths`.
 */
export function relayTests(
  broker: string,
  rows: readonly { key: string; trust: Trust; shape: RelayShape; want: Kept; entry: string }[],
  relayAll: () => Promise<ReadonlyMap<string, Relayed>>,
  paths: readonly string[],
): void {
  let run: Promise<ReadonlyMap<string, Relayed>> | undefined;
  it.each(rows)(
    `GW-01 ${broker} $trust · $shape.name · $entry`,
    async ({ key, entry, want }) => {
      expectRelayed((await (run ??= relayAll())).get(`${key}|${entry}`), want, paths);
    },
    60_000,
  );
}
