import { describe, expect, it } from 'vitest';
import { createConfigStore, createStatusModel, validateConfig } from '../src/index.js';
import { cleanText, scrubText } from '../src/status/scrub.js';

/*
 * MISC-03 / MISC-04: the status page promises that free-form strings — source names as well as
 * errors — are scrubbed of credentials. Each row is a shape an error message or a source name
 * really takes, with the secret that must not survive; the variants cover quoting, case and
 * separators. The last table is ordinary text that must come through untouched.
 */

const SECRET = 'hunter2x';

/** [shape, text with SECRET in it]. */
const LEAKS: readonly (readonly [string, string])[] = [
  // URL userinfo, including an unencoded `@` inside the password.
  ['URL userinfo', `https://admin:${SECRET}@etcd.internal:2379/v3`],
  ['URL password with @', `connect failed https://admin:p@${SECRET}@etcd.internal:2379/v3`],
  ['URL password with two @', `https://admin:a@b@${SECRET}@etcd.internal/`],
  ['URL with empty user', `redis://:${SECRET}@cache:6379`],
  ['URL scheme with +', `mongodb+srv://u:${SECRET}@c.example.net/db`],
  ['etcd URL', `etcd://root:${SECRET}@10.0.0.1:2379/graylane`],
  ['URL in quotes', `"url":"https://u:${SECRET}@h/x"`],
  // JSON and other quoted pairs.
  ['JSON password', `response {"password":"${SECRET}","user":"ops"}`],
  ['JSON apiKey', `{"apiKey":"${SECRET}"}`],
  ['JSON spaced', `{ "api_key" : "${SECRET}" }`],
  ['JSON client_secret', `{"client_secret":"${SECRET}"}`],
  ['JSON accessToken', `{"accessToken": "${SECRET}"}`],
  ['JSON upper-case key', `{"PASSWORD":"${SECRET}"}`],
  ['single-quoted pair', `{'password': '${SECRET}'}`],
  ['quoted value', `password='${SECRET}'`],
  ['double-quoted value', `password="${SECRET}"`],
  // key=value / key: value, many key names and cases.
  ['password=', `password=${SECRET}`],
  ['Password:', `Password: ${SECRET}`],
  ['passwd=', `passwd=${SECRET}`],
  ['pwd=', `login pwd=${SECRET} refused`],
  ['env var', `PGPASSWORD=${SECRET} psql`],
  ['aws secret', `aws_secret_access_key = ${SECRET}`],
  ['header api key', `header x-api-key: ${SECRET} rejected`],
  ['query token', `GET /rules?ref=main&access_token=${SECRET} 403`],
  ['query sig', `GET /r.json?X-Amz-Signature=${SECRET}&x=1`],
  ['query credential', `GET /r.json?X-Amz-Credential=${SECRET}`],
  ['session id', `sessionid=${SECRET}`],
  ['cookie', `cookie: ${SECRET}`],
  ['dotted key', `spring.datasource.password=${SECRET}`],
  ['dashed flag =', `--api-key=${SECRET}`],
  // Command lines and prose.
  ['flag space', `--password ${SECRET}`],
  ['flag space in a command', `etcdctl --user root --password ${SECRET} get /x`],
  ['single-dash flag', `-token ${SECRET}`],
  ['prose', `failed for user ops with password ${SECRET}`],
  ['prose secret', `the secret ${SECRET} was rejected`],
  // Authorization schemes.
  ['Bearer', `Authorization: Bearer ${SECRET}.abc.def`],
  ['bearer lower-case', `authorization: bearer ${SECRET}`],
  ['Basic', `sent Basic ${SECRET} and failed`],
  [
    'Digest response',
    `Authorization: Digest username="ops", realm="x", nonce="n", response="${SECRET}", qop=auth`,
  ],
  ['Digest unquoted', `DIGEST username=ops, response=${SECRET}`],
  // Well-known token formats with no key in front.
  ['GitHub token', `clone failed ghp_16C7e42F292c6912E7710c838347Ae${SECRET}`],
  ['Stripe key', `sk_live_${SECRET} rejected`],
  ['Slack token', `xoxb-1234567890-${SECRET}`],
  ['JWT', `token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx.${SECRET}`],
];

