import { createHmac } from 'node:crypto';
import type { Buffer } from 'node:buffer';

/** The signed payload: `version.exp.kid[.subject]` (NODE_API_CONTRACT "Signed markers"). */
export function payload(
  version: string,
  exp: number,
  kid: string,
  subject: string | undefined,
): string {
  return subject === undefined ? `${version}.${exp}.${kid}` : `${version}.${exp}.${kid}.${subject}`;
}

/** HMAC-SHA256 of `text` under `key` (32 bytes). */
export function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}
