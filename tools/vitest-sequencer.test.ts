import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestSpecification } from 'vitest/node';
import { describe, expect, it } from 'vitest';
import LongestFirstSequencer from './vitest-sequencer';

const root = join(import.meta.dirname, '..');
const table = JSON.parse(
  readFileSync(join(import.meta.dirname, 'test-durations.json'), 'utf8'),
) as Record<string, number>;

function spec(path: string): TestSpecification {
  return { moduleId: join(root, path) } as unknown as TestSpecification;
}

const sequencer = new LongestFirstSequencer({ config: { root } } as never);

describe('the CI file order (tools/vitest-sequencer.ts)', () => {
  it('every recorded file still exists: a renamed or removed file is renamed or removed here too', () => {
    const missing = Object.keys(table).filter((file) => !existsSync(join(root, file)));
    expect(missing).toEqual([]);
  });

  it('recorded files run longest first, whatever order they are given in', async () => {
    const recorded = Object.keys(table);
    const given = [...recorded].reverse().map(spec);
    const sorted = (await sequencer.sort(given)).map((s) => s.moduleId);
    const durations = sorted.map((id) => table[id.slice(root.length + 1)]!);
    for (let i = 1; i < durations.length; i++) {
      expect(durations[i]!).toBeLessThanOrEqual(durations[i - 1]!);
    }
    expect(sorted).toHaveLength(recorded.length);
  });

  it('a file not in the table is placed by its size, among the recorded ones', async () => {
    const unknown = spec('tools/vitest-sequencer.test.ts');
    const slowest = spec(Object.keys(table)[0]!);
    const sorted = await sequencer.sort([unknown, slowest]);
    expect(sorted[0]).toBe(slowest);
    const gone = spec('tools/no-such-file.test.ts');
    expect((await sequencer.sort([gone, unknown]))[0]).toBe(unknown);
  });
});
