import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleExample } from './support/docs.js';

/*
 * Review 120 D6: web.md's first example ("Decide, run, write back") called `getGrayVersion()`
 * in the handler, which throws NO_CONTEXT wherever graylane has no AsyncLocalStorage (plain
 * Node, Deno and Bun without provideAsyncLocalStorage, a Worker without nodejs_compat). The
 * example runs as written in a fresh Node process that provides none.
 */

const WEB_MD = fileURLToPath(new URL('../../../docs/web.md', import.meta.url));

function firstExample(): string {
  const text = readFileSync(WEB_MD, 'utf8');
  const section = text.slice(text.indexOf('## Decide, run, write back'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('web.md: no example under "Decide, run, write back"');
  return m[1] as string;
}

describe('docs/web.md: the first example runs where there is no AsyncLocalStorage', () => {
  it.each([
    ['a marker', { 'x-gray-id': 'beta' }, 'served by beta'],
    ['no marker', {}, 'served by stable'],
  ])('D6 %s: the handler answers with the decided version', async (_l, headers, text) => {
    const { file } = await bundleExample(firstExample(), 'https://api.internal', 'esm');
    const script = `
      const { handler } = await import(${JSON.stringify(file)});
      const res = await handler(new Request('https://shop.example/', { headers: ${JSON.stringify(headers)} }));
      process.stdout.write(JSON.stringify({ status: res.status, text: await res.text() }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({ status: 200, text });
  });
});
