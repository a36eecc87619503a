import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createConfigStore, type ConfigStore, type RuleSource } from '@graylane/core';
import { createFileSource, createHttpSource, startSources } from '@graylane/node/sources';
import { closeAll, listen, sleep, waitFor } from './helpers.js';

/**
 * SRC-04: the backup reflects what is in force after every document a source delivers —
 * including one equal to the embedded default (a rollback), which changes nothing in the store
 * and emits no event — so a cold start with the source down never resurrects a rolled-back
 * config. Each row ends its first run with some config in force; the second run is a cold start
 * with the source unreachable, and must serve exactly that config from the backup.
 */
const quiet = { warn: () => undefined, error: () => undefined };
const EMBEDDED = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [{ id: 'embedded', version: 'beta' }],
};
const doc = (id: string): string =>
  JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id, version: 'beta' }],
  });
/** The embedded default, re-serialised: other key order, other whitespace, same canonical form. */
const EMBEDDED_REFORMATTED = `{\n  "rules": [ { "version": "beta", "id": "embedded" } ],\n  "default": "stable",\n  "versions": ["stable", "beta"]\n}\n`;
const ruleOf = (store: ConfigStore): string | undefined => store.get().config.rules[0]?.id;
const newStore = (): ConfigStore => createConfigStore({ initial: EMBEDDED });

