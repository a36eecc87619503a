/**
 * The demo as a newcomer runs it: `node dist/demo.js --once` in a child process, on ports away
 * from the defaults. Exit 0 and a per-hop table in which every hop saw the decided version.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockAfter, checkedBlocks } from './docs-blocks.js';
import { DEMO_JS, ensureBuilt, freePortBase, killGroup, run, type RunResult } from './helpers.js';

/**
 * What may differ between two honest runs: ports, the rules path, the brand-new `unmarked`
 * visitor (5% land on beta), the weighted counts and the elapsed time.
 */
function normalizeTour(lines: readonly string[]): string[] {
  let weighted = false;
  return lines.map((line) => {
    if (line.startsWith('weighted:')) weighted = true;
    if (line === '') weighted = false;
    let out = line
      .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
      .replace(/\(\d+\.\d s\)$/, '(T s)');
    if (out.startsWith('  rules     ')) out = '  rules     PATH';
    if (out.startsWith('unmarked ')) out = 'unmarked ROW';
    return weighted ? out.replace(/\d+(\.\d+)?/g, 'N') : out;
  });
}

const normalizeNumbers = (lines: readonly string[]): string[] =>
  lines.map((l) => l.replace(/\d+/g, 'N'));

const children = new Set<ChildProcess>();
/**
 * A hang guard, not a speed target: the tour takes seconds on an idle 2-core machine and 30–45 s
 * on one with a load average of 15–20 (measured); the child is killed after this.
 */
const TOUR_TIMEOUT_MS = 180_000;
const TOUR_CASES = [
  'unmarked',
  'header',
  'query',
  'cookie-sticky',
  'rule-header',
  'rule-path',
  'window-open',
  'window-closed',
  'invalid-marker',
  'signed-token',
  'signed-plain',
] as const;

/** One real `--once` run (the tour is the expensive part), checked by the table and docs tests. */
let result: RunResult;
let help: RunResult;

beforeAll(async () => {
  ensureBuilt();
  const base = await freePortBase(7);
  [result, help] = await Promise.all([
    run([DEMO_JS, '--once'], { GRAYLANE_PORT_BASE: String(base) }, TOUR_TIMEOUT_MS, children),
    run([DEMO_JS, '--help'], {}, 10_000, children),
  ]);
}, TOUR_TIMEOUT_MS + 10_000);

afterAll(() => {
  for (const c of children) killGroup(c);
});

describe('npm start -- --once', () => {
  it('exits 0 with a PASS verdict and nothing on stderr', () => {
    expect(result.stderr).toBe('');
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/^verdict: PASS — 11 cases and 1000 weighted visitors/m);
    // No wall-clock assertion: this machine's load varies (RELIABILITY: ratios, never absolute
    // times). The child is bounded by TOUR_TIMEOUT_MS below.
  });

  it('prints the page URL and the per-hop table header', () => {
    expect(result.stdout).toMatch(/page {6}http:\/\/127\.0\.0\.1:\d+\//);
    expect(result.stdout).toMatch(/^case +request +expect +gateway +orders +inventory +pricing/m);
  });

  it.each(TOUR_CASES)('row %s: every hop agrees', (name) => {
    const row = result.stdout.split('\n').find((l) => l.startsWith(`${name} `));
    expect(row, `no row for ${name}`).toBeDefined();
    expect(row).toMatch(/ ok$/);
  });

  it('beta rows: orders and pricing run beta, inventory falls back to stable with the beta marker', () => {
    for (const name of [
      'header',
      'query',
      'cookie-sticky',
      'rule-header',
      'rule-path',
      'window-open',
      'signed-token',
    ]) {
      const row = result.stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
      expect(row, name).toContain('beta@orders-beta');
      expect(row, name).toContain('beta@inventory-stable*');
      expect(row, name).toContain('beta@pricing-beta');
    }
  });

  it('decision reasons at the gateway: header, query, cookie, rule, weight, ignored markers', () => {
    const row = (name: string): string =>
      result.stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
    expect(row('header')).toContain('beta/header');
    expect(row('query')).toContain('beta/query');
    expect(row('cookie-sticky')).toContain('beta/cookie');
    expect(row('rule-header')).toContain('beta/rule:qa-team');
    expect(row('rule-path')).toContain('beta/rule:checkout-v2-path');
    expect(row('window-open')).toContain('beta/rule:winter-sale');
    expect(row('signed-token')).toContain('beta/header');
    // An ignored marker falls through to the rules: this returning visitor is in the 95%.
    expect(row('invalid-marker')).toContain('stable/weight:five-percent');
    expect(row('signed-plain')).toContain('stable/weight:five-percent');
    expect(row('window-closed')).toContain('stable/weight:five-percent');
  });

  it('weighted: about 5% of 1000 new visitors get beta, all sticky on the second visit', () => {
    const m = /weighted: 1000 new visitors → (\d+) beta/.exec(result.stdout);
    expect(m).not.toBeNull();
    const beta = Number(m?.[1]);
    expect(beta).toBeGreaterThanOrEqual(20);
    expect(beta).toBeLessThanOrEqual(90);
    expect(result.stdout).toMatch(
      /second visit with the cookies they got: 1000\/1000 same version/,
    );
    expect(result.stdout).toMatch(
      /every decision matched the rules; \d+ second visits .* hop-checked through every hop: 0 mismatches/,
    );
  });
});

describe('docs/getting-started.md shows what the demo prints', () => {
  it('the tour output block', () => {
    const [block] = checkedBlocks('docs/getting-started.md');
    expect(block?.note).toContain('demo.test.ts');
    const printed = result.stdout.trimEnd().split('\n');
    expect(normalizeTour(block?.lines ?? [])).toEqual(normalizeTour(printed));
  });

  it('the usage block', () => {
    expect(blockAfter('docs/getting-started.md', '## Options')).toEqual(
      help.stdout.trimEnd().split('\n'),
    );
  });
});

describe('ports in use', () => {
  let blocker: Server;
  let base: number;

  beforeAll(async () => {
    ensureBuilt();
    base = await freePortBase(7);
    blocker = createServer();
    await new Promise<void>((done) => blocker.listen(base + 3, '127.0.0.1', done));
  });

  afterAll(async () => {
    await new Promise((done) => blocker.close(done));
  });

  it('names the port and how to override it, without a stack trace, and exits 1', async () => {
    const r = await run(
      [DEMO_JS, '--once'],
      { GRAYLANE_PORT_BASE: String(base) },
      15_000,
      children,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`port ${base + 3} (orders-beta) is already in use on 127.0.0.1`);
    expect(r.stderr).toContain('GRAYLANE_PORT_BASE=');
    expect(r.stderr).toContain('GRAYLANE_PORT_ORDERS_BETA=');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    // docs/getting-started.md quotes this message.
    const quoted = blockAfter('docs/getting-started.md', 'If a port is taken');
    expect(normalizeNumbers(r.stderr.trimEnd().split('\n'))).toEqual(normalizeNumbers(quoted));
  });
});
