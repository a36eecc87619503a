/**
 * Renders the tour as a per-hop table: for every hop, the version it saw and the instance that
 * served it; `*` marks lane fallback (no instance of that version, default code served, marker
 * carried on unchanged).
 */
import type { HopRecord } from './hop.js';
import { SERVICE_HOPS } from './check.js';
import { shareInBounds, type TourReport, type TourRow, type WeightedSummary } from './tour.js';

const HEADERS = [
  'case',
  'request',
  'expect',
  'gateway',
  'orders',
  'inventory',
  'pricing',
  'queue→worker',
  'worker→pricing',
  'check',
] as const;

/** The table, the weighted summary and the one-line verdict, ready to print. */
export function formatReport(report: TourReport): string {
  const rows = report.rows.map(cells);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [line(HEADERS), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  for (const r of report.rows) for (const p of r.problems) out.push(`  ✗ ${r.name}: ${p}`);
  out.push(
    '',
    '  gateway = version/reason[:rule] it decided; hop = version seen @ instance that served;',
    '  * = lane fallback: inventory has no beta instance, so stable code served and the beta marker travelled on.',
    '  queue→worker = the fulfilment worker that took "order placed" from the queue, in the lane the message carried;',
    '  worker→pricing = the HTTP call that worker made, carrying the same lane.',
    '',
    formatWeighted(report.weighted),
    '',
    verdict(report),
  );
  return out.join('\n');
}

function cells(row: TourRow): string[] {
  const gw = row.result.gateway;
  const gateway = gw
    ? `${gw.saw ?? '-'}/${gw.reason ?? '-'}${gw.rule ? `:${gw.rule}` : ''}${gw.rejected ? ` (ignored ${gw.rejected})` : ''}`
    : row.result.error !== undefined
      ? 'error'
      : '-';
  const hops = SERVICE_HOPS.map((name, i) => hopCell(row.result.services[i], name));
  const queue = [hopCell(row.result.queue[0], 'worker'), hopCell(row.result.queue[1], 'pricing')];
  return [
    row.name,
    row.request,
    row.expected.version,
    gateway,
    ...hops,
    ...queue,
    row.problems.length === 0 ? 'ok' : 'MISMATCH',
  ];
}

function hopCell(hop: HopRecord | undefined, name: string): string {
  if (!hop || hop.hop !== name) return '-';
  return `${hop.saw ?? '(none)'}@${hop.instance}${hop.served !== hop.saw ? '*' : ''}`;
}

function formatWeighted(w: WeightedSummary): string {
  const pct = ((100 * w.beta) / Math.max(1, w.visitors)).toFixed(1);
  return [
    `weighted: ${w.visitors} new visitors → ${w.beta} beta (${pct}%; rule five-percent, accepted ${w.bounds[0]}–${w.bounds[1]}%), ` +
      `${w.visitors - w.beta} stable`,
    `          second visit with the cookies they got: ${w.sticky}/${w.visitors} same version ` +
      `(${w.byCookie} via the sticky gray cookie)`,
    `          every decision matched the rules; ${w.chained} second visits (all beta + ${w.chained - w.beta} stable) ` +
      `hop-checked through every hop: ${w.mismatches} mismatches`,
    ...w.problems.map((p) => `  ✗ ${p}`),
  ].join('\n');
}

/** The one-line verdict. */
export function verdict(report: TourReport): string {
  const bad = report.rows.filter((r) => r.problems.length > 0).length;
  const w = report.weighted;
  if (report.ok) {
    return (
      `verdict: PASS — ${report.rows.length} cases and ${w.visitors} weighted visitors: ` +
      `every hop saw the version decided at the edge.`
    );
  }
  const why = [
    bad > 0 ? `${bad} case(s) with hop mismatches` : '',
    w.mismatches > 0 ? `${w.mismatches} weighted visitor(s) mismatched` : '',
    w.sticky !== w.visitors ? `${w.visitors - w.sticky} visitor(s) not sticky` : '',
    shareInBounds(w) ? '' : `beta share outside ${w.bounds[0]}–${w.bounds[1]}%`,
  ].filter(Boolean);
  return `verdict: FAIL — ${why.join(', ')}.`;
}