const root = mkdtempSync(join(tmpdir(), 'graylane-src-backup-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => closeAll());
let n = 0;

interface Ctx {
  readonly dir: string;
  readonly backup: string;
  /** Starts sources on a fresh store with the backup; stopped (and flushed) by `finish`. */
  run(sources: RuleSource[]): Promise<{ store: ConfigStore; finish: () => Promise<void> }>;
  /** An HTTP endpoint serving whatever `body()` returns (ETag = body). */
  serve(body: () => string): Promise<string>;
}

/** Each row: what happens in the first run; the rule id that is in force at its end. */
const ROWS: readonly [string, (ctx: Ctx) => Promise<string>][] = [
  [
    'file source confirms content equal to the embedded default (unchanged in the store, no event)',
    async ({ dir, run }) => {
      writeFileSync(join(dir, 'rules.json'), JSON.stringify(EMBEDDED));
      const { store, finish } = await run([
        createFileSource({ path: join(dir, 'rules.json'), logger: quiet }),
      ]);
      expect(store.get().version).toBe(1); // nothing changed in the store
      await finish();
      return 'embedded';
    },
  ],
  [
    'file source confirms the embedded default re-formatted (other key order and whitespace)',
    async ({ dir, run }) => {
      writeFileSync(join(dir, 'rules.json'), EMBEDDED_REFORMATTED);
      const { finish } = await run([
        createFileSource({ path: join(dir, 'rules.json'), logger: quiet }),
      ]);
      await finish();
      return 'embedded';
    },
  ],
  [
    'HTTP source confirms content equal to the embedded default',
    async ({ run, serve }) => {
      const url = await serve(() => JSON.stringify(EMBEDDED));
      const { finish } = await run([createHttpSource({ url, logger: quiet, intervalMs: 20 })]);
      await sleep(100); // several polls, some answered 304
      await finish();
      return 'embedded';
    },
  ],
  [
    'runtime rollback: file goes to b, then back to the embedded default',
    async ({ dir, run }) => {
      const path = join(dir, 'rules.json');
      writeFileSync(path, doc('b'));
      const { store, finish } = await run([createFileSource({ path, logger: quiet })]);
      expect(ruleOf(store)).toBe('b');
      writeFileSync(path, JSON.stringify(EMBEDDED));
      await waitFor(() => ruleOf(store) === 'embedded', 5_000, 'rollback applied');
      await finish();
      return 'embedded';
    },
  ],
  [
    'runtime rollback over HTTP: b, then the embedded default',
    async ({ run, serve }) => {
      let body = doc('b');
      const url = await serve(() => body);
      const { store, finish } = await run([
        createHttpSource({ url, logger: quiet, intervalMs: 20 }),
      ]);
      expect(ruleOf(store)).toBe('b');
      body = JSON.stringify(EMBEDDED);
      await waitFor(() => ruleOf(store) === 'embedded', 5_000, 'rollback applied');
      await finish();
      return 'embedded';
    },
  ],
  [
    'cold start from the backup (old-b), then the source comes back with the embedded default',
    async ({ dir, run }) => {
      const path = join(dir, 'rules.json');
      const { store, finish } = await run([createFileSource({ path, logger: quiet })]);
      expect(ruleOf(store)).toBe('old-b'); // restored from the previous run's backup
      writeFileSync(path, JSON.stringify(EMBEDDED));
      await waitFor(() => ruleOf(store) === 'embedded', 5_000, 'source back');
      await finish();
      return 'embedded';
    },
  ],
  [
    'rollback to the embedded default, then an invalid document (rejected: the rollback stays)',
    async ({ dir, run }) => {
      const path = join(dir, 'rules.json');
      writeFileSync(path, doc('b'));
      const { store, finish } = await run([createFileSource({ path, logger: quiet })]);
      writeFileSync(path, JSON.stringify(EMBEDDED));
      await waitFor(() => ruleOf(store) === 'embedded', 5_000, 'rollback applied');
      await sleep(150);
      writeFileSync(path, '{"versions": [');
      await sleep(300);
      expect(ruleOf(store)).toBe('embedded');
      await finish();
      return 'embedded';
    },
  ],
  [
    'two sources: the file moves to c, the HTTP source later confirms the embedded default',
    async ({ dir, run, serve }) => {
      const path = join(dir, 'rules.json');
      writeFileSync(path, doc('c'));
      let body = doc('c');
      const url = await serve(() => body);
      const { store, finish } = await run([
        createFileSource({ path, logger: quiet }),
        createHttpSource({ url, logger: quiet, intervalMs: 20 }),
      ]);
      expect(ruleOf(store)).toBe('c');
      body = JSON.stringify(EMBEDDED);
      await waitFor(() => ruleOf(store) === 'embedded', 5_000, 'http rollback');
      await finish();
      return 'embedded';
    },
  ],
  [
    'a move to b then c then back to b (not the default): the backup follows each',
    async ({ dir, run }) => {
      const path = join(dir, 'rules.json');
      writeFileSync(path, doc('b'));
      const { store, finish } = await run([createFileSource({ path, logger: quiet })]);
      for (const id of ['c', 'b']) {
        await sleep(150);
        writeFileSync(path, doc(id));
        await waitFor(() => ruleOf(store) === id, 5_000, id);
      }
      await finish();
      return 'b';
    },
  ],
];

describe('SRC-04 the backup reflects what is in force', () => {
  it.each(ROWS)(
    'SRC-04 %s: a cold start with the source down serves exactly that config',
    async (_name, row) => {
      const dir = join(root, `case-${++n}`);
      mkdirSync(dir);
      const backup = join(dir, 'backup.json');
      writeFileSync(backup, doc('old-b')); // what an earlier run left behind
      const ctx: Ctx = {
        dir,
        backup,
        async run(sources) {
          const store = newStore();
          const handle = startSources(store, sources, {
            backup: { path: backup },
            meter: false,
            logger: quiet,
          });
          await handle.ready;
          return { store, finish: () => handle.stop() };
        },
        async serve(body) {
          const { url } = await listen(
            http.createServer((req, res) => {
              const text = body();
              const etag = `"${Buffer.from(text).toString('base64url').slice(-16)}"`;
              if (req.headers['if-none-match'] === etag) return void res.writeHead(304).end();
              res.writeHead(200, { etag, 'content-type': 'application/json' }).end(text);
            }),
          );
          return `${url}/config.json`;
        },
      };
      const inForce = await row(ctx);

      // Cold start: the source is unreachable; only the backup can supply the config.
      const store = newStore();
      const handle = startSources(
        store,
        [
          createHttpSource({
            url: 'http://127.0.0.1:9/down',
            logger: quiet,
            backoff: { initialMs: 60_000 },
          }),
        ],
        { backup: { path: backup }, meter: false, logger: quiet },
      );
      const status = await handle.ready;
      await handle.stop();
      expect(status.state).toBe('degraded');
      expect(ruleOf(store)).toBe(inForce);
    },
    30_000,
  );

  it('SRC-04 identical confirmations do not rewrite the backup (one write, then none)', async () => {
    const dir = join(root, `case-${++n}`);
    mkdirSync(dir);
    const backup = join(dir, 'backup.json');
    let polls = 0;
    const { url } = await listen(
      http.createServer((_req, res) => {
        polls++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(doc('steady')); // no ETag: a full 200 each time
      }),
    );
    const store = newStore();
    const handle = startSources(store, [createHttpSource({ url, logger: quiet, intervalMs: 20 })], {
      backup: { path: backup },
      meter: false,
      logger: quiet,
    });
    await handle.ready;
    await waitFor(
      () => statSync(backup, { throwIfNoEntry: false }) !== undefined,
      5_000,
      'first write',
    );
    await sleep(100);
    const first = statSync(backup);
    const before = polls;
    await waitFor(() => polls - before >= 4, 10_000, 'four more identical polls');
    await handle.stop();
    const after = statSync(backup);
    expect([after.ino, after.mtimeMs]).toEqual([first.ino, first.mtimeMs]);
  });
});
