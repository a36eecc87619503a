import { execFileSync } from 'node:child_process';
import { createServer, maxHeaderSize, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { RE2JS } from 're2js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion, signMarker } from '@graylane/node';
import { runCli } from '../src/index.js';
import { BIN, runGraylane } from './helpers.js';
import { NGINX, startNginx, stopAllNginx, type Nginx } from './nginx-harness.js';

/**
 * GW / CK-02 / CK-04 / issue 15: the rendered gateways read the marker cookies exactly as
 * graylane's engine does (`graylane explain`), shape by shape — `__Host-gray` present (even
 * invalid, empty or ambiguous) hides `gray`; identical duplicates are one value, differing ones
 * are ambiguous; one pair of quotes, balanced, is stripped; names and values are trimmed of
 * spaces and tabs. Every row is a Cookie header; nginx runs for real, Envoy's route table is
 * evaluated with Envoy's semantics (RE2, whole value, routes in order). The one documented
 * difference — gateways do not percent-decode — is kept out of the generated rows and pinned
 * on its own (docs/cli.md).
 */
const CONFIG = fileURLToPath(new URL('../examples/rules.json', import.meta.url));

/** Pairs that matter: each marker name with valid, invalid, quoted, spaced and empty values. */
const PAIRS: readonly string[] = [
  'gray=beta',
  'gray=stable',
  'gray="beta"',
  'gray=" beta "',
  'gray= beta ',
  'gray =beta',
  'gray=be ta',
  'gray=x"y',
  'gray="beta',
  'gray=beta"',
  'gray=',
  'gray=gamma',
  'gray',
  '__Host-gray=beta',
  '__Host-gray=stable',
  '__Host-gray="stable"',
  '__Host-gray=gamma',
  '__Host-gray=',
  '__Host-gray =beta',
  'xgray=beta',
  'gray_uid=stable',
  'a=1',
];

/** Every single pair, and every ordered pair of two, joined the ways browsers and proxies do. */
const HEADERS: readonly string[] = [
  ...PAIRS,
  ...PAIRS.flatMap((a, i) => PAIRS.map((b, j) => `${a}${['; ', ';', ' ; '][(i + j) % 3]}${b}`)),
  // Three pairs: the third decides (or breaks) an otherwise clear read.
  'gray=beta; a=1; gray=beta',
  'gray=beta; a=1; gray=stable',
  'gray=beta; gray="beta"; gray= beta',
  'gray=" beta"; gray=beta',
  'gray=" beta"; gray=" beta"',
  'gray="beta "; gray=beta ',
  'gray=beta; gray=beta; __Host-gray=stable',
  '__Host-gray=beta; gray=stable; __Host-gray="beta"',
  '\tgray=beta',
  'gray=\tbeta\t',
  // The caps: past 180 pairs a pair is not seen; past 16 KiB nothing is.
  `${Array.from({ length: 179 }, (_v, i) => `c${i}=1`).join('; ')}; gray=beta`,
  `${Array.from({ length: 180 }, (_v, i) => `c${i}=1`).join('; ')}; gray=beta`,
  `${Array.from({ length: 200 }, (_v, i) => `c${i}=1`).join('; ')}; __Host-gray=gamma; gray=beta`,
  `gray=beta; ${Array.from({ length: 200 }, (_v, i) => `c${i}=1`).join('; ')}; __Host-gray=gamma`,
  `a=${'x'.repeat(16_390)}; gray=beta`,
  `a=${'x'.repeat(16_360)}; gray=beta`,
];

/**
 * What the Envoy table models: RE2 has no counting over 16 KiB or 180 pairs, and cannot compare
 * a quoted value with spaces inside the quotes to its duplicates (docs/cli.md).
 */
function envoyModels(cookie: string): boolean {
  const withinCaps = cookie.length <= 16_384 && cookie.split(';').length <= 180;
  return withinCaps && !/"[ \t]|[ \t]"/.test(cookie);
}

/**
 * The engine's answer: `graylane explain` (the open-trust inbound engine), version only. A
 * request head at Node's header limit or over (`http.maxHeaderSize`; explain refuses it, as a
 * server answers 431) is asked of a CLI run with the limit raised, as a server started with
 * `--max-http-header-size` would decide it.
 */
async function engine(cookie: string): Promise<string> {
  if (6 + cookie.length + 1 >= maxHeaderSize) {
    const res = await runGraylane(['explain', CONFIG, '--json', '--header', `Cookie: ${cookie}`], {
      nodeArgs: [`--max-http-header-size=${4 * maxHeaderSize}`],
    });
    expect(res.code, res.stderr + res.stdout).toBe(0);
    return (JSON.parse(res.stdout) as { decision: { version: string } }).decision.version;
  }
  const out: string[] = [];
  const code = await runCli(['explain', CONFIG, '--json', '--header', `Cookie: ${cookie}`], {
    out: (l) => out.push(l),
    err: (l) => out.push(l),
    color: false,
  });
  expect(code, out.join('\n')).toBe(0);
  return (JSON.parse(out.join('\n')) as { decision: { version: string } }).decision.version;
}

interface Matcher {
  name: string;
  string_match: { exact?: string; safe_regex?: { regex: string } };
  invert_match?: boolean;
}
interface Route {
  match: { headers?: Matcher[] };
  route: { cluster: string };
  request_headers_to_add?: { header: { key: string; value: string } }[];
  request_headers_to_remove?: string[];
}
type RouteTable = { route_config: { virtual_hosts: { routes: Route[] }[] } };

const compiled = new Map<string, RE2JS>();
/** Envoy's pick: first route whose every matcher holds; then its header edits. */
function envoy(table: RouteTable, headers: Record<string, string>) {
  const routes = table.route_config.virtual_hosts[0]?.routes ?? [];
  const chosen = routes.find((r) =>
    (r.match.headers ?? []).every((m) => {
      const v = headers[m.name];
      let hit = false;
      if (v !== undefined && m.string_match.exact !== undefined) hit = v === m.string_match.exact;
      else if (v !== undefined) {
        const re = m.string_match.safe_regex?.regex as string;
        if (!compiled.has(re)) compiled.set(re, RE2JS.compile(re));
        hit = (compiled.get(re) as RE2JS).matches(v);
      }
      return m.invert_match ? !hit : hit;
    }),
  );
  if (!chosen) throw new Error('no route');
  const out = { ...headers };
  for (const name of chosen.request_headers_to_remove ?? []) delete out[name];
  for (const add of chosen.request_headers_to_add ?? []) out[add.header.key] = add.header.value;
  return { lane: chosen.route.cluster.replace('graylane_', ''), headers: out };
}

function renderEnvoy(...extra: string[]): RouteTable {
  return JSON.parse(
    execFileSync(process.execPath, [BIN, 'render', 'envoy', CONFIG, '--format', 'json', ...extra], {
      encoding: 'utf8',
    }),
  ) as RouteTable;
}

const servers: Server[] = [];
function listen(server: Server): Promise<number> {
  servers.push(server);
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)),
  );
}

