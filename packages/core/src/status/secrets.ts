/**
 * The credential shapes the status page and the source metric labels scrub (MISC-03). Each step
 * is one shape; the order matters (a URL's userinfo goes before the `key=value` step reads it).
 * They err towards scrubbing a value too many — but the page's first job is saying why a reload
 * was rejected, so graylane's own messages (`$.rules[0].match.cookie.session_id: a matcher must
 * be …`), host:port pairs (`etcd-auth:2379`) and ordinary words (`session: closed`,
 * `monkey: 42`) come through whole.
 *
 * Every pattern runs in linear time: each one starts only at a delimiter or a fixed word, and no
 * quantified group repeats over characters its neighbour can also take (I4: a 10 kB adversarial
 * string scrubs in about a millisecond at most, where the quadratic patterns took 100–600 ms).
 */

/** One scrub step: text in, text out. */
type Step = (text: string) => string;

/**
 * Words that make any value of their key a secret, also glued onto a prefix (`PGPASSWORD`,
 * `accesstoken`, `JSESSIONID`).
 */
const STRONG =
  'passw(?:or)?d|passphrase|secret|token|credential|signature|authorization|session[_-]?id';
/**
 * Words that are also ordinary nouns (`session: closed`, `cookie:NAME`, `key: us`): they count
 * only as a whole segment of the key (`x-api-key`, `apiKey`, `session`; not `monkey`, `oauth`),
 * and their value is masked when it looks like a credential.
 */
const WEAK = 'key|sig|auth|session|cookie|pwd|pass|pw';
const WEAK_WORD = /^(?:key|sig|auth|session|cookie|pwd|pass|pw)$/i;
/**
 * `key`, `sig`, `pwd` after a prefix (`api_key`, `X-Amz-Sig`): any value is a secret. Alone, any
 * value of {@link CREDENTIAL_MIN} characters or more (`key: abcdef`), whatever the separator;
 * a shorter one is a word (`key: us`).
 */
const KEYISH_WORD = /^(?:key|sig|pwd)$/i;
const PASSWORD_WORD = /^(?:passw(?:or)?d|passphrase|pwd)$/i;
/** Prefixes a weak word may be glued to: `apikey`, `secretkey`, `authkey`, `csrfcookie`. */
const GLUE_PREFIX =
  /(?:api|access|secret|private|signing|master|client|auth|encryption|csrf|xsrf)$/i;
/**
 * `etcd-auth:2379`, `session:6379/0`, `etcd-auth:2379/v3/kv?x=1`: a port (and a path of short
 * segments), not a secret. After a strong key only a bare port is one (`vault-token:8200`), and
 * after a `key`/`sig` a credential word prefixes none is (`api_key:12345`; `etcd-key:2379` is).
 * `token:1/abc…`, `auth:1//0gLq4x…` (a refresh token), `session:2024-01-02` and `auth:1234:xyz`
 * are no port (reviews 78 D2, 79 D1).
 */
const PORT = /^\d{2,5}(?:[/?][\w.=-]{0,15})*[).>!]*$/;
const BARE_PORT = /^\d{2,5}[).>!?]*$/;
/**
 * The shortest value that can be taken for a credential without a digit or a symbol in it; 16+
 * characters of anything are one. A word is shorter, or letters only (`closed`, `authentication`).
 */
const CREDENTIAL_MIN = 6;
const CREDENTIAL_ANY = 16;

/**
 * A date or a time of day (`2024-01-02`, `10:30`, `23:59:59`), month, day, hour and minute in
 * range: a word after `session`, `cookie` or `auth` (`session: 2024-01-02`), which name things
 * that have dates. Never after `pass`/`pw` and the like: a birth date is a password people use
 * (`pass=1984-03-12` stays masked; review 78 D1).
 */
const DATE_OR_TIME =
  /^(?:\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])|(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)$/;
const DATED_WORD = /^(?:session|cookie|auth)$/i;

