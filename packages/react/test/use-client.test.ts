/**
 * Review F8: both entries of the built package start with the `'use client'` directive — the
 * first statement, before CJS's `"use strict"` (a directive anywhere else is an ordinary
 * string, ignored by React Server Components bundlers) — and the source maps still point at
 * the sources (the banner shifted every line by two).
 */
import { readFileSync } from 'node:fs';
import { createRequire, SourceMap } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const DIST = join(dirname(require.resolve('@graylane/react/package.json')), 'dist');

/** The directive prologue: the string-literal statements a file starts with (comments skipped). */
function prologue(code: string): string[] {
  const out: string[] = [];
  const statement = /^(?:\s|\/\/[^\n]*\n|\/\*[\s\S]*?\*\/)*(['"])([^'"\n]*)\1\s*;?/;
  let rest = code;
  for (let m = statement.exec(rest); m; m = statement.exec(rest)) {
    out.push(m[2] as string);
    rest = rest.slice(m[0].length);
  }
  return out;
}

describe('@graylane/react is a client module', () => {
  it.each([
    ['index.js', ['use client']],
    ['index.cjs', ['use client', 'use strict']],
  ])('%s starts with the directive', (file, expected) => {
    const code = readFileSync(join(DIST, file), 'utf8');
    expect(prologue(code)).toEqual(expected);
    expect(code.startsWith("'use client';\n")).toBe(true);
  });

  it.each(['index.js', 'index.cjs'])('%s.map still maps the code to its source lines', (file) => {
    const code = readFileSync(join(DIST, file), 'utf8').split('\n');
    const map = new SourceMap(JSON.parse(readFileSync(join(DIST, `${file}.map`), 'utf8')));
    for (const [fn, source] of [
      ['GrayProvider', 'provider.ts'],
      ['useGrayVersion', 'hooks.ts'],
      ['GrayBranch', 'branch.ts'],
    ] as const) {
      const line = code.findIndex((l) => l.startsWith(`function ${fn}(`));
      expect(line, fn).toBeGreaterThan(0);
      const entry = map.findEntry(line, 0) as { originalSource?: string; originalLine?: number };
      const src = readFileSync(join(DIST, '..', 'src', source), 'utf8').split('\n');
      expect(entry.originalSource).toMatch(new RegExp(`src/${source}$`));
      expect(src[entry.originalLine ?? -1]).toContain(`export function ${fn}`);
    }
  });
});