describe('GW the rendered gateways read cookies as the engine does (open trust)', () => {
  let nginx: Nginx | undefined;
  const open = renderEnvoy();
  beforeAll(async () => {
    if (!NGINX) return;
    const echo = (lane: string) =>
      // Node's 16 KiB header default would refuse the rows at the cookie cap.
      createServer({ maxHeaderSize: 65_536 }, (req, res) =>
        res.end(JSON.stringify({ lane, marker: req.headers['x-gray-id'] })),
      );
    const stable = await listen(echo('stable'));
    const beta = await listen(echo('beta'));
    nginx = await startNginx([
      CONFIG,
      '--upstream',
      `stable=127.0.0.1:${stable}`,
      '--upstream',
      `beta=127.0.0.1:${beta}`,
    ]);
  }, 60_000);
  afterAll(async () => {
    stopAllNginx();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it.each(HEADERS.map((h) => [h.length > 60 ? `${h.slice(0, 40)}…(${h.length})` : h, h]))(
    'CK-02 Cookie: %s',
    async (_name, cookie) => {
      const want = await engine(cookie);
      const got: Record<string, string | undefined> = {};
      const expected: Record<string, string> = {};
      if (envoyModels(cookie)) {
        const e = envoy(open, { cookie });
        Object.assign(got, { envoy: e.lane, envoyTold: e.headers['x-gray-id'] });
        Object.assign(expected, { envoy: want, envoyTold: want });
      }
      if (nginx) {
        const res = await fetch(`http://127.0.0.1:${nginx.port}/`, { headers: { cookie } });
        const body = (await res.json()) as { lane: string; marker: string };
        Object.assign(got, { nginx: body.lane, nginxTold: body.marker });
        Object.assign(expected, { nginx: want, nginxTold: want });
      }
      expect(got).toEqual(expected);
    },
  );

  it.each(['gray=%62eta', 'gray=be%74a', 'gray=beta; gray=%62eta'])(
    'documented difference: %s is percent-decoded by the engine only (gateways: default)',
    async (cookie) => {
      expect(await engine(cookie)).toBe('beta');
      expect(envoy(open, { cookie }).lane).toBe('stable');
      if (!nginx) return;
      const res = await fetch(`http://127.0.0.1:${nginx.port}/`, { headers: { cookie } });
      expect(res.headers.get('x-gray-route')).toBe('stable');
    },
  );

  it.each(HEADERS.filter((h) => /"[ \t]|[ \t]"/.test(h)))(
    'documented difference (Envoy): %s — spaces inside quotes: Envoy agrees or routes to the default',
    async (cookie) => {
      const want = await engine(cookie);
      const lane = envoy(open, { cookie }).lane;
      // Envoy never picks a lane the engine would not: it agrees, or falls back to the default.
      expect([want, 'stable']).toContain(lane);
    },
  );
});

describe('GW signed trust: the Envoy route and a signed upstream never disagree (issue 15)', () => {
  const key = 'k'.repeat(32);
  const token = (v: string) => signMarker(v, { key, kid: 'k1', ttlSeconds: 3600 });
  const signed = renderEnvoy('--trust', 'signed');
  let upstream = '';
  beforeAll(async () => {
    const gray = createGraylane({
      config: { versions: ['stable', 'beta'], default: 'stable', rules: [] },
      trust: 'signed',
      keys: { k1: key },
    });
    const port = await listen(
      createServer((req, res) => gray.handle(req, res, () => res.end(getGrayVersion()))),
    );
    upstream = `http://127.0.0.1:${port}/`;
  });
  afterAll(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  const t = { beta: token('beta'), stable: token('stable') };
  const ROWS: readonly string[] = [
    `gray=${t.beta}`,
    `__Host-gray=${t.beta}`,
    `__Host-gray=junk; gray=${t.beta}`,
    `__Host-gray=; gray=${t.beta}`,
    `__Host-gray=gamma; gray=${t.beta}`,
    `gray=${t.beta}; __Host-gray=stable`,
    `__Host-gray=${t.beta}; __Host-gray=${t.stable}; gray=${t.beta}`,
    `__Host-gray=${t.stable}; gray=${t.beta}`,
    `__Host-gray =x; gray=${t.beta}`,
    `gray=${t.beta}; gray=${t.stable}`,
    `gray="${t.beta}"`,
    `gray="${t.beta}`,
    `a=1; gray=${t.beta}; b=2`,
  ];
  it.each(ROWS)('Cookie: %s', async (cookie) => {
    const e = envoy(signed, { cookie });
    const res = await fetch(upstream, { headers: e.headers });
    expect(await res.text()).toBe(e.lane);
  });
});
