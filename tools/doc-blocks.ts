import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** The pages users read: README.md, every docs/*.md (flat) and every package README. */
export function docPages(root: URL): string[] {
  return [
    'README.md',
    ...readdirSync(new URL('docs/', root))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
    ...readdirSync(new URL('packages/', root)).map((p) => `packages/${p}/README.md`),
  ].filter((f) => existsSync(new URL(f, root)));
}

/** One fenced code block of a page. */
export interface Block {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly code: string;
  /** The (up to) three lines above the fence, for markers such as `<!-- checked: … -->`. */
  readonly before: string;
}

/** Every fenced block of `files`, in order. */
export function codeBlocks(root: URL, files: readonly string[]): Block[] {
  const out: Block[] = [];
  for (const file of files) {
    const lines = readFileSync(new URL(file, root), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(\w*)/.exec(lines[i] as string);
      if (!open) continue;
      const start = i;
      const body: string[] = [];
      while (++i < lines.length && !(lines[i] as string).startsWith('```'))
        body.push(lines[i] as string);
      out.push({
        file,
        line: start + 1,
        lang: open[1] ?? '',
        code: body.join('\n'),
        before: lines.slice(Math.max(0, start - 3), start).join('\n'),
      });
    }
  }
  return out;
}
