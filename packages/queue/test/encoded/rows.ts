import { signMarker } from '@graylane/node';
import { readBaggageMember } from '@graylane/core';
import { KEY, KID } from '../helpers.js';
import { TRUSTS, says, text, valuesOf, type Kept, type Trust } from '../relay.js';

/**
 * GW-01 with the marker anywhere in the table: a handler sees, and a relay forwards, every key
 * of a message's headers, so the consumer must judge — and, when it refuses, remove — a marker
 * wherever it sits. The reader used to stop after 256 keys (and the removal used that reader): a
 * marker at index 256 or later was neither honoured nor removed.
 */
export type Pair = readonly [string, string];

// Valid for the whole run (the file may wait behind others before these rows run).
export const TOKEN = signMarker('beta', { key: KEY, kid: KID, ttlSeconds: 3600 });
const STABLE: Kept = { version: 'stable' };

/** Where the marker sits: `before` keys come first (the old reader saw indexes 0–255). */
export interface Position {
  readonly name: string;
  readonly before: number;
  readonly after: number;
  /** Passes on the old reader too (the marker within its first 256 keys). */
  readonly control?: boolean;
}

export const POSITIONS: readonly Position[] = [
  { name: 'at index 255 (cap - 1)', before: 255, after: 0, control: true },
  { name: 'at index 256 (cap)', before: 256, after: 0 },
  { name: 'at index 257 (cap + 1)', before: 257, after: 0 },
  { name: 'after 3,000 other keys', before: 3000, after: 0 },
  { name: 'first, 3,000 keys after it', before: 0, after: 3000, control: true },
];

/** One way the consumer reads a marker, and what stays on the message per trust mode. */
export interface Spelling {
  readonly name: string;
  /** Pairs at index 0 (a first spelling, for the HDR-07 row). */
  readonly lead?: readonly Pair[];
  /** The pairs put at the position. */
  readonly marker: readonly Pair[];
  readonly expect: Readonly<Record<Trust, Kept>>;
  /** Trust modes in which the old reader already got this right. */
  readonly controlIn?: readonly Trust[];
}

const LABEL: Record<Trust, Kept> = {
  open: { version: 'beta', header: 'beta' },
  signed: STABLE,
  ignore: STABLE,
};

export const SPELLINGS: readonly Spelling[] = [
  { name: 'x-gray-id: beta', marker: [['x-gray-id', 'beta']], expect: LABEL },
  { name: 'X-Gray-Id: beta', marker: [['X-Gray-Id', 'beta']], expect: LABEL },
  { name: 'X-GRAY-ID: beta', marker: [['X-GRAY-ID', 'beta']], expect: LABEL },
  {
    name: 'x-gray-id: <signed token>',
    marker: [['x-gray-id', TOKEN]],
    expect: { open: STABLE, signed: { version: 'beta', header: TOKEN }, ignore: STABLE },
  },
  {
    name: 'baggage: a=1,gray=beta',
    marker: [['baggage', 'a=1,gray=beta']],
    expect: {
      open: { version: 'beta', baggage: 'a=1,gray=beta' },
      signed: { version: 'stable', baggage: 'a=1' },
      ignore: { version: 'stable', baggage: 'a=1' },
    },
  },
  {
    name: 'Baggage: gray=<signed token>',
    marker: [['Baggage', `gray=${TOKEN}`]],
    expect: { open: STABLE, signed: { version: 'beta', baggage: `gray=${TOKEN}` }, ignore: STABLE },
  },
  {
    name: 'HDR-07 x-gray-id first, X-Gray-Id here too',
    lead: [['x-gray-id', 'beta']],
    marker: [['X-Gray-Id', 'beta']],
    expect: { open: STABLE, signed: STABLE, ignore: STABLE },
    // A refused first spelling already had every spelling removed.
    controlIn: ['signed', 'ignore'],
  },
];

/** The header pairs of one row, in order. */
export function pairsOf(spelling: Spelling, position: Position): Pair[] {
  const lead = spelling.lead ?? [];
  const junk = (n: number, from: number): Pair[] =>
    Array.from({ length: n }, (_, i) => [`j${from + i}`, 'x'] as const);
  const before = Math.max(0, position.before - lead.length);
  return [...lead, ...junk(before, 0), ...spelling.marker, ...junk(position.after, before)];
}

export interface TableRow {
  readonly key: string;
  readonly trust: Trust;
  readonly spelling: Spelling;
  readonly position: Position;
  readonly pairs: readonly Pair[];
  readonly want: Kept;
  /** `(control)` for rows the old reader passed, else empty: part of the test name. */
  readonly tag: string;
}

export const TABLE_ROWS: readonly TableRow[] = TRUSTS.flatMap((trust) =>
  SPELLINGS.flatMap((spelling, s) =>
    POSITIONS.map((position, p) => ({
      key: `${trust}|${s}|${p}`,
      trust,
      spelling,
      position,
      pairs: pairsOf(spelling, position),
      want: spelling.expect[trust],
      tag: position.control || spelling.controlIn?.includes(trust) ? '(control)' : '',
    })),
  ),
);

/** What one consumed message gave, on any carrier. */
export interface Got {
  readonly version: string;
  /** The table the handler sees (AMQP: `for…in`, as a raw republish encodes it). */
  readonly seen: Readonly<Record<string, unknown>>;
  /** What graylane's own relay carrier makes of it (grayPublishOptions and its peers). */
  readonly relayed: Readonly<Record<string, unknown>>;
  /** The docs' "copy one header" idiom: the marker header read by name. */
  readonly single: unknown;
}

/**
 * The problems of a table relayed as it is (no graylane carrier): every marker value and `gray`
 * baggage member left on it must name the version decided here (none is fine).
 */
export function rawProblems(headers: Readonly<Record<string, unknown>>, version: string): string[] {
  const problems = valuesOf(headers, 'x-gray-id')
    .filter((v) => !says(v, version))
    .map((v) => `x-gray-id ${v.slice(0, 40)}`);
  const member = readBaggageMember(valuesOf(headers, 'baggage').join(','), 'gray');
  if (member.kind !== 'absent' && !(member.kind === 'value' && says(member.value, version))) {
    problems.push(`baggage member ${member.kind}`);
  }
  return problems;
}

/** The single-header copy, when there, names the version decided here. */
export function singleProblems(value: unknown, version: string): string[] {
  const t = text(value);
  return t === undefined || t === '' || says(t, version) ? [] : [`copied ${t.slice(0, 40)}`];
}