const AWS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';

/** Ordinary text: must come through unchanged. */
const ORDINARY: readonly string[] = [
  'invalid config: $.default: must be a declared version',
  'connect ECONNREFUSED 127.0.0.1:2379',
  'connect ECONNREFUSED auth.internal:8443',
  'HTTP 503 from https://etcd.internal:2379/v3/kv/range?limit=1',
  'token expired',
  'the password is wrong',
  'password required',
  'keyboard: us',
  'author: bob',
  'tokenizer failed at line 3',
  'secret /etc/graylane/secret.pem not readable',
  'mail to ops@example.com bounced',
  'Digest authentication failed',
  'rules',
  'file',
  'etcd',
  'http',
];

describe('MISC-03 scrubText: credential shapes are scrubbed', () => {
  it.each(LEAKS)('%s', (_shape, text) => {
    const out = scrubText(text);
    expect(out).not.toContain(SECRET);
    expect(out).toContain('***');
  });

  it.each([
    ['bare', AWS_KEY_ID],
    ['in a sentence', `key id ${AWS_KEY_ID} is not valid`],
  ])('AWS access key id, %s', (_n, text) => {
    expect(scrubText(text)).not.toContain(AWS_KEY_ID);
  });

  it.each([
    ['URL host stays', `https://admin:p@${SECRET}@etcd.internal:2379/v3`, 'etcd.internal:2379/v3'],
    ['JSON keeps its quotes', `{"password":"${SECRET}"}`, '{"password":"***"}'],
    ['other JSON keys stay', `{"password":"${SECRET}","user":"ops"}`, '"user":"ops"'],
    ['query keeps its other params', `/r?token=${SECRET}&ref=main`, '&ref=main'],
    ['the command stays', `--password ${SECRET} get /x`, 'get /x'],
  ])('%s', (_n, text, kept) => {
    expect(scrubText(text)).toContain(kept);
  });
});

describe('MISC-03 scrubText: ordinary text is left alone', () => {
  it.each(ORDINARY)('%s', (text) => {
    expect(scrubText(text)).toBe(text);
  });
});

/*
 * The page's main job is saying why a reload was rejected. These are graylane's own validation
 * messages, as the validator writes them (`${path}: ${message}`), many with a path through a
 * segment named like a secret (cookie, session, key, sig, token, secret, auth): none holds a
 * credential, and every word of them must reach the page.
 */
