/**
 * The credential shapes the status page and the source metric labels scrub (MISC-03). Each row
 * is one shape; the order matters (a URL's userinfo goes before the `key=value` row reads it).
 * They err towards scrubbing a value too many, never towards showing one: a bare word after a
 * secret name (`password expired`) stays, a value with a digit or a symbol (`password hunter2`)
 * goes.
 */

type Row = readonly [RegExp, string | typeof masked];

/** Key names that hold secrets: `password`, `x-api-key`, `aws_secret_access_key`, `apiKey`, … */
const WORDS =
  '(?:token|key|secret|passw(?:or)?d|passphrase|pwd|sig|signature|credential|auth|authorization|session(?:[_-]?id)?|cookie)s?';
/** Secret words that, followed by a space and a value with a digit or a symbol, name a secret. */
const SPOKEN = '(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key)';

/** A quoted value keeps its quotes, so JSON and shell quoting stay readable. */
function masked(_m: string, open: string, key: string, sep: string, value: string): string {
  const q = value[0] === '"' || value[0] === "'" ? value[0] : '';
  return `${open}${key}${open}${sep}${q}***${q}`;
}

let rows: readonly Row[] | undefined;

/**
 * The rows, applied in order by `scrubText`; built on first use, so a bundle that never scrubs
 * (an outbound-only Worker) carries none of them.
 */
export function secretPatterns(): readonly Row[] {
  return (rows ??= build());
}

function build(): readonly Row[] {
  // A key that ends with a secret word (`client_secret`, `X-Amz-Signature`). Not one that only
  // contains it: `auth.internal:8443` is a host and a port, `keyboard: us` is not a key.
  const KEY = `[a-z0-9_.-]*${WORDS}`;
  return [
    // scheme://user:pass@host — the last `@` of the authority ends it (an unencoded `@` in the
    // password: `https://admin:p@ss@etcd`).
    [/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s?#"'<>]*@/gi, '$1***@'],
    // Authorization: Digest username="…", response="…", … (every parameter).
    [/\b(digest)\s+(?:[a-z0-9_-]+\s*=\s*(?:"[^"]*"|[^\s,"]*)\s*,?\s*)+/gi, '$1 *** '],
    [/\b(bearer|basic)\s+[^\s,;"']+/gi, '$1 ***'],
    // key=value, key: value, "key": "value", 'key'='value', --key=value (query, form, JSON, env).
    [
      new RegExp(`(["']?)(${KEY})\\1(\\s*[=:]\\s*)("[^"]*"?|'[^']*'?|[^&\\s;,#"'}\\]]+)`, 'gi'),
      masked,
    ],
    // --password hunter2, -token abc (command lines).
    [new RegExp(`(^|\\s)(--?[a-z0-9_.-]*${WORDS})\\s+(?!-)[^\\s,;]+`, 'gi'), '$1$2 ***'],
    // "… with password hunter2": a value with a digit or a symbol, not a path.
    [
      new RegExp(`\\b(${SPOKEN})\\s+(?![/(*])(?=[^\\s,;]*[0-9!@#$%^&+=_~.-])[^\\s,;]{6,}`, 'gi'),
      '$1 ***',
    ],
    // Well-known token formats, wherever they stand: GitHub, Stripe, Slack, AWS key ids, JWTs.
    [
      /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|[prs]k_(?:live|test)_[A-Za-z0-9]{6,}|xox[abposr]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16}|eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*)/g,
      '***',
    ],
  ];
}
