/** `decodeURIComponent` that returns undefined instead of throwing on bad escapes (CK-03, QS-05). */
export function safeDecode(s: string): string | undefined {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
