/**
 * A hop's body and Content-Type with a multipart boundary replaced by a placeholder: two
 * serialisations of one FormData (each fetch extracts it again, under a boundary of its own)
 * compare equal; a body that does not use the boundary its Content-Type announces does not.
 */
export function canonicalBody(
  hop: { body?: unknown; contentType?: unknown } | undefined,
): [unknown, unknown] {
  const body = hop?.body;
  const type = hop?.contentType;
  const boundary =
    typeof type === 'string' ? /^multipart\/form-data; boundary=(.+)$/.exec(type)?.[1] : undefined;
  if (boundary === undefined || typeof body !== 'string') return [body, type];
  const parts = body.split(`--${boundary}`);
  return [
    parts.length > 2 ? parts.join('--<boundary>') : body,
    'multipart/form-data; boundary=<boundary>',
  ];
}
