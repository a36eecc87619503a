import { escapeHtml } from './escape.js';
import {
  card,
  definitions,
  formatShare,
  formatTime,
  idList,
  table,
  type Cell,
} from './html-parts.js';
import { paletteColor } from './palette.js';
import type { ReloadEntry, StatusReport } from './types.js';

/** The config in force. */
export function configCard(report: StatusReport): string {
  const c = report.config;
  return card(
    'config',
    'Config',
    definitions([
      ['hash', c.hash],
      ['store version', c.version],
      ['source', c.source],
      ['updated', formatTime(c.updatedAt)],
      ['versions', c.versions.join(', ')],
      ['default', c.default],
      ['rules', c.rules],
    ]),
  );
}

/** The live chart (drawn by the page script) and the cumulative share by version. */
export function trafficCard(report: StatusReport): string {
  const t = report.traffic;
  const chart =
    `<svg id="gl-chart" viewBox="0 0 650 175" role="img" aria-label="Traffic share by version per poll interval">` +
    `<g transform="translate(44,8)">${axes()}<g id="gl-bars" data-samples="0"></g></g></svg>` +
    `<ul id="gl-legend" class="legend">${legend(report)}</ul>` +
    `<p id="gl-poll" class="muted" data-state="waiting">waiting for the first poll…</p>`;
  const byVersion = table(
    'Decisions by version (since start)',
    ['version', 'decisions', 'share'],
    t.byVersion.map((r) => [r.version, r.count, formatShare(r.share)]),
    'no decisions yet',
  );
  const byReason = table(
    'Decisions by reason',
    ['reason', 'decisions'],
    t.byReason.map((r) => [r.reason, r.count]),
    'no decisions yet',
  );
  return card('traffic', `Traffic · ${t.total} decisions`, chart + byVersion + byReason, true);
}

/** Grid lines at 0, 50 and 100 % and the axis captions, in the 600 × 150 plot area. */
function axes(): string {
  const lines = [0, 75, 150]
    .map(
      (y, i) =>
        `<line class="grid" x1="0" x2="600" y1="${y}" y2="${y}"></line>` +
        `<text class="axis" x="-6" y="${y + 4}" text-anchor="end">${100 - i * 50}%</text>`,
    )
    .join('');
  return `${lines}<text class="axis" x="600" y="165" text-anchor="end">share per poll · newest right</text>`;
}

function legend(report: StatusReport): string {
  return report.traffic.byVersion
    .map(
      (r, i) =>
        `<li data-version="${escapeHtml(r.version)}"><svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">` +
        `<rect width="12" height="12" rx="2" fill="${paletteColor(i)}"></rect></svg>` +
        `<span>${escapeHtml(r.version)} ${escapeHtml(formatShare(r.share))} · ${r.count} total</span></li>`,
    )
    .join('');
}

/** Rule sources and their staleness. */
export function sourcesCard(report: StatusReport): string {
  const s = report.sources;
  if (s === null) return card('sources', 'Sources', '<p class="muted">no sources handle given</p>');
  const rows: Cell[][] = s.items.map((i) => [
    i.name,
    { text: i.fatal ? `${i.state} (fatal)` : i.state, cls: `state ${i.state}` },
    formatTime(i.lastSuccess),
    i.stalenessSeconds === null ? 'never succeeded' : `${i.stalenessSeconds} s`,
    i.lastError ?? '—',
  ]);
  return card(
    'sources',
    'Sources',
    `<p>overall: <span class="state ${escapeHtml(s.state)}">${escapeHtml(s.state)}</span></p>` +
      table(
        'Rule sources',
        ['name', 'state', 'last success', 'staleness', 'last error'],
        rows,
        'no sources',
      ),
    true,
  );
}

/** Lane fallbacks, invalid markers and outbound results. */
export function lanesCard(report: StatusReport): string {
  const fallbacks = table(
    'Lane fallbacks',
    ['wanted', 'served', 'count'],
    report.fallbacks.map((r) => [r.wanted, r.served, r.count]),
    'no fallbacks',
  );
  const invalid = table(
    'Invalid markers',
    ['carrier', 'reason', 'count'],
    report.invalidMarkers.map((r) => [r.source, r.reason, r.count]),
    'no invalid markers',
  );
  const outbound =
    report.outbound === null
      ? ''
      : table(
          'Outbound injection',
          ['result', 'count'],
          report.outbound.map((r) => [r.result, r.count]),
          'no outbound calls',
        );
  return card('lanes', 'Lanes and markers', fallbacks + invalid + outbound);
}

/** Propagation coverage per destination, when reported. */
export function propagationCard(report: StatusReport): string {
  const rows = report.propagation;
  if (rows === null) {
    return card(
      'propagation',
      'Propagation coverage',
      '<p class="muted">not reported by this service</p>',
    );
  }
  return card(
    'propagation',
    'Propagation coverage',
    table(
      'Outbound calls made inside a lane, by destination',
      ['destination', 'carried', 'missing', 'withheld', 'last missing call site'],
      rows.map((r) => [
        r.destination,
        r.carried,
        r.missing > 0 ? { text: r.missing, cls: 'num bad' } : r.missing,
        r.withheld,
        r.lastMissingSite ?? '—',
      ]),
      'no outbound calls inside a lane yet',
    ),
    true,
  );
}

/** Recent reloads with their rule-level diff, newest first. */
export function reloadsCard(report: StatusReport): string {
  const rows = report.reloads.map(reloadRow);
  return card(
    'reloads',
    'Recent reloads',
    table('Newest first', ['time', 'source', 'result', 'details'], rows, 'no reloads since start'),
    true,
  );
}

function reloadRow(e: ReloadEntry): Cell[] {
  if (e.type === 'rejected') {
    const times = e.count > 1 ? ` ×${e.count}, last ${formatTime(e.lastAt)}` : '';
    return [
      formatTime(e.at),
      e.source,
      { text: `rejected${times}`, cls: 'state error' },
      `${e.code}: ${e.message}`,
    ];
  }
  const diff = [
    `v${e.fromVersion} → v${e.toVersion} (${e.previousHash} → ${e.hash})`,
    `added: ${idList(e.added)}`,
    `removed: ${idList(e.removed)}`,
    `modified: ${idList(e.modified)}`,
    e.settingsChanged ? 'settings changed' : '',
    e.omittedRuleIds > 0 ? `+${e.omittedRuleIds} more rule ids` : '',
  ].filter((s) => s !== '');
  return [formatTime(e.at), e.source, { text: 'changed', cls: 'state ready' }, diff.join(' · ')];
}

/** Problems while building the report, and rows cut by the caps. */
export function problemsCard(report: StatusReport): string {
  if (report.problems.length === 0 && report.omittedRows === 0) return '';
  const items = report.problems.map((p) => `<li>${escapeHtml(p)}</li>`);
  if (report.omittedRows > 0) items.push(`<li>${report.omittedRows} rows left out (row cap)</li>`);
  return card('problems', 'Problems', `<ul>${items.join('')}</ul>`, true);
}
