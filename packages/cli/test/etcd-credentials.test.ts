import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConfigStore } from '@graylane/core';
import { createEtcdSource } from '@graylane/etcd';
import {
  ETCD_SKIP_MESSAGE,
  findEtcdBinary,
  makeTestPki,
  startEtcd,
  type EtcdProcess,
  type TestPki,
} from '../../etcd/test/harness.js';
import { runGraylane, type CliRun } from './helpers.js';

/**
 * MISC-03: `etcd://user:pass@host/key` — credentials are supported (URL userinfo, or
 * GRAYLANE_ETCD_USER / GRAYLANE_ETCD_PASSWORD) through @graylane/etcd's client, and never echoed:
 * every row, successful or not, scans stdout and stderr for the password in every spelling.
 * Also: etcds:// (TLS, with and without client certificates) and etcd3 missing.
 */
const binary = findEtcdBinary();
if (!binary) console.warn(ETCD_SKIP_MESSAGE);

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const RULES = readFileSync(join(EXAMPLES, 'rules.json'), 'utf8');
const RAMP = join(EXAMPLES, 'ramp-20.json');
const ROOT_PW = 'r00t-Secret-4b1d';
/** Every character class a URL mangles: @, :, /, %, space, and a percent-encoded look-alike. */
const OPS_PW = 'p@ss:w/rd %41 s3cret-Ops';
const WRONG_PW = 'wr0ng-Secret-9f2e';
const SECRETS = [ROOT_PW, OPS_PW, WRONG_PW].flatMap((s) => [
  s,
  encodeURIComponent(s),
  Buffer.from(s).toString('base64'),
]);
const KEY = 'graylane/config';

/** Fails if any spelling of any password appears anywhere in the run's output. */
function expectNoSecret(r: CliRun): void {
  const all = r.stdout + r.stderr;
  for (const s of SECRETS)
    expect(all.includes(s), `output contains ${JSON.stringify(s)}:\n${all}`).toBe(false);
  expect(all).not.toMatch(/s3cret-Ops|Secret-4b1d|Secret-9f2e/);
}

