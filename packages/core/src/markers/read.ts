/**
 * The result of scanning a carrier (cookie header, query string, baggage) for one key:
 * absent, one raw value, or present more than once with different values (ambiguous).
 */
export type KeyRead =
  | { readonly kind: 'absent' }
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'ambiguous' }
  | { readonly kind: 'too_long' };

/** @internal */
export const READ_ABSENT: KeyRead = { kind: 'absent' };
/** @internal */
export const READ_AMBIGUOUS: KeyRead = { kind: 'ambiguous' };
/** @internal */
export const READ_TOO_LONG: KeyRead = { kind: 'too_long' };
