import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConfigStore, type ConfigStore, type RuleSource } from '@graylane/core';
import { createEtcdSource } from '@graylane/etcd';
import { createBackup, createFileSource, createHttpSource } from '@graylane/node/sources';
import {
  ETCD_SKIP_MESSAGE,
  findEtcdBinary,
  startEtcd,
  type EtcdProcess,
} from '../../packages/etcd/test/harness.js';
import { closeAll, listen, waitFor } from './helpers.js';

/**
 * SRC-05, the encoding half: a config document that is not UTF-8 — a file saved as Latin-1, a
 * stray byte, an overlong or surrogate sequence, a character cut at the end — must be refused by
 * every carrier (file, HTTP body, etcd value, backup), never decoded with U+FFFD in place of the
 * bad bytes. Each row puts the bad bytes inside a matcher value, where a lenient decoder yields a
 * perfectly valid config whose rule silently never matches: the store must keep the
 * last-known-good config (I5) and the status must say why.
 */
const binary = findEtcdBinary(); // throws under CI=true when etcd is missing
if (!binary) console.warn(ETCD_SKIP_MESSAGE);

const GOOD = (id: string): Buffer =>
  Buffer.from(
    JSON.stringify({
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [{ id, version: 'beta' }],
    }),
  );
/** A valid config around `bytes` (in a path prefix), if the bytes were decoded leniently. */
const WITH = (bytes: readonly number[]): Buffer =>
  Buffer.concat([
    Buffer.from(
      '{"versions":["stable","beta"],"default":"stable","rules":[{"id":"lenient","match":{"path":{"prefix":"/caf',
    ),
    Buffer.from(bytes),
    Buffer.from('"}},"version":"beta"}]}'),
  ]);

const NOT_UTF8: readonly [string, Buffer][] = [
  ['a Latin-1 é (the file was saved as ISO-8859-1)', WITH([0xe9])],
  ['a Windows-1252 curly quote', WITH([0x93, 0x61, 0x94])],
  ['a lone continuation byte', WITH([0x80])],
  ['an overlong "/" (C0 AF)', WITH([0xc0, 0xaf])],
  ['a UTF-16 surrogate encoded as UTF-8 (ED A0 80)', WITH([0xed, 0xa0, 0x80])],
  ['a 4-byte character cut short', WITH([0xf0, 0x9f, 0x98])],
  ['0xFF, which never occurs in UTF-8', WITH([0xff])],
  ['a code point above U+10FFFF (F4 90 80 80)', WITH([0xf4, 0x90, 0x80, 0x80])],
  ['a BOM followed by Latin-1', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), WITH([0xe9])])],
];
const REASON = /not valid UTF-8/;
const ruleOf = (store: ConfigStore): string | undefined => store.get().config.rules[0]?.id;
const newStore = (): ConfigStore => createConfigStore({ initial: GOOD('embedded').toString() });
const warnings: string[] = [];
const logger = { warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) };

const work = mkdtempSync(join(tmpdir(), 'graylane-encoding-'));
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  await closeAll();
  warnings.length = 0;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const track = (s: RuleSource): RuleSource => (stops.push(() => s.stop()), s);

/** The row's common checks once a source has read the bad bytes. */
function expectRefused(store: ConfigStore, source: RuleSource, lkg: string): void {
  expect(ruleOf(store)).toBe(lkg);
  expect(source.status().state).toMatch(/error|stale/);
  expect(source.status().lastError).toMatch(REASON);
}

describe('SRC-05 a document that is not UTF-8 is refused by every source', () => {
  it.each(NOT_UTF8)(
    'SRC-05 file source, %s: refused, LKG kept; a UTF-8 save applies',
    async (_n, bytes) => {
      const path = join(work, `rules-${++n}.json`);
      writeFileSync(path, GOOD('good'));
      const store = newStore();
      const source = track(createFileSource({ path, logger, debounceMs: 10, rearmMs: 100 }));
      await source.start(store);
      expect(ruleOf(store)).toBe('good');
      writeFileSync(path, bytes);
      await waitFor(() => REASON.test(source.status().lastError ?? ''), 5_000, 'the refusal');
      expectRefused(store, source, 'good');
      writeFileSync(path, GOOD('fixed'));
      await waitFor(() => ruleOf(store) === 'fixed', 5_000, 'the fixed file');
      expect(source.status().state).toBe('ready');
    },
  );

  it.each(NOT_UTF8)('SRC-05 HTTP source, %s: refused, LKG kept', async (_n, bytes) => {
    let body = GOOD('good');
    const { url } = await listen(
      http.createServer((_req, res) => {
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(body);
      }),
    );
    const store = newStore();
    const source = track(
      createHttpSource({ url, logger, intervalMs: 20, backoff: { initialMs: 20 } }),
    );
    await source.start(store);
    expect(ruleOf(store)).toBe('good');
    body = bytes;
    await waitFor(() => REASON.test(source.status().lastError ?? ''), 5_000, 'the refusal');
    expectRefused(store, source, 'good');
    body = GOOD('fixed');
    await waitFor(() => ruleOf(store) === 'fixed', 5_000, 'the fixed body');
  });

  it.each(NOT_UTF8)(
    'SRC-05 backup file, %s: ignored with a warning at cold start',
    async (_n, bytes) => {
      const path = join(work, `backup-${++n}.json`);
      writeFileSync(path, bytes);
      const store = newStore();
      const result = await createBackup({ path, logger }).restore(store);
      expect(result).toBeUndefined();
      expect(ruleOf(store)).toBe('embedded');
      expect(warnings.some((w) => REASON.test(w) && w.includes(path))).toBe(true);
    },
  );
});

describe.skipIf(!binary)('SRC-05 an etcd value that is not UTF-8 is refused', () => {
  let etcd: EtcdProcess;
  let admin: Etcd3;
  beforeAll(async () => {
    etcd = await startEtcd(binary as string);
    admin = new Etcd3({ hosts: etcd.endpoint });
  }, 60_000);
  afterAll(async () => {
    admin?.close();
    await etcd?.dispose();
  });

  it.each(NOT_UTF8)(
    'SRC-05 etcd source, %s: at start and through the watch; LKG kept',
    async (_n, bytes) => {
      const key = `/graylane/encoding-${++n}`;
      await admin.put(key).value(bytes);
      const store = newStore();
      const source = track(
        createEtcdSource({
          hosts: etcd.endpoint,
          key,
          logger,
          backoff: { initialMs: 50, maxMs: 100 },
        }),
      );
      await source.start(store);
      expectRefused(store, source, 'embedded');
      await admin.put(key).value(GOOD('good'));
      await waitFor(() => ruleOf(store) === 'good', 10_000, 'a UTF-8 value');
      await admin.put(key).value(bytes);
      await waitFor(() => REASON.test(source.status().lastError ?? ''), 10_000, 'the refusal');
      expectRefused(store, source, 'good');
    },
  );
});
