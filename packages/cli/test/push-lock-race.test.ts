import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';

const doc = (id: string): string =>
  JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id, version: 'beta' }],
  });
const revisionOf = (text: string): string =>
  `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;

const dir = mkdtempSync(join(tmpdir(), 'graylane-push-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * SRC-01/MISC-03 file pushes with `--expect-revision`: a lock left by a crashed push (stale mtime)
 * is taken over by exactly one of the pushes racing for it, so exactly one of N concurrent pushes
 * from the same revision wins and the others see a conflict (no lost update). Several rounds, 2–8
 * racers, with and without a stale lock.
 */
describe('push to a file: concurrent pushes from one revision', () => {
  const rounds = [
    { racers: 2, staleLock: true },
    { racers: 4, staleLock: true },
    { racers: 8, staleLock: true },
    { racers: 8, staleLock: false },
    { racers: 8, staleLock: true },
  ];
  it.each(rounds.map((r, i) => ({ ...r, round: i })))(
    'round $round: $racers pushes, stale lock $staleLock → exactly one wins',
    async ({ racers, staleLock, round }) => {
      const target = join(dir, `target-${round}.json`);
      const initial = doc('initial');
      writeFileSync(target, initial);
      const lock = `${target}.graylane-push.lock`;
      if (staleLock) {
        writeFileSync(lock, '999999\n');
        const old = new Date(Date.now() - 120_000);
        utimesSync(lock, old, old);
      }
      const sources = Array.from({ length: racers }, (_v, i) => {
        const p = join(dir, `source-${round}-${i}.json`);
        writeFileSync(p, doc(`op-${i}`));
        return p;
      });
      const codes = await Promise.all(
        sources.map((source) =>
          runCli(['push', source, target, '--yes', '--expect-revision', revisionOf(initial)], {
            out: () => undefined,
            err: () => undefined,
            color: false,
          }),
        ),
      );
      expect(codes.filter((c) => c === 0)).toHaveLength(1);
      expect(codes.filter((c) => c !== 0)).toHaveLength(racers - 1);
      const winner = codes.indexOf(0);
      expect(readFileSync(target, 'utf8')).toContain(`op-${winner}`);
      expect(existsSync(lock)).toBe(false);
    },
    60_000,
  );
});
