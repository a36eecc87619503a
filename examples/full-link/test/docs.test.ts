/**
 * docs/gateways.md quotes the tested gateway code and nginx config: every quoted line must still
 * be in the tested file. (docs/getting-started.md is compared with a real run in demo.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, checkedBlocks } from './docs-blocks.js';

describe('docs/gateways.md quotes tested files', () => {
  const blocks = checkedBlocks('docs/gateways.md');

  it('has the Node gateway and the nginx blocks', () => {
    expect(blocks.map((b) => /every line below is in (\S+)/.exec(b.note)?.[1])).toEqual([
      'examples/full-link/src/gateway.ts',
      'examples/nginx/nginx.conf.template',
    ]);
  });

  it.each(blocks.map((b) => [/every line below is in (\S+)/.exec(b.note)?.[1] ?? '?', b] as const))(
    'every line quoted from %s is in it',
    (file, block) => {
      const source = new Set(
        readFileSync(resolve(REPO_ROOT, file), 'utf8')
          .split('\n')
          .map((l) => l.trim()),
      );
      const missing = block.lines.map((l) => l.trim()).filter((l) => l !== '' && !source.has(l));
      expect(missing).toEqual([]);
    },
  );
});