const VALIDATION: readonly string[] = [
  '$.rules[0].match.cookie.session_id: a matcher must be an object like {"equals": "x"}',
  '$.rules[0].match.cookie.auth_token.equals: must be a string',
  '$.rules[0].match.header.x-api-key.in: must be a list of 1 to 1000 strings',
  '$.rules[0].match.header.x-api-key.exists: must be true or false',
  '$.rules[0].match.query.sig.prefix: must be a string',
  '$.rules[0].match.query.token: a matcher needs exactly one of equals, in, prefix, suffix, regex, exists (got frobnicate)',
  '$.rules[0].match.attrs.secret.equals: must be a string',
  '$.rules[0].match.header.authorization: a matcher must be an object like {"equals": "x"}',
  '$.rules[0].match.cookie: must be an object of name → matcher',
  '$.rules[0].match.session: unknown condition (header, cookie, query, attrs, path, host, method)',
  '$.rules[0].match.cookie.: names must be 1–256 characters',
  '$.rules[0].match.header.bad key: not a valid header name',
  '$.rules[0].match.cookie.session.regex: regex matchers need a linear-time regex engine',
  '$.rules[0].bucketBy: must be header:NAME, cookie:NAME, query:NAME or attr:NAME',
  '$.rules[0].bucketBy[1]: "cookie:sid" is listed twice',
  '$.rules[0].bucketBy[1]: "cookie:session_id" is listed twice',
  '$.rules[0]: a split needs "bucketBy", e.g. "cookie:gray_uid" or "attr:userId"',
  '$.rules[0].split[0].key: unknown field',
  '$.rules[0].split[0].weight: must be a non-negative integer (got "50")',
  '$.rules[0].split: weights sum to 5; they must sum to exactly 100 (percent) or 10000 (basis points)',
  '$.rules[0].salt: must be a string of 1–64 characters',
  '$.rules[0].secret: unknown field',
  '$.rules[0].token: unknown field',
  '$.rules[0].auth: unknown field',
  '$.rules[0].version: unknown version "gamma"',
  '$.rules[0].window.from: must be an RFC 3339 instant with an offset, e.g. "2026-12-01T00:00:00Z"',
  '$.rules[0].sticky: must be "keep" or "reevaluate"',
  '$.rules[0].id: must be 1–64 characters of A-Z a-z 0-9 _ . : - starting with a letter or digit',
  '$.rules[2].id: duplicate rule id "a"',
  '$.key: unknown field',
  '$.session: unknown field',
  '$.cookie: unknown field',
  '$.signature: unknown field',
  '$.sticky.cookie: must be a cookie name',
  '$.key: invalid token at offset 31',
  '$.versions[0]: must match ^[a-z][a-z0-9_-]{0,31}$',
  '$.default: must be one of the declared versions (stable)',
  'invalid config: $.rules[0].match.cookie.session_id: a matcher must be an object like {"equals": "x"}',
  'invalid config: $.rules[0].match.query.sig.prefix: must be a string; $.session: unknown field',
];

/** host:port is an address, not a credential, whatever the host is called. */
const ADDRESSES: readonly string[] = [
  'etcd-auth:2379',
  'connect ECONNREFUSED etcd-auth:2379',
  'http://vault-token:8200/v1',
  'GET http://vault-token:8200/v1/secret/data/graylane failed: 503',
  'https://session-store:6380/health timed out',
  'redis session:6379/0 unreachable',
  'dial tcp auth:8443: i/o timeout',
  '[::1]:2379',
  'connect ECONNREFUSED [::1]:2379',
];

/** Ordinary words that end in or equal a secret word. */
const WORDS: readonly string[] = [
  'monkey: 42',
  'session: closed',
  'keyboard: us',
  'author: bob',
  'turkey=3',
  'cookie: missing',
  'auth: failed',
  'sessions: 3 active',
];

