import type { JsonValue } from './parse.js';

/**
 * Canonical JSON: object keys sorted, no whitespace. Two documents that differ only in key order
 * or formatting have the same canonical form (RELIABILITY I6, CFG-12).
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as JsonValue)}`).join(',')}}`;
}
