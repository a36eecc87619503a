import { JS_MESSAGE_TOO_LARGE, jsApiCode } from './errors.js';
import type { NatsHeadersLike } from './headers.js';

/** The header a drained message carries: the lane subject it was moved from. */
export const DRAINED_FROM = 'x-graylane-drained-from';

/** NATS's own headers (`Nats-Msg-Id`, `Nats-Expected-*`): never copied onto a republished message. */
export const isNatsHeader = (name: string): boolean => name.toLowerCase().startsWith('nats-');

/** The header `js.publish(…, { msgID })` adds. */
const MSG_ID = 'Nats-Msg-Id';

/** The most digits a stream sequence has (a uint64). */
const MAX_SEQ_DIGITS = 20;

/** `NATS/1.0` before the first header line, `\r\n\r\n` after the last (`MsgHdrs.toString()`). */
const HEADER_BLOCK_BYTES = 12;

const utf8Length = (s: string): number => new TextEncoder().encode(s).byteLength;

/** The bytes one `name: value` line adds to an encoded NATS header block (`\r\n` before it). */
const lineBytes = (name: string, value: string): number => 4 + utf8Length(name) + utf8Length(value);

/**
 * The id a drained copy is published with. A hand-back copy (see {@link handBackId}) keeps the id
 * of the message it was made from, so the message and its copy — both there after a drain
 * stopped between publishing the copy and acking the message — move to the base subject once.
 */
export function drainId(stream: string, seq: number, headers: NatsHeadersLike | undefined): string {
  return `graylane-drain-${stream}-${rootOf(stream, seq, headers)}`;
}

/**
 * The id of a message handed back to its own lane (published to the lane's subject again): a
 * repeated hand-back of one message is de-duplicated; a hand-back of the copy is a new one.
 */
export function handBackId(
  stream: string,
  seq: number,
  headers: NatsHeadersLike | undefined,
): string {
  return `graylane-handback-${stream}-${rootOf(stream, seq, headers)}-${seq}`;
}

/** The sequence of the first message a chain of hand-back copies came from. */
function rootOf(stream: string, seq: number, headers: NatsHeadersLike | undefined): string {
  const prefix = `graylane-handback-${stream}-`;
  for (const name of headers?.keys() ?? []) {
    if (name.toLowerCase() !== MSG_ID.toLowerCase()) continue;
    const id = headers?.values(name)[0] ?? '';
    const m = id.startsWith(prefix) ? /^(\d{1,20})-\d{1,20}$/.exec(id.slice(prefix.length)) : null;
    if (m?.[1] !== undefined) return m[1];
  }
  return String(seq);
}

/**
 * The most bytes the drain adds to a message when it republishes it: the larger of a drained copy
 * (`Nats-Msg-Id` and `x-graylane-drained-from: <laneSubject>`) and a hand-back copy (a longer
 * `Nats-Msg-Id`), plus the header block itself when the message has no header.
 */
export function republishOverhead(
  stream: string,
  laneSubject: string,
  hasHeaders: boolean,
): number {
  const seq = '9'.repeat(MAX_SEQ_DIGITS);
  const drained =
    lineBytes(MSG_ID, `graylane-drain-${stream}-${seq}`) + lineBytes(DRAINED_FROM, laneSubject);
  const handedBack = lineBytes(MSG_ID, `graylane-handback-${stream}-${seq}-${seq}`);
  return Math.max(drained, handedBack) + (hasHeaders ? 0 : HEADER_BLOCK_BYTES);
}

/** The bytes `headers` take on the wire less NATS's own headers (which a republish drops). */
export function headerBytes(headers: NatsHeadersLike | undefined): number {
  let bytes = 0;
  let lines = 0;
  for (const [name, values] of headers ?? []) {
    if (isNatsHeader(name)) continue;
    for (const v of values) {
      bytes += lineBytes(name, v);
      lines++;
    }
  }
  return lines === 0 ? 0 : bytes + HEADER_BLOCK_BYTES;
}

/**
 * A publish refused for its size: by the client (larger than the server's `max_payload`: v3
 * `InvalidArgumentError` "max_payload size exceeded", v2 `MAX_PAYLOAD_EXCEEDED`) or by the stream
 * (`max_msg_size`, 10054).
 */
export function tooLarge(err: unknown): boolean {
  if (jsApiCode(err) === JS_MESSAGE_TOO_LARGE) return true;
  const e = err as { code?: unknown; message?: unknown } | null;
  if (typeof e !== 'object' || e === null) return false;
  return (
    e.code === 'MAX_PAYLOAD_EXCEEDED' ||
    (typeof e.message === 'string' && /max_payload|MAX_PAYLOAD_EXCEEDED/.test(e.message))
  );
}
