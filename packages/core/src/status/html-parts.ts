import { escapeHtml } from './escape.js';

/** A table cell: text, or text with a class from a closed set (states). */
export type Cell = string | number | { readonly text: string | number; readonly cls: string };

/** An ISO-8601 UTC instant, or an em dash for a missing or impossible time. */
export function formatTime(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return '—';
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** A share in [0, 1] as a percentage with one decimal. */
export function formatShare(share: number): string {
  return `${(Math.round(share * 1000) / 10).toFixed(1)} %`;
}

function cell(c: Cell, tag: 'td' | 'th'): string {
  if (typeof c === 'object')
    return `<${tag} class="${escapeHtml(c.cls)}">${escapeHtml(c.text)}</${tag}>`;
  const numeric = typeof c === 'number' ? ' class="num"' : '';
  return `<${tag}${numeric}>${escapeHtml(c)}</${tag}>`;
}

/** A table with a caption; `empty` is shown in place of the body when there are no rows. */
export function table(
  caption: string,
  head: readonly string[],
  rows: readonly (readonly Cell[])[],
  empty: string,
): string {
  const body =
    rows.length === 0
      ? `<tr><td colspan="${head.length}" class="empty">${escapeHtml(empty)}</td></tr>`
      : rows.map((r) => `<tr>${r.map((c) => cell(c, 'td')).join('')}</tr>`).join('');
  // A column of numbers gets a right-aligned heading, like its cells.
  const numeric = (i: number) =>
    rows.length > 0 &&
    rows.every(
      (r) =>
        typeof r[i] === 'number' ||
        (typeof r[i] === 'object' && (r[i] as { cls: string }).cls.includes('num')),
    );
  const heads = head.map((h, i) =>
    numeric(i) ? cell({ text: h, cls: 'num' }, 'th') : cell(h, 'th'),
  );
  return (
    `<table><caption>${escapeHtml(caption)}</caption>` +
    `<thead><tr>${heads.join('')}</tr></thead>` +
    `<tbody>${body}</tbody></table>`
  );
}

/** A definition list of label → value pairs. */
export function definitions(pairs: readonly (readonly [string, string | number])[]): string {
  return `<dl>${pairs.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

/** A card section with a heading and an anchor id. */
export function card(id: string, title: string, body: string, wide = false): string {
  return (
    `<section id="${escapeHtml(id)}" class="card${wide ? ' wide' : ''}">` +
    `<h2>${escapeHtml(title)}</h2>${body}</section>`
  );
}

/** A comma-separated list of ids, or an em dash. */
export function idList(ids: readonly string[]): string {
  return ids.length === 0 ? '—' : ids.join(', ');
}
