import { describe, expect, it } from 'vitest';
import {
  createConfigStore,
  createStatusModel,
  renderStatusPage,
  type StatusReport,
} from '../src/index.js';

/** Strings that break out of text, attributes, script or style when not escaped. */
export const HOSTILE: readonly string[] = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'><svg onload=alert(1)>",
  '</script><script>alert(2)</script>',
  '</style><style>body{display:none}</style>',
  '<!--<script>',
  '<iframe srcdoc="<script>alert(3)</script>">',
  '&lt;b&gt;already-escaped&lt;/b&gt;',
  'javascript:alert(4)',
  '\u2028\u2029</title><h1>x',
];

/** A report where every free-form field carries a hostile string. */
export function hostileReport(): StatusReport {
  const store = createConfigStore({
    initial: { versions: ['stable', 'beta'], default: 'stable' },
  });
  const pick = (i: number) => HOSTILE[i % HOSTILE.length] as string;
  const model = createStatusModel({
    store,
    stats: () => ({
      decisions: HOSTILE.map((h, i) => ({
        version: h,
        reason: pick(i + 1),
        source: pick(i + 2),
        count: i + 1,
      })),
      invalidMarkers: HOSTILE.map((h, i) => ({ source: h, reason: pick(i + 3), count: 1 })),
      outbound: Object.fromEntries(HOSTILE.map((h) => [h, 1])),
      fallbacks: HOSTILE.map((h, i) => ({ wanted: h, served: pick(i + 4), count: 1 })),
    }),
    sources: {
      status: () => ({
        state: pick(0),
        sources: HOSTILE.map((h, i) => ({
          name: h,
          status: { state: 'stale', lastSuccess: 0, lastError: pick(i + 5) },
        })),
      }),
    },
    propagation: () =>
      HOSTILE.map((h, i) => ({
        destination: h,
        carried: 1,
        missing: 1,
        withheld: 1,
        lastMissingSite: pick(i + 6),
      })),
  });
  for (const h of HOSTILE) {
    store.update(
      {
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: [{ id: `r${HOSTILE.indexOf(h)}`, version: 'beta' }],
      },
      { source: h },
    );
    store.update('{"versions":', { source: h });
  }
  return model.report();
}

const NONCE = 'bm9uY2Utbm9uY2Utbm9uY2U=';

describe('status page HTML: every string escaped', () => {
  const html = renderStatusPage(hostileReport(), {
    jsonUrl: '/graylane/status/status.json',
    nonce: NONCE,
    title: HOSTILE[1],
  });

  it('no hostile markup survives as markup', () => {
    expect(html).not.toMatch(/<(img|svg onload|iframe|h1>x)/i);
    expect(html).not.toMatch(/<script>alert/i);
    expect(html).not.toContain('</style><style>');
    expect(html.match(/<script\b/gi)).toHaveLength(1);
    expect(html.match(/<\/script/gi)).toHaveLength(1);
    expect(html.match(/<style\b/gi)).toHaveLength(1);
    expect(html.match(/<\/style/gi)).toHaveLength(1);
    expect(html.match(/<title>/g)).toHaveLength(1);
    expect(html).not.toContain('<!--');
  });

  it('hostile strings are shown as text', () => {
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(html).toContain('&amp;lt;b&amp;gt;already-escaped');
    expect(html).toContain('&#39;&gt;&lt;svg onload=alert(1)&gt;');
  });

  it('the script cannot be closed early: no "</" or "<!--", the boot JSON is \\u-escaped', () => {
    const script = /<script nonce="[^"]+">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    expect(script.length).toBeGreaterThan(1000);
    expect(script).not.toMatch(/<\/|<!--|<script/i);
    const json = /\)\((\{[\s\S]*\})\);$/.exec(script)?.[1] ?? 'null';
    expect(json).not.toContain('<');
    expect(json).toContain('\\u003cscript\\u003ealert(1)\\u003c/script\\u003e');
    // The boot JSON parses back to the same versions the report holds.
    const boot = JSON.parse(json);
    expect(boot.report.traffic.byVersion.map((r: { version: string }) => r.version)).toContain(
      HOSTILE[0],
    );
  });

  it('the script uses no sink that parses HTML and no inline handler', () => {
    const script = /<script nonce="[^"]+">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    expect(script).not.toMatch(
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/,
    );
    // Attribute values are escaped (no raw quote inside), so dropping them leaves the attribute names.
    const tags = (html.match(/<[^>]+>/g) ?? []).map((t) => t.replace(/"[^"]*"/g, '""'));
    expect(tags.length).toBeGreaterThan(100);
    expect(tags.filter((t) => /\son[a-z]+=|\sstyle=/i.test(t))).toEqual([]);
  });
});

describe('status page HTML: content', () => {
  const store = createConfigStore({ initial: { versions: ['stable', 'beta'], default: 'stable' } });
  const model = createStatusModel({
    store,
    stats: () => ({
      decisions: [
        { version: 'beta', reason: 'header', source: 'header', count: 25 },
        { version: 'stable', reason: 'default', source: 'default', count: 75 },
      ],
      invalidMarkers: [{ source: 'header', reason: 'too_long', count: 2 }],
      outbound: { injected: 3, skipped_host: 1 },
      fallbacks: [{ wanted: 'beta', served: 'stable', count: 4 }],
    }),
  });
  store.update(
    {
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [{ id: 'qa-team', version: 'beta' }],
    },
    { source: 'file' },
  );

  it('shows the config, traffic, lanes, reloads and says what is not wired', () => {
    const html = renderStatusPage(model.report(), { jsonUrl: '/s.json', nonce: NONCE });
    for (const text of [
      store.get().config.hash,
      'stable 75.0 %',
      'beta 25.0 %',
      'too_long',
      'skipped_host',
      '<td>beta</td><td>stable</td><td class="num">4</td>',
      'added: qa-team',
      'no sources handle given',
      'not reported by this service',
      'id="gl-chart"',
      'id="gl-legend"',
    ]) {
      expect(html).toContain(text);
    }
    expect(html).not.toContain('id="problems"');
  });

  it('the legend colors follow the version order (configured versions first)', () => {
    const html = renderStatusPage(model.report(), { jsonUrl: '/s.json', nonce: NONCE });
    const fills = [...html.matchAll(/<li data-version="([^"]+)">.*?fill="(#[0-9a-f]{6})"/g)].map(
      (m) => [m[1], m[2]],
    );
    expect(fills).toEqual([
      ['stable', '#0072b2'],
      ['beta', '#e69f00'],
    ]);
  });

  it('an impossible time renders as a dash, not a RangeError', () => {
    const report = { ...model.report(), generatedAt: Number.NaN };
    expect(() => renderStatusPage(report, { jsonUrl: '/s.json', nonce: NONCE })).not.toThrow();
  });
});