/** Secret words that, followed by a space and a value with a digit or a symbol, name a secret. */
const SPOKEN = '(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key)';

let steps: readonly Step[] | undefined;

/**
 * The steps, applied in order by `scrubText`; built on first use, so a bundle that never scrubs
 * (an outbound-only Worker) carries none of the compiled patterns.
 */
export function secretSteps(): readonly Step[] {
  return (steps ??= build());
}

/** A `String.replace` step with a string replacement. */
function replace(pattern: RegExp, replacement: string): Step {
  return (text) => text.replace(pattern, replacement);
}

function build(): readonly Step[] {
  return [
    // scheme://user:pass@host — the last `@` of the authority ends it (an unencoded `@` in the
    // password: `https://admin:p@ss@etcd`). The scheme starts after a non-scheme character, so a
    // run of `a.a.a.…` is read once, not from each of its letters.
    replace(/(^|[^a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)[^/\s?#"'<>]*@/gi, '$1$2***@'),
    // Authorization: Digest username="…", response="…", … (every parameter). Parameters are
    // comma-separated and a value holds no comma, so each character is read once.
    replace(
      /\b(digest)\s+[a-z0-9_-]+\s*=\s*(?:"[^"]*"?|[^\s,"]*)(?:\s*,\s*[a-z0-9_-]+\s*=\s*(?:"[^"]*"?|[^\s,"]*))*/gi,
      '$1 ***',
    ),
    authSchemes,
    // key=value, key: value, "key": "value", 'key'='value', --key=value (query, form, JSON, env).
    keyValues,
    // --password hunter2, -token abc (command lines).
    replace(
      new RegExp(`(^|[\\s\ufffd])(--?[a-z0-9_-]*(?:${STRONG}|${WEAK})s?)\\s+(?!-)[^\\s,;]+`, 'gi'),
      '$1$2 ***',
    ),
    // "… with password hunter2": a value with a digit or a symbol, not a path.
    replace(
      new RegExp(`\\b(${SPOKEN})\\s+(?![/(*])(?=[^\\s,;]*[0-9!@#$%^&+=_~.-])[^\\s,;]{6,}`, 'gi'),
      '$1 ***',
    ),
    // Well-known token formats, wherever they stand: GitHub, Stripe, Slack, AWS key ids, JWTs.
    replace(
      /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|[prs]k_(?:live|test)_[A-Za-z0-9]{6,}|xox[abposr]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16})/g,
      '***',
    ),
    // A JWT starts after a character it cannot contain (`\b` would restart at every dash of
    // `eyJaa-eyJaa-…` and read on to the end each time).
    replace(/(^|[^\w-])eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/g, '$1***'),
  ];
}

/*
 * `Bearer <token>`, `Basic <base64>`: only a token shaped like a credential (a token68 or
 * `user:pass`: 6+ characters with a digit, a symbol or a lower-to-upper step, or 16+ of
 * anything), so prose (`basic auth failed`, `Bearer token expired`, `Basic authentication`)
 * stays; after an `Authorization` key any token goes (the key=value step). The token's trailing
 * sentence punctuation is not part of it (`missing Bearer token.`), and only what comes before a
 * `=` is judged (`realm="…"`, `error=…` are a challenge's parameters; a token68 has `=` only as
 * padding). Control characters are U+FFFD by now: white space. Linear: the scheme is a fixed
 * word, and the token ends at the first delimiter.
 */
let schemes: RegExp | undefined;