const dir = mkdtempSync(join(tmpdir(), 'graylane-cred-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A resolve hook that makes @graylane/etcd and etcd3 uninstalled, as in a project without them. */
const BLOCK_ETCD = join(dir, 'block-etcd.mjs');
writeFileSync(
  BLOCK_ETCD,
  `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`export async function resolve(s, c, next) {
  if (s === '@graylane/etcd' || s === 'etcd3') {
    const e = new Error("Cannot find package '" + s + "' imported from " + c.parentURL);
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  return next(s, c);
}\`));
`,
);

describe.skipIf(!binary)('MISC-03 etcd credentials: supported, never echoed', () => {
  let etcd: EtcdProcess;
  let host: string;
  beforeAll(async () => {
    etcd = await startEtcd(binary as string);
    host = etcd.endpoint.replace('http://', '');
    const root = new Etcd3({ hosts: etcd.endpoint });
    try {
      await root.put(KEY).value(RULES);
      await root.user('root').create(ROOT_PW);
      await root.user('root').addRole('root');
      await root.role('graylane').create();
      await root.role('graylane').grant([
        { permission: 'Readwrite', key: KEY },
        { permission: 'Readwrite', key: 'graylane/pushed' },
      ]);
      await root.user('ops').create(OPS_PW);
      await root.user('ops').addRole('graylane');
      await root.auth.authEnable({});
    } finally {
      root.close();
    }
  }, 60_000);
  afterAll(() => etcd?.dispose());

  const enc = encodeURIComponent(OPS_PW);
  const url = (userinfo: string, key = KEY) => `etcd://${userinfo}${host}/${key}`;
  const ENV = { GRAYLANE_ETCD_USER: 'ops', GRAYLANE_ETCD_PASSWORD: OPS_PW };

  type Row = readonly [
    name: string,
    args: () => string[],
    env: NodeJS.ProcessEnv,
    code: number,
    expected: RegExp,
  ];
  const ROWS: readonly Row[] = [
    [
      'validate, password in the URL (percent-encoded)',
      () => ['validate', url(`ops:${enc}@`)],
      {},
      0,
      /^ok etcd:\/\/\*\*\*@127\.0\.0\.1:\d+\/graylane\/config: versions stable, beta/m,
    ],
    [
      'a password in the URL is warned about',
      () => ['validate', url(`ops:${enc}@`)],
      {},
      0,
      /warning: a password in the URL is visible in the process list/,
    ],
    [
      'validate, user and password from the environment',
      () => ['validate', url('')],
      ENV,
      0,
      /^ok etcd:\/\/127\.0\.0\.1:\d+\/graylane\/config:/m,
    ],
    [
      'user in the URL, password from the environment',
      () => ['validate', url('ops@')],
      { GRAYLANE_ETCD_PASSWORD: OPS_PW },
      0,
      /^ok etcd:\/\/\*\*\*@/m,
    ],
    [
      'validate --json',
      () => ['validate', url(`ops:${enc}@`), '--json'],
      {},
      0,
      /"location": "etcd:\/\/\*\*\*@127\.0\.0\.1:\d+\/graylane\/config"/,
    ],
    [
      'explain',
      () => ['explain', url(`ops:${enc}@`), '--header', 'X-User-Group: qa'],
      {},
      0,
      /^version beta \(reason: rule, rule: qa\)$/m,
    ],
    ['diff', () => ['diff', url(`ops:${enc}@`), RAMP], {}, 0, /^changed rules: canary$/m],
    [
      'render nginx (the header comment names the config)',
      () => ['render', 'nginx', url(`ops:${enc}@`)],
      {},
      0,
      /^# Generated by `graylane render nginx etcd:\/\/127\.0\.0\.1:\d+\/graylane\/config`/m,
    ],
    [
      'push',
      () => ['push', RAMP, url(`ops:${enc}@`, 'graylane/pushed'), '--yes'],
      {},
      0,
      /^written: etcd:\/\/\*\*\*@127\.0\.0\.1:\d+\/graylane\/pushed is now at revision \d+$/m,
    ],
    [
      'push conflict',
      () => [
        'push',
        RAMP,
        url(`ops:${enc}@`, 'graylane/pushed'),
        '--yes',
        '--expect-revision',
        '1',
      ],
      {},
      3,
      /conflict: etcd:\/\/\*\*\*@127\.0\.0\.1:\d+\/graylane\/pushed is at revision \d+, not 1/,
    ],
    [
      'push --dry-run prints a command to run, without the password',
      () => [
        'push',
        join(EXAMPLES, 'rules.json'),
        url(`ops:${enc}@`, 'graylane/pushed'),
        '--dry-run',
      ],
      {},
      0,
      /To write exactly this change: graylane push .* etcd:\/\/\*\*\*@127\.0\.0\.1:\d+\/graylane\/pushed --expect-revision \d+ --yes/,
    ],
    [
      'wrong password in the URL',
      () => ['validate', url(`ops:${WRONG_PW}@`)],
      {},
      2,
      /cannot read etcd:\/\/\*\*\*@127\.0\.0\.1:\d+\/graylane\/config: authentication or permission denied for the user in the URL/,
    ],
    [
      'wrong password from the environment',
      () => ['validate', url('')],
      { ...ENV, GRAYLANE_ETCD_PASSWORD: WRONG_PW },
      2,
      /authentication or permission denied for user ops \(GRAYLANE_ETCD_USER\)/,
    ],
    [
      'a user without a password anywhere',
      () => ['validate', url('ops@')],
      { GRAYLANE_ETCD_PASSWORD: '' },
      2,
      /the user in the URL has no password: set GRAYLANE_ETCD_PASSWORD/,
    ],
    [
      'no credentials against an etcd with auth',
      () => ['validate', url('')],
      {},
      2,
      /cannot read etcd:\/\/127\.0\.0\.1:\d+\/graylane\/config: authentication or permission denied/,
    ],
    [
      'a key the user may not read',
      () => ['validate', url(`ops:${enc}@`, 'other/key')],
      {},
      2,
      /authentication or permission denied for the user in the URL/,
    ],
    [
      'the root password against a closed port',
      () => ['validate', `etcd://root:${ROOT_PW}@127.0.0.1:9/${KEY}`],
      {},
      2,
      /cannot read etcd:\/\/\*\*\*@127\.0\.0\.1:9\/graylane\/config: /,
    ],
    [
      'no host',
      () => ['validate', `etcd://ops:${enc}@/graylane/config`],
      {},
      2,
      /expected etcd:\/\/\[user@\]host/,
    ],
    [
      'no key',
      () => ['validate', `etcd://ops:${enc}@${host}`],
      {},
      2,
      /expected etcd:\/\/\[user@\]host/,
    ],
    [
      'a host with a space',
      () => ['validate', `etcd://ops:${enc}@bad host:1/k`],
      {},
      2,
      /"bad host:1" is not host\[:port\]/,
    ],
    [
      'a port out of range',
      () => ['validate', `etcd://ops:${enc}@127.0.0.1:99999/k`],
      {},
      2,
      /is not host\[:port\]/,
    ],
    [
      'the raw password with its @ and / unencoded',
      () => ['validate', `etcd://ops:${OPS_PW}@${host}/${KEY}`],
      {},
      2,
      /error: /,
    ],
    [
      'TLS files with a plain etcd:// URL',
      () => ['validate', url(`ops:${enc}@`)],
      { GRAYLANE_ETCD_CA: '/nonexistent/ca.pem' },
      2,
      /GRAYLANE_ETCD_CA need etcds:\/\/ \(TLS\)/,
    ],
    [
      'etcd3 not installed',
      () => ['validate', url(`ops:${enc}@`)],
      {},
      2,
      /etcd:\/\/ needs the optional package @graylane\/etcd .*npm install @graylane\/etcd/,
    ],
  ];

  it.each(ROWS)('MISC-03 %s', async (name, args, env, code, expected) => {
    const r = await runGraylane(args(), {
      env: { GRAYLANE_ETCD_USER: '', GRAYLANE_ETCD_PASSWORD: '', ...env },
      ...(name === 'etcd3 not installed' ? { nodeArgs: ['--import', BLOCK_ETCD] } : {}),
    });
    expectNoSecret(r);
    expect(r.stdout + r.stderr).toMatch(expected);
    expect(r.code).toBe(code);
  });

  it('MISC-03 without etcd3 installed, file commands still work (etcd is optional)', async () => {
    const r = await runGraylane(['validate', join(EXAMPLES, 'rules.json')], {
      nodeArgs: ['--import', BLOCK_ETCD],
    });
    expect(r.code).toBe(0);
  });
});

describe.skipIf(!binary)('etcds:// (TLS) through @graylane/etcd', () => {
  let pki: TestPki;
  let tls: EtcdProcess;
  let mtls: EtcdProcess;
  beforeAll(async () => {
    pki = makeTestPki();
    const serve = { certFile: pki.certFile, keyFile: pki.keyFile, caFile: pki.caFile };
    tls = await startEtcd(binary as string, { tls: serve });
    mtls = await startEtcd(binary as string, {
      tls: {
        ...serve,
        clientCaFile: pki.caFile,
        clientCertFile: pki.clientCertFile,
        clientKeyFile: pki.clientKeyFile,
      },
    });
    for (const e of [tls, mtls]) {
      const admin = new Etcd3({
        hosts: e.endpoint,
        credentials: {
          rootCertificate: readFileSync(pki.caFile),
          certChain: readFileSync(pki.clientCertFile),
          privateKey: readFileSync(pki.clientKeyFile),
        },
      });
      await admin.put(KEY).value(RULES);
      admin.close();
    }
  }, 60_000);
  afterAll(async () => {
    await tls?.dispose();
    await mtls?.dispose();
    pki?.dispose();
  });
  const at = (e: EtcdProcess, scheme = 'etcds') =>
    `${scheme}://${e.endpoint.replace('https://', '')}/${KEY}`;
  const CA = () => ({ GRAYLANE_ETCD_CA: pki.caFile });
  const CLIENT = () => ({
    ...CA(),
    GRAYLANE_ETCD_CERT: pki.clientCertFile,
    GRAYLANE_ETCD_KEY: pki.clientKeyFile,
  });

  const ROWS: readonly [string, () => string[], () => NodeJS.ProcessEnv, number, RegExp][] = [
    [
      'server TLS, the CA from GRAYLANE_ETCD_CA',
      () => ['validate', at(tls)],
      CA,
      0,
      /^ok etcds:\/\//m,
    ],
    ['server TLS, push', () => ['push', RAMP, at(tls), '--yes'], CA, 0, /^written: etcds:\/\//m],
    [
      'server TLS without the CA (system roots reject the test CA)',
      () => ['validate', at(tls)],
      () => ({}),
      2,
      /cannot read etcds:\/\//,
    ],
    [
      'plain etcd:// against a TLS port',
      () => ['validate', at(tls, 'etcd')],
      () => ({}),
      2,
      /cannot read etcd:\/\//,
    ],
    [
      'client-cert auth with the certificate and key',
      () => ['validate', at(mtls)],
      CLIENT,
      0,
      /^ok etcds:\/\//m,
    ],
    [
      'client-cert auth without a client certificate',
      () => ['validate', at(mtls)],
      CA,
      2,
      /cannot read etcds:\/\//,
    ],
    [
      'a certificate without its key',
      () => ['validate', at(mtls)],
      () => ({ ...CA(), GRAYLANE_ETCD_CERT: pki.clientCertFile }),
      2,
      /GRAYLANE_ETCD_CERT and GRAYLANE_ETCD_KEY go together/,
    ],
    [
      'an unreadable CA file',
      () => ['validate', at(tls)],
      () => ({ GRAYLANE_ETCD_CA: join(dir, 'missing.pem') }),
      2,
      /cannot read GRAYLANE_ETCD_CA .*missing\.pem: no such file/,
    ],
  ];
  it.each(ROWS)('%s', async (_name, args, env, code, expected) => {
    const r = await runGraylane(args(), { env: env() });
    expect(r.stdout + r.stderr).toMatch(expected);
    expect(r.code).toBe(code);
  });

  it('the etcd rule source over TLS with a client certificate: ready, value applied', async () => {
    const store = createConfigStore({
      initial: { versions: ['stable', 'beta'], default: 'stable' },
    });
    const source = createEtcdSource({
      hosts: mtls.endpoint,
      key: KEY,
      tls: {
        ca: readFileSync(pki.caFile),
        cert: readFileSync(pki.clientCertFile),
        key: readFileSync(pki.clientKeyFile),
      },
      logger: { warn: () => undefined, error: () => undefined },
    });
    try {
      await source.start(store);
      expect(source.status().state).toBe('ready');
      expect(store.get().config.rules.map((r) => r.id)).toEqual(['qa', 'checkout', 'canary']);
    } finally {
      await source.stop();
    }
  });
});
