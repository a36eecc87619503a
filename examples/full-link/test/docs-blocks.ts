/**
 * Reads the fenced blocks of a Markdown page that follow a `<!-- checked: … -->` comment, so the
 * docs quote only what the tests see (issue 7: every code block is tested or checked).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PACKAGE_ROOT } from './helpers.js';

/** The repository root. */
export const REPO_ROOT = resolve(PACKAGE_ROOT, '../..');

/** A checked block: the comment's text and the block's lines. */
export interface CheckedBlock {
  readonly note: string;
  readonly lines: readonly string[];
}

/** Every fenced block directly preceded by a `<!-- checked: … -->` comment. */
export function checkedBlocks(docPath: string): CheckedBlock[] {
  const lines = readFileSync(resolve(REPO_ROOT, docPath), 'utf8').split('\n');
  const blocks: CheckedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const note = /^<!-- checked: (.*) -->$/.exec(lines[i] ?? '')?.[1];
    if (note === undefined) continue;
    let start = i + 1;
    while (start < lines.length && (lines[start] ?? '').trim() === '') start++;
    if (!(lines[start] ?? '').startsWith('```'))
      throw new Error(`${docPath}:${i + 1}: no block after the comment`);
    const end = lines.findIndex((l, j) => j > start && l.startsWith('```'));
    blocks.push({ note, lines: lines.slice(start + 1, end) });
    i = end;
  }
  return blocks;
}

/** The first fenced block after the line that contains `marker` (for unannotated blocks). */
export function blockAfter(docPath: string, marker: string): string[] {
  const lines = readFileSync(resolve(REPO_ROOT, docPath), 'utf8').split('\n');
  const at = lines.findIndex((l) => l.includes(marker));
  const start = lines.findIndex((l, j) => j > at && l.startsWith('```'));
  const end = lines.findIndex((l, j) => j > start && l.startsWith('```'));
  if (at < 0 || start < 0 || end < 0) throw new Error(`${docPath}: no block after "${marker}"`);
  return lines.slice(start + 1, end);
}
