/**
 * The status page's script. It runs in the browser, serialized with `Function#toString` into one
 * nonce'd `<script>`: it must not use anything outside its own body, and it builds DOM nodes with
 * `textContent`/`setAttribute` only (no `innerHTML`, no inline handlers, no inline styles), so a
 * strict CSP holds. Core compiles without DOM types, hence the small structural ones below.
 */

interface El {
  setAttribute(name: string, value: string): void;
  appendChild(child: El): El;
  replaceChildren(...children: El[]): void;
  textContent: string | null;
}
interface Doc {
  getElementById(id: string): El | null;
  createElementNS(ns: string, tag: string): El;
  createElement(tag: string): El;
}
interface PageGlobal {
  readonly document: Doc;
  fetch(
    url: string,
    init: object,
  ): Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;
  setTimeout(fn: () => void, ms: number): unknown;
}
interface Counts {
  readonly traffic: { readonly byVersion: readonly { version: string; count: number }[] };
  readonly generatedAt: number;
}

/** What the server hands the script. */
export interface ClientBoot {
  readonly url: string;
  readonly pollMs: number;
  readonly samples: number;
  readonly palette: readonly string[];
  readonly report: Counts;
}

/** @internal The browser side: polls `boot.url`, keeps per-interval shares, draws the chart. */
export function statusPageClient(boot: ClientBoot): void {
  const page = globalThis as unknown as PageGlobal;
  const doc = page.document;
  const SVG = 'http://www.w3.org/2000/svg';
  const W = 600;
  const H = 150;
  const colors = new Map<string, string>();
  const samples: { at: number; deltas: Map<string, number>; total: number }[] = [];
  let last = new Map<string, number>();

  function colorOf(version: string): string {
    let c = colors.get(version);
    if (c === undefined) {
      c = boot.palette[colors.size % boot.palette.length] ?? '#888888';
      colors.set(version, c);
    }
    return c;
  }

  function node(tag: string, attrs: Record<string, string | number>, svg = true): El {
    const el = svg ? doc.createElementNS(SVG, tag) : doc.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    return el;
  }

  function cumulative(report: Counts): Map<string, number> {
    const out = new Map<string, number>();
    for (const row of report.traffic.byVersion) {
      colorOf(row.version);
      out.set(row.version, row.count);
    }
    return out;
  }

  function record(report: Counts): void {
    const now = cumulative(report);
    const deltas = new Map<string, number>();
    let total = 0;
    for (const [version, count] of now) {
      const d = count - (last.get(version) ?? 0);
      if (d < 0) {
        // The counters restarted (a new process): this interval is unknown, start again.
        last = now;
        return;
      }
      deltas.set(version, d);
      total += d;
    }
    last = now;
    samples.push({ at: report.generatedAt, deltas, total });
    if (samples.length > boot.samples) samples.shift();
  }

  function drawBars(): void {
    const group = doc.getElementById('gl-bars');
    if (!group) return;
    const slot = W / boot.samples;
    const offset = boot.samples - samples.length;
    const bars: El[] = [];
    samples.forEach((s, i) => {
      const x = (offset + i) * slot;
      if (s.total === 0) {
        bars.push(node('rect', { x, y: H - 2, width: slot - 1, height: 2, class: 'idle' }));
        return;
      }
      let y = H;
      for (const [version, d] of s.deltas) {
        if (d === 0) continue;
        const share = d / s.total;
        const h = share * H;
        y -= h;
        const rect = node('rect', {
          x,
          y,
          width: slot - 1,
          height: h,
          fill: colorOf(version),
          'data-version': version,
          'data-share': share.toFixed(4),
        });
        const title = node('title', {});
        title.textContent = `${version}: ${Math.round(share * 100)}% (${d} of ${s.total})`;
        rect.appendChild(title);
        bars.push(rect);
      }
    });
    group.replaceChildren(...bars);
    group.setAttribute('data-samples', String(samples.length));
  }

  function drawLegend(): void {
    const list = doc.getElementById('gl-legend');
    if (!list) return;
    const latest = samples[samples.length - 1];
    const items: El[] = [];
    for (const [version, color] of colors) {
      const li = node('li', { 'data-version': version }, false);
      const sw = node('svg', {
        width: 12,
        height: 12,
        viewBox: '0 0 12 12',
        'aria-hidden': 'true',
      });
      sw.appendChild(node('rect', { width: 12, height: 12, rx: 2, fill: color }));
      const d = latest?.deltas.get(version) ?? 0;
      const share = latest && latest.total > 0 ? Math.round((d / latest.total) * 100) : 0;
      const label = node('span', {}, false);
      label.textContent = `${version} ${share}% · ${last.get(version) ?? 0} total`;
      li.appendChild(sw);
      li.appendChild(label);
      items.push(li);
    }
    list.replaceChildren(...items);
  }

  function say(text: string, state: string): void {
    const el = doc.getElementById('gl-poll');
    if (!el) return;
    el.textContent = text;
    el.setAttribute('data-state', state);
  }

  function poll(): void {
    // Starting from a resolved promise turns a synchronous throw (no fetch) into a failed poll.
    Promise.resolve()
      .then(() =>
        page.fetch(boot.url, {
          cache: 'no-store',
          credentials: 'same-origin',
          headers: { accept: 'application/json' },
        }),
      )
      .then((res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return res.json();
      })
      .then((report) => {
        record(report as Counts);
        drawBars();
        drawLegend();
        say(`live · updated ${new Date((report as Counts).generatedAt).toISOString()}`, 'ok');
      })
      .catch((err: unknown) => say(`poll failed: ${String(err)}`, 'error'))
      .finally(() => page.setTimeout(poll, boot.pollMs));
  }

  last = cumulative(boot.report);
  drawLegend();
  page.setTimeout(poll, boot.pollMs);
}