function authSchemes(text: string): string {
  return text.replace(
    (schemes ??= /\b(bearer|basic)[\s\ufffd]+([^\s\ufffd,;"']*[^\s\ufffd,;"'.:!?)\]}>])/gi),
    (all: string, scheme: string, token: string) =>
      credentialLike(token.split('=')[0] ?? '', /[^A-Za-z-]|[a-z][A-Z]/) ? `${scheme} ***` : all,
  );
}

/** {@link CREDENTIAL_ANY}+ characters, or {@link CREDENTIAL_MIN}+ with one that `rare` finds. */
function credentialLike(value: string, rare: RegExp): boolean {
  return value.length >= CREDENTIAL_ANY || (value.length >= CREDENTIAL_MIN && rare.test(value));
}

/*
 * The key=value step. A key starts after a delimiter (the start, whitespace, `?&;,{"'`), so
 * `$.sticky.cookie:` and `http://vault-token:8200` hold no key, and each run of key characters
 * is read from one place only. Groups: lead, open quote, prefix, word, plural, separator, an
 * authorization scheme (`Authorization: Bearer …`: the token is the value), value.
 */
let pairs: RegExp | undefined;

function keyValues(text: string): string {
  const re = (pairs ??= new RegExp(
    `(^|[\\s\ufffd?&;,{"'])(["']?)([a-z0-9_.-]*?)(${STRONG}|${WEAK})(s?)\\2([\\s\ufffd]*[=:][\\s\ufffd]*)((?:bearer|basic)[\\s\ufffd]+)?("[^"]*"?|'[^']*'?|[^&\\s;,#"'}\\]]+)`,
    'gi',
  ));
  re.lastIndex = 0;
  let out = '';
  let done = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const [
      all,
      lead = '',
      open = '',
      prefix = '',
      word = '',
      plural = '',
      sep = '',
      scheme = '',
      value = '',
    ] = m;
    const valueAt = m.index + all.length - value.length - scheme.length;
    if (!isSecretPair(open, prefix, word, plural, sep, value)) {
      // Read on from the separator: `monkey: token=abc` still has a pair after the space.
      re.lastIndex = valueAt - sep.length;
      continue;
    }
    const q = value[0] === '"' || value[0] === "'" ? value[0] : '';
    out += `${text.slice(done, m.index)}${lead}${open}${prefix}${word}${plural}${open}${sep}${scheme}${q}***${q}`;
    done = m.index + all.length;
  }
  return done === 0 ? text : out + text.slice(done);
}

function isSecretPair(
  open: string,
  prefix: string,
  word: string,
  plural: string,
  sep: string,
  value: string,
): boolean {
  const strong = !WEAK_WORD.test(word);
  // A dotted key before `=` is a property (`spring.datasource.password=…`); before `:` it may be
  // a path in a message (`sticky.secret: must be …`), so only a credential-like value goes.
  const dotted = prefix.includes('.') && !sep.includes('=');
  // The word is a whole segment: after `_ - .`, at a camelCase step, or glued to a known prefix.
  const last = prefix.slice(-1);
  const segment =
    last === '' ||
    /[_.-]/.test(last) ||
    (/[a-z0-9]/.test(last) && /[A-Z]/.test(word[0] ?? '')) ||
    GLUE_PREFIX.test(prefix);
  if (!strong && !segment) return false;
  // host:port (`etcd-auth:2379`, `session:6379/0`), unless the key names a password.
  const keyish = !dotted && KEYISH_WORD.test(word);
  if (
    open === '' &&
    sep === ':' &&
    !(keyish && GLUE_PREFIX.test(prefix.replace(/[_.-]+$/, ''))) &&
    (strong ? BARE_PORT : PORT).test(value) &&
    !PASSWORD_WORD.test(word)
  )
    return false;
  if ((!dotted && strong) || (keyish && prefix !== '')) return true;
  // A bare `key`/`sig`/`pwd` (not `keys: …`, a list): 6+ characters of anything, whatever the
  // separator (`key: us` stays). Under a weak or dotted key: 6+ characters with a digit or a
  // symbol (`session: closed` and `cookie:NAME` stay, `cookie: sid=abc123` goes). 16+ always.
  const bare = value.replace(/^["']|["']$/g, '');
  if (DATED_WORD.test(word) && !dotted && bare.length < CREDENTIAL_ANY && DATE_OR_TIME.test(bare))
    return false;
  return credentialLike(bare, keyish && plural === '' ? /[^]/ : /[^A-Za-z_-]/);
}
