import { describe, expect, it } from 'vitest';
import { createConfigStore, createStatusModel } from '../src/index.js';
import { scrubText } from '../src/status/scrub.js';

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
