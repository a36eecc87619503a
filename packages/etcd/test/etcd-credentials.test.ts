import { describe, expect, it } from 'vitest';
import { createEtcdDocumentClient, createEtcdSource } from '../src/index.js';
import { describeError } from '../src/errors.js';
import { quietLogger, recordingStore } from './helpers.js';

/**
 * MISC-03: credentials in a host URL. gRPC resolves `dns:user:pass@host` and echoes the target in
 * every error, which reached logs, `lastError`, `status()` and the status page while the source
 * retried forever. Such hosts are refused at start (FLT-04: retrying cannot help), pointing to the
 * `auth` option, and the secret is never echoed.
 */
const HOSTS: readonly [string, string | readonly string[], readonly string[]][] = [
  ['user:pass, http', 'http://gluser:S3cretPw@127.0.0.1:31389', ['gluser', 'S3cretPw']],
  ['user:pass, https', 'https://gluser:S3cretPw@etcd.example:2379', ['gluser', 'S3cretPw']],
  ['an @ in the password', 'http://gluser:S3c@retPw@127.0.0.1:2379', ['gluser', 'S3c', 'retPw']],
  ['a percent-encoded @', 'http://gluser:S3cret%40Pw@127.0.0.1:2379', ['gluser', 'S3cret']],
  ['a / in the password', 'http://gluser:S3c/retPw@127.0.0.1:2379', ['gluser', 'S3c', 'retPw']],
  ['a user only', 'http://S3cretUser@127.0.0.1:2379', ['S3cretUser']],
  ['an empty user', 'https://:S3cretPw@127.0.0.1:2379', ['S3cretPw']],
  ['an upper-case scheme', 'HTTP://gluser:S3cretPw@127.0.0.1:2379', ['gluser', 'S3cretPw']],
  ['an IPv6 host', 'http://gluser:S3cretPw@[::1]:2379', ['gluser', 'S3cretPw']],
  ['no scheme', 'gluser:S3cretPw@127.0.0.1:2379', ['gluser', 'S3cretPw']],
  [
    'several hosts, the second with credentials',
    ['http://127.0.0.1:2379', 'http://gluser:S3cretPw@127.0.0.2:2379'],
    ['gluser', 'S3cretPw'],
  ],
  [
    'several https hosts, the first with credentials',
    ['https://gluser:S3cretPw@a:2379', 'https://b:2379', 'https://c:2379'],
    ['gluser', 'S3cretPw'],
  ],
];

const leaks = (text: string, secrets: readonly string[]): string[] =>
  secrets.filter((s) => text.includes(s));

describe('MISC-03 credentials in an etcd host URL are refused at start, never echoed', () => {
  it.each(HOSTS)(
    'MISC-03 %s: fatal at start, points to `auth`, no secret in logs or status',
    async (_n, hosts, secrets) => {
      const logger = quietLogger();
      const { store } = recordingStore();
      const source = createEtcdSource({ key: '/k', hosts, logger, backoff: { initialMs: 10 } });
      await source.start(store);
      expect(source.status()).toMatchObject({ state: 'error', fatal: true });
      expect(source.status().lastError).toMatch(/`auth` option/);
      await new Promise((r) => setTimeout(r, 100)); // > 10 backoff periods: nothing is retried
      expect(logger.lines).toHaveLength(1);
      expect(leaks(JSON.stringify(source.status()), secrets)).toEqual([]);
      expect(leaks(logger.lines.join('\n'), secrets)).toEqual([]);
      await source.stop();
      expect(leaks(JSON.stringify(source.status()), secrets)).toEqual([]);
    },
  );

  it.each(HOSTS)(
    'MISC-03 %s: createEtcdDocumentClient throws without the secret',
    (_n, hosts, secrets) => {
      let message = '';
      try {
        createEtcdDocumentClient({ key: '/k', hosts: hosts as string });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/`auth` option/);
      expect(leaks(message, secrets)).toEqual([]);
    },
  );
});

/** Defence in depth: whatever text an error carries, URL credentials are redacted. */
const MESSAGES: readonly [string, unknown, string][] = [
  [
    'gRPC resolution target',
    new Error(
      '14 UNAVAILABLE: Name resolution failed for target dns:gluser:S3cretPw@127.0.0.1:31389',
    ),
    '14 UNAVAILABLE: Name resolution failed for target dns:***@127.0.0.1:31389',
  ],
  [
    'URL with user:pass',
    new Error('connect http://gluser:S3cretPw@127.0.0.1:2379 failed'),
    'connect http://***@127.0.0.1:2379 failed',
  ],
  [
    'an @ and a / in the password',
    new Error('at https://gluser:S3c@re/tPw@h:2379/v3 now'),
    'at https://***@h:2379/v3 now',
  ],
  ['a user only', new Error('to http://S3cretUser@h:2379'), 'to http://***@h:2379'],
  ['a string', 'dns:gluser:S3cretPw@h:1 and gluser:S3cretPw@h:2', 'dns:***@h:1 and ***@h:2'],
  [
    'no credentials',
    new Error('connect http://127.0.0.1:2379 /graylane/config'),
    'connect http://127.0.0.1:2379 /graylane/config',
  ],
  ['in parentheses', new Error('(http://gluser:S3cretPw@h)'), '(http://***@h)'],
  ['an etcd message', new Error('etcdserver: permission denied'), 'etcdserver: permission denied'],
  [
    "gRPC's empty resolution note",
    new Error('14 UNAVAILABLE: No connection established. Resolution note: '),
    '14 UNAVAILABLE: No connection established.',
  ],
  [
    'a resolution note with a credentialed target',
    new Error('14 UNAVAILABLE: dns:gluser:S3cretPw@h:2379 failed. Resolution note:\n'),
    '14 UNAVAILABLE: dns:***@h:2379 failed.',
  ],
  ['an empty message', new Error(''), 'Error without a message'],
  ['whitespace only', new Error('  \n'), 'Error without a message'],
  [
    'an empty message with a gRPC code',
    Object.assign(new (class EtcdWatchCancelled extends Error {})(''), { code: 1 }),
    'EtcdWatchCancelled without a message (code 1)',
  ],
  ['an empty string thrown', '', 'error without a message'],
  ['undefined thrown', undefined, 'undefined'],
];

describe('MISC-03 describeError redacts URL credentials', () => {
  it.each(MESSAGES)('MISC-03 %s', (_n, error, expected) => {
    const text = describeError(error);
    expect(text).toBe(expected);
    expect(text).not.toMatch(/S3c|gluser/);
  });
});