describe('MISC-03 scrubText: graylane validation messages are left alone', () => {
  it.each(VALIDATION)('%s', (text) => {
    expect(scrubText(text, 400)).toBe(text);
  });

  it.each(ADDRESSES)('host:port: %s', (text) => {
    expect(scrubText(text)).toBe(text);
  });

  it.each(WORDS)('ordinary: %s', (text) => {
    expect(scrubText(text)).toBe(text);
  });

  // The same messages straight from the validator, so the table cannot drift from what it says.
  const V = { versions: ['stable', 'beta'], default: 'stable' };
  it.each([
    [
      'cookie matcher',
      { ...V, rules: [{ id: 'a', match: { cookie: { session_id: 'x' } }, version: 'beta' }] },
    ],
    [
      'header x-api-key',
      {
        ...V,
        rules: [{ id: 'a', match: { header: { 'x-api-key': { in: [] } } }, version: 'beta' }],
      },
    ],
    [
      'query sig/token',
      {
        ...V,
        rules: [
          { id: 'a', match: { query: { sig: { prefix: 1 }, token: { x: 'y' } } }, version: 'beta' },
        ],
      },
    ],
    [
      'attrs secret',
      { ...V, rules: [{ id: 'a', match: { attrs: { secret: { equals: 1 } } }, version: 'beta' }] },
    ],
    [
      'bucketBy cookie',
      {
        ...V,
        rules: [
          {
            id: 'a',
            split: [{ version: 'beta', weight: 100 }],
            bucketBy: ['cookie:session_id', 'cookie:session_id'],
          },
        ],
      },
    ],
    [
      'unknown secret-named fields',
      {
        ...V,
        key: 1,
        session: 2,
        cookie: 3,
        signature: 4,
        rules: [{ id: 'a', version: 'beta', secret: 1, token: 2, auth: 3 }],
      },
    ],
  ])('validator: %s', (_n, doc) => {
    const result = validateConfig(doc);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    for (const e of result.errors) {
      const text = `${e.path}: ${e.message}`;
      expect(scrubText(text, 400)).toBe(cleanText(text, 400));
    }
  });

  it('a rejected reload shows the whole reason on the page', () => {
    const store = createConfigStore({ initial: V });
    const model = createStatusModel({ store });
    const doc = {
      ...V,
      rules: [{ id: 'a', match: { cookie: { session_id: 'x' } }, version: 'beta' }],
    };
    store.update(JSON.stringify(doc), { source: 'etcd://etcd-auth:2379/graylane' });
    const [entry] = model.report().reloads;
    expect(entry?.type).toBe('rejected');
    if (entry?.type !== 'rejected') return;
    expect(entry.message).toBe(
      '[graylane] invalid config: $.rules[0].match.cookie.session_id: a matcher must be an object like {"equals": "x"}',
    );
    expect(entry.source).toBe('etcd://etcd-auth:2379/graylane');
  });
});

describe('MISC-03 scrubText: the narrower key rule still catches', () => {
  it.each([
    ['dotted key with a credential', `a.b.password: ${SECRET}`],
    ['Cookie header', `Cookie: sid=${SECRET}; theme=dark`],
    ['pair after an ordinary word', `monkey: token=${SECRET}`],
    ['password with digits only', 'password:123456'],
    ['short digits after a password key', 'password:1234'],
    ['apikey glued', `apikey=${SECRET}`],
    ['JSESSIONID', `JSESSIONID=${SECRET}`],
    ['after a control character', `failed\n  password=${SECRET}`],
    ['session id in a cookie key', `{"session_id":"${SECRET}"}`],
    ['weak key, credential-like value', `session: ${SECRET}`],
  ])('%s', (_n, text) => {
    const out = scrubText(text);
    expect(out).toContain('***');
    expect(out).not.toContain(SECRET);
    expect(out).not.toMatch(/123456|:1234/);
  });
});

describe('MISC-04 source names are scrubbed like errors (config.source, sources, reloads)', () => {
  const NAMES: readonly (readonly [string, string])[] = [
    ['URL userinfo', `https://ops:${SECRET}@rules.internal/graylane.json`],
    ['URL with @ in the password', `etcd://root:p@${SECRET}@etcd:2379/graylane`],
    ['query token', `https://rules.internal/r.json?token=${SECRET}`],
    ['JSON-ish', `{"apiKey":"${SECRET}"}`],
  ];

  it.each(NAMES)('%s', (_n, name) => {
    const store = createConfigStore({
      initial: { versions: ['stable', 'beta'], default: 'stable' },
    });
    const model = createStatusModel({
      store,
      sources: {
        status: () => ({ state: 'ready', sources: [{ name, status: { state: 'ready' } }] }),
      },
    });
    store.update(JSON.stringify({ versions: ['stable', 'beta'], default: 'beta' }), {
      source: name,
    });
    store.update('{"versions": ["stable"], "default": "nope"}', { source: name });
    const report = model.report();
    expect(report.reloads.map((r) => r.type)).toEqual(['rejected', 'change']);
    const text = JSON.stringify(report);
    expect(text).not.toContain(SECRET);
    expect(report.config.source).toContain('***');
    expect(report.sources?.items[0]?.name).toContain('***');
    for (const r of report.reloads) expect(r.source).toContain('***');
  });
});
