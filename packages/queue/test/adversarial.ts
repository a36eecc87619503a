import { DEFAULT_MESSAGE_HEADER } from '@graylane/queue';
import { KEY, KID, token } from './helpers.js';

/**
 * Adversarial message markers (RELIABILITY I1–I4, HDR-04..13 restated for message headers): each
 * row is the raw header value a producer outside graylane could put on a message, and the reason
 * the consumer must report. Every row must bind the default version and never throw.
 */
export interface MarkerCase {
  readonly name: string;
  readonly value: unknown;
  readonly reason:
    | 'invalid_marker'
    | 'unknown_version'
    | 'bad_signature'
    | 'untrusted_marker'
    | 'default'
    | 'baggage';
  /** The whole header table, for rows about the table itself (duplicated names). */
  readonly table?: Readonly<Record<string, unknown>>;
}

const now = Date.now();

/** Rows for `trust: 'open'`. `binary` rows need a carrier that keeps bytes (AMQP, Kafka). */
export function openCases(): MarkerCase[] {
  return [
    { name: 'oversized 5,000 × a', value: 'a'.repeat(5000), reason: 'invalid_marker' },
    { name: 'oversized 65 bytes', value: `b${'e'.repeat(64)}`, reason: 'invalid_marker' },
    { name: 'CRLF injection', value: 'beta\r\nx-evil: 1', reason: 'invalid_marker' },
    { name: 'trailing CRLF', value: 'beta\r\n', reason: 'invalid_marker' },
    { name: 'NUL inside', value: 'be\u0000ta', reason: 'invalid_marker' },
    { name: '__proto__', value: '__proto__', reason: 'invalid_marker' },
    { name: 'constructor', value: 'constructor', reason: 'unknown_version' },
    { name: 'toString', value: 'toString', reason: 'invalid_marker' },
    { name: 'hasOwnProperty', value: 'hasOwnProperty', reason: 'invalid_marker' },
    { name: 'unknown version', value: 'gamma', reason: 'unknown_version' },
    { name: 'upper case', value: 'BETA', reason: 'invalid_marker' },
    { name: 'list in one value', value: 'beta, stable', reason: 'invalid_marker' },
    { name: 'same value listed twice', value: 'beta,beta', reason: 'invalid_marker' },
    { name: 'quoted', value: '"beta"', reason: 'invalid_marker' },
    { name: 'parameter', value: 'beta;q=1', reason: 'invalid_marker' },
    { name: 'zero-width space', value: 'beta\u200b', reason: 'invalid_marker' },
    { name: 'latin-1 mojibake', value: 'bÃ©ta', reason: 'invalid_marker' },
    { name: 'CJK', value: '灰度', reason: 'invalid_marker' },
    { name: 'empty', value: '', reason: 'default' },
    { name: 'blank', value: '   ', reason: 'default' },
    { name: 'number', value: 42, reason: 'invalid_marker' },
    { name: 'boolean', value: true, reason: 'invalid_marker' },
    { name: 'object', value: { beta: true }, reason: 'invalid_marker' },
    { name: 'array of two', value: ['beta', 'stable'], reason: 'invalid_marker' },
    { name: 'array of same two', value: ['beta', 'beta'], reason: 'invalid_marker' },
    { name: 'nested array', value: [['beta']], reason: 'invalid_marker' },
    { name: 'signed token in open mode', value: token('beta', now), reason: 'invalid_marker' },
  ];
}

/** Rows whose value is bytes: for carriers that keep Buffers (AMQP byte arrays, Kafka). */
export function binaryCases(): MarkerCase[] {
  return [
    {
      name: 'Buffer invalid UTF-8',
      value: Buffer.from([0x62, 0xff, 0xfe]),
      reason: 'invalid_marker',
    },
    { name: 'Buffer 10 KiB', value: Buffer.alloc(10_240, 0x61), reason: 'invalid_marker' },
    { name: 'Buffer unknown', value: Buffer.from('gamma'), reason: 'unknown_version' },
  ];
}

/** Rows about the header table: one header under several spellings (HDR-07 for messages). */
export function tableCases(): MarkerCase[] {
  return [
    {
      name: 'HDR-07 two spellings, two values',
      value: undefined,
      reason: 'invalid_marker',
      table: { 'x-gray-id': 'beta', 'X-Gray-Id': 'stable' },
    },
    {
      name: 'HDR-07 two spellings, same value',
      value: undefined,
      reason: 'invalid_marker',
      table: { 'x-gray-id': 'beta', 'X-GRAY-ID': 'beta' },
    },
    {
      name: 'header bad, baggage good (PREC-02)',
      value: undefined,
      reason: 'baggage',
      table: { 'x-gray-id': 'gamma', baggage: 'gray=stable' },
    },
    {
      name: 'BG-02 ambiguous baggage',
      value: undefined,
      reason: 'invalid_marker',
      table: { baggage: 'gray=beta,gray=stable' },
    },
    {
      name: 'HDR-11 __proto__ header name',
      value: undefined,
      reason: 'default',
      table: JSON.parse('{"__proto__":{"x-gray-id":"beta"}}') as Record<string, unknown>,
    },
  ];
}

/** Rows for `trust: 'signed'`: only a valid token for a declared version binds it. */
export function signedCases(): MarkerCase[] {
  const good = token('beta', now);
  const flipped = `${good.slice(0, -3)}${good.at(-3) === 'A' ? 'B' : 'A'}${good.slice(-2)}`;
  return [
    { name: 'bare label', value: 'beta', reason: 'untrusted_marker' },
    { name: 'flipped signature byte', value: flipped, reason: 'bad_signature' },
    { name: 'expired', value: token('beta', now - 3_600_000), reason: 'bad_signature' },
    { name: 'unknown kid', value: token('beta', now, KEY, 'rotated-out'), reason: 'bad_signature' },
    { name: 'wrong key', value: token('beta', now, `${KEY}-other`), reason: 'bad_signature' },
    { name: 'truncated', value: good.slice(0, -5), reason: 'bad_signature' },
    { name: 'non-base64url', value: `${good.slice(0, -2)}+/`, reason: 'bad_signature' },
    {
      name: '10 KB token',
      value: `beta.9999999999.${KID}.${'A'.repeat(10_000)}`,
      reason: 'invalid_marker',
    },
    { name: 'token for unknown version', value: token('gamma', now), reason: 'unknown_version' },
    { name: 'two tokens', value: `${good},${good}`, reason: 'invalid_marker' },
  ];
}

/** The header name the rows are written under. */
export const HEADER = DEFAULT_MESSAGE_HEADER;
