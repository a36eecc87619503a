import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdSource } from '../src/index.js';
import { ETCD_SKIP_MESSAGE, findEtcdBinary, startEtcd, type EtcdProcess } from './harness.js';
import { doc, quietLogger, recordingStore, waitFor } from './helpers.js';

// I1 I4 (review 68 D1): what a rejected etcd document makes the source write — its log line and
// `lastError` — is one escaped, bounded line, as configuration.md promises for every source: a
// `\n` in a key of the document must not forge a log line, 1,000 problems must not make a
// megabyte of `lastError`. A real etcd on 127.0.0.1 (skipped without the binary).

const binary = findEtcdBinary();
if (!binary) console.warn(ETCD_SKIP_MESSAGE);

const KEY = '/graylane/rejected-text';
// eslint-disable-next-line no-control-regex -- the characters a log line must not hold
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const hostile = (key: string): string =>
  JSON.stringify({ versions: ['stable', 'beta'], default: 'stable', [key]: 1 });

const ROWS: ReadonlyArray<[string, string]> = [
  ['LF and a forged line', hostile('x\nWARN [graylane] FORGED')],
  ['CRLF', hostile('x\r\nerror [graylane] FORGED')],
  ['ESC (a terminal sequence)', hostile('x\u001b[2Jcleared')],
  ['NUL and DEL', hostile('x\u0000y\u007fz')],
  ['C1 NEL', hostile('x\u0085NEL')],
  ['U+2028 and U+2029', hostile('x\u2028y\u2029z')],
  ['a 5,000-character key', hostile(`k${'\n'.repeat(5_000)}`)],
  [
    '1,000 unknown fields, each with a line break',
    JSON.stringify({
      versions: ['stable', 'beta'],
      default: 'stable',
      ...Object.fromEntries(Array.from({ length: 1_000 }, (_, k) => [`f${k}\nFORGED`, k])),
    }),
  ],
];

describe.skipIf(!binary)('I1 I4 a rejected etcd document is logged as one escaped line', () => {
  let etcd: EtcdProcess;
  let admin: Etcd3;
  const logger = quietLogger();
  const { store, events } = recordingStore();
  let source: ReturnType<typeof createEtcdSource>;

  beforeAll(async () => {
    etcd = await startEtcd(binary as string);
    admin = new Etcd3({ hosts: etcd.endpoint });
    await admin.put(KEY).value(doc('beta'));
    source = createEtcdSource({ hosts: etcd.endpoint, key: KEY, logger });
    await source.start(store);
  });
  afterAll(async () => {
    await source?.stop();
    admin?.close();
    await etcd?.dispose();
  });

  it.each(ROWS)('%s', async (_label, value) => {
    const before = events.filter((e) => e.type === 'rejected').length;
    const lines = logger.lines.length;
    await admin.put(KEY).value(value);
    await waitFor(
      () => events.filter((e) => e.type === 'rejected').length > before,
      5_000,
      'rejection',
    );
    await waitFor(() => logger.lines.length > lines, 5_000, 'log line');
    const logged = logger.lines.slice(lines).filter((l) => l.includes('rejected at revision'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).not.toMatch(RAW_CONTROL);
    expect(logged[0]?.length).toBeLessThan(4_000);
    const lastError = source.status().lastError ?? '';
    expect(lastError).toContain('invalid config');
    expect(lastError).not.toMatch(RAW_CONTROL);
    expect(lastError.length).toBeLessThanOrEqual(1_000);
    // The last good config stays.
    expect(store.get().config.default).toBe('beta');
  });
});
