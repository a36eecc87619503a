/**
 * A small YAML emitter for the plain data `render envoy` builds: block mappings and sequences,
 * every string double-quoted as JSON (a JSON string is a valid YAML double-quoted scalar).
 */
export function toYaml(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return value
      .map((item) => {
        const body = toYaml(item, `${indent}  `);
        return isBlock(item) ? `${indent}- ${body.trimStart()}` : `${indent}- ${body}`;
      })
      .join('\n');
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    return entries
      .map(([k, v]) =>
        isBlock(v) ? `${indent}${k}:\n${toYaml(v, `${indent}  `)}` : `${indent}${k}: ${toYaml(v)}`,
      )
      .join('\n');
  }
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function isBlock(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return typeof value === 'object' && value !== null && Object.keys(value).length > 0;
}
