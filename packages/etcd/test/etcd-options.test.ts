import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEtcdDocumentClient,
  createEtcdSource,
  type EtcdSourceOptions,
  type EtcdTlsOptions,
} from '../src/index.js';
import {
  ETCD_SKIP_MESSAGE,
  findEtcdBinary,
  makeTestPki,
  startEtcd,
  type EtcdProcess,
  type TestPki,
} from './harness.js';
import { quietLogger, recordingStore, waitFor } from './helpers.js';

/**
 * Client configurations that can never work. Retrying cannot fix them (FLT-04's principle): the
 * source stops at start — `error`, `fatal`, one loud line naming the problem, no attempt, the
 * config untouched — instead of a retry loop that logs once and reports a plain `error` forever;
 * the document client (what `graylane push` uses) throws when built. TLS problems only the server
 * can reveal (wrong CA, plaintext against TLS) stay runtime errors: retried with backoff, never
 * `ready`, never fatal, with the TLS reason in the status.
 */
const binary = findEtcdBinary();
if (!binary) console.warn(ETCD_SKIP_MESSAGE);

const PEM = '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n';
const NEVER: readonly [string, Omit<EtcdSourceOptions, 'key'>, RegExp][] = [
  ['no hosts and no client', {}, /needs `hosts` or `client`/],
  ['an empty host list', { hosts: [] }, /at least one endpoint/],
  ['an empty host string', { hosts: '' }, /at least one endpoint/],
  ['a blank host among others', { hosts: ['http://a:2379', ' '] }, /at least one endpoint/],
  ['https and http endpoints mixed', { hosts: ['https://a:2379', 'http://b:2379'] }, /mixes/],
  [
    'mixed, upper-case scheme',
    { hosts: ['HTTPS://a:2379', 'http://b:2379'] },
    /mixes https:\/\/ and http:\/\//,
  ],
  [
    'a client certificate without its key',
    { hosts: 'https://a:2379', tls: { cert: PEM } },
    /`cert` and `key` go together/,
  ],
  [
    'a client key without its certificate',
    { hosts: 'https://a:2379', tls: { key: PEM } },
    /`cert` and `key` go together/,
  ],
  [
    'a CA and a lone certificate',
    { hosts: 'https://a:2379', tls: { ca: PEM, cert: PEM } },
    /`cert` and `key` go together/,
  ],
];

describe('FLT-04 etcd client options that can never work stop the source at start', () => {
  it.each(NEVER)(
    'FLT-04 %s: never thrown; start resolves fatal with the reason, no attempt, no retry',
    async (_n, options, why) => {
      const logger = quietLogger();
      const { store } = recordingStore();
      const source = createEtcdSource({
        key: '/k',
        logger,
        backoff: { initialMs: 10 },
        ...options,
      });
      await source.start(store);
      expect(source.status()).toMatchObject({ state: 'error', fatal: true });
      expect(source.status().lastError).toMatch(why);
      expect(logger.lines).toHaveLength(1);
      expect(logger.lines[0]).toMatch(/^error .*SOURCE_FATAL|^error .*the source stopped/);
      await new Promise((r) => setTimeout(r, 200)); // > 10 backoff periods: nothing is retried
      expect(logger.lines).toHaveLength(1);
      expect(store.get().version).toBe(1);
      await source.stop();
    },
  );

  it.each(NEVER.filter(([, o]) => o.hosts !== undefined))(
    'FLT-04 %s: createEtcdDocumentClient throws the same error',
    (_n, options, why) => {
      expect(() =>
        createEtcdDocumentClient({
          key: '/k',
          hosts: options.hosts as string,
          ...(options.tls ? { tls: options.tls } : {}),
        }),
      ).toThrow(why);
    },
  );

  it('FLT-04 a bring-your-own client is never second-guessed (no hosts needed)', async () => {
    const client = {
      get: () => ({ exec: () => Promise.reject(new Error('offline')) }),
      watch: () => {
        throw new Error('unused');
      },
      close: () => undefined,
    };
    const source = createEtcdSource({ key: '/k', client, logger: quietLogger() });
    const { store } = recordingStore();
    await source.start(store);
    expect(source.status()).toMatchObject({ state: 'error', lastError: 'offline' });
    await source.stop();
  });
});

describe.skipIf(!binary)(
  'FLT-04 TLS problems only the server reveals: retried, never ready, never fatal',
  () => {
    let pki: TestPki;
    let other: TestPki;
    let etcd: EtcdProcess;
    beforeAll(async () => {
      pki = makeTestPki();
      other = makeTestPki();
      etcd = await startEtcd(binary as string, {
        tls: { certFile: pki.certFile, keyFile: pki.keyFile, caFile: pki.caFile },
      });
    }, 60_000);
    afterAll(async () => {
      await etcd?.dispose();
      pki?.dispose();
      other?.dispose();
    });

    const ROWS: readonly [string, () => { hosts: string; tls?: EtcdTlsOptions }, RegExp][] = [
      [
        'a CA that did not sign the server certificate',
        () => ({ hosts: etcd.endpoint, tls: { ca: readFileSync(other.caFile) } }),
        /certificate|self.signed|verify/i,
      ],
      [
        'the system roots only (a private CA not trusted)',
        () => ({ hosts: etcd.endpoint }),
        /certificate|self.signed|verify/i,
      ],
      [
        'plaintext http:// against a TLS endpoint',
        () => ({ hosts: etcd.endpoint.replace('https://', 'http://') }),
        /UNAVAILABLE|timed out|Connection|closed|ECONNRESET|protocol/i,
      ],
    ];

    it.each(ROWS)(
      'FLT-04 %s: start resolves, status error with the reason, retried (not fatal), config untouched',
      async (_n, options, why) => {
        const logger = quietLogger();
        const { store } = recordingStore();
        const source = createEtcdSource({
          key: '/k',
          logger,
          backoff: { initialMs: 100, maxMs: 200 },
          requestTimeoutMs: 3_000,
          ...options(),
        });
        try {
          await source.start(store);
          expect(source.status().state).toBe('error');
          expect(source.status().fatal).toBeUndefined();
          expect(source.status().lastError).toMatch(why);
          expect(store.get().version).toBe(1);
          // Retried on its schedule: the status keeps the TLS reason, it never turns ready.
          await waitFor(() => logger.lines.length >= 1, 10_000, 'a logged reason');
          expect(source.status().state).toBe('error');
        } finally {
          await source.stop();
        }
      },
      30_000,
    );
  },
);
