import { statusPageClient, type ClientBoot } from './client.js';
import { escapeHtml, scriptJson } from './escape.js';
import { formatTime } from './html-parts.js';
import {
  configCard,
  lanesCard,
  problemsCard,
  propagationCard,
  reloadsCard,
  sourcesCard,
  trafficCard,
} from './html-sections.js';
import { STATUS_CHART_SAMPLES, STATUS_POLL_DEFAULT_MS } from './limits.js';
import { STATUS_PALETTE } from './palette.js';
import type { StatusReport } from './types.js';

/** Options of {@link renderStatusPage}. */
export interface RenderStatusOptions {
  /** The URL the page polls for fresh reports (same origin). */
  readonly jsonUrl: string;
  /** The CSP nonce put on the page's one `<style>` and one `<script>`. */
  readonly nonce: string;
  /** Poll interval. Default 2000 ms. */
  readonly pollMs?: number | undefined;
  /** Shown in the title and heading. Default `graylane status`. */
  readonly title?: string | undefined;
}

const CSS = `
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#5b6470;--bg:#f6f7f9;--card:#fff;--line:#d9dde3;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#9aa4af;--bg:#0f1216;--card:#171b21;--line:#2b323b;--ok:#3fb950;--warn:#d29922;--bad:#f85149}}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
header{padding:16px 24px;border-bottom:1px solid var(--line);background:var(--card)}h1{margin:0;font-size:20px}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px;padding:16px 24px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px;min-width:0;overflow-x:auto}.wide{grid-column:1/-1}
h2{margin:0 0 8px;font-size:15px}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}dt{color:var(--muted)}dd{margin:0;font-family:ui-monospace,monospace;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:8px 0}caption{text-align:left;color:var(--muted);padding-bottom:4px}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}th{font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums}.empty,.muted{color:var(--muted)}
.state.ready{color:var(--ok)}.state.stale,.state.degraded,.state.starting{color:var(--warn)}.state.error,.state.unknown,.bad{color:var(--bad);font-weight:600}
#gl-chart{width:100%;max-width:960px;height:auto;display:block}.grid{stroke:var(--line)}.axis{fill:var(--muted);font-size:9px}.idle{fill:var(--line)}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 16px;padding:0;margin:8px 0}.legend li{display:flex;align-items:center;gap:6px}
#gl-poll[data-state=error]{color:var(--bad)}
`;

/**
 * Renders the status page: the report as tables, and a live chart of traffic share by version
 * that the page's script keeps up to date by polling `jsonUrl`. Every string from the report is
 * escaped; the one `<style>` and one `<script>` carry `nonce`, and nothing else is inline, so
 * `default-src 'none'; script-src 'nonce-…'; style-src 'nonce-…'; connect-src 'self'` holds.
 *
 * @example
 * ```ts
 * const html = renderStatusPage(model.report(), { jsonUrl: '/graylane/status/status.json', nonce });
 * ```
 */
export function renderStatusPage(report: StatusReport, options: RenderStatusOptions): string {
  const title = options.title ?? 'graylane status';
  const nonce = escapeHtml(options.nonce);
  const boot: ClientBoot = {
    url: options.jsonUrl,
    pollMs: options.pollMs ?? STATUS_POLL_DEFAULT_MS,
    samples: STATUS_CHART_SAMPLES,
    palette: STATUS_PALETTE,
    report: { generatedAt: report.generatedAt, traffic: { byVersion: report.traffic.byVersion } },
  };
  const cards = [
    trafficCard(report),
    configCard(report),
    lanesCard(report),
    sourcesCard(report),
    propagationCard(report),
    reloadsCard(report),
    problemsCard(report),
  ];
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title>` +
    `<style nonce="${nonce}">${CSS}</style></head><body>` +
    `<header><h1>${escapeHtml(title)}</h1><p class="muted">config ${escapeHtml(report.config.hash)} · ` +
    `generated ${escapeHtml(formatTime(report.generatedAt))} · tables as of page load, chart live</p></header>` +
    `<main>${cards.join('')}</main>` +
    `<script nonce="${nonce}">(${String(statusPageClient)})(${scriptJson(boot)});</script>` +
    `</body></html>`
  );
}
