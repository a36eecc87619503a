import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RE2JS } from 're2js';
import { beforeAll, describe, expect, it } from 'vitest';
import { runGraylane } from './helpers.js';

/**
 * `graylane render envoy`, checked without an Envoy binary (none is packaged for Debian): the
 * rendered route table is evaluated with Envoy's route semantics — routes in order, first match
 * wins, every header matcher must hold, `safe_regex` is RE2 matched against the whole value (run
 * here with RE2JS, the same RE2 syntax), a missing header matches nothing — then the request
 * header edits are applied. Each row asserts the routed cluster and what the upstream is told.
 */
const CONFIG = fileURLToPath(new URL('../examples/rules.json', import.meta.url));

interface Matcher {
  name: string;
  string_match: { exact?: string; safe_regex?: { regex: string } };
  invert_match?: boolean;
}
interface Route {
  match: { prefix: string; headers?: Matcher[] };
  route: { cluster: string };
  request_headers_to_add?: { header: { key: string; value: string }; append_action: string }[];
  request_headers_to_remove?: string[];
}
interface RouteConfig {
  route_config: { virtual_hosts: { routes: Route[] }[] };
}

const compiled = new Map<string, RE2JS>();
function holds(m: Matcher, headers: Record<string, string>): boolean {
  const value = headers[m.name.toLowerCase()];
  if (value === undefined) return false;
  let ok: boolean;
  if (m.string_match.exact !== undefined) ok = value === m.string_match.exact;
  else {
    const regex = m.string_match.safe_regex?.regex as string;
    if (!compiled.has(regex)) compiled.set(regex, RE2JS.compile(regex));
    ok = (compiled.get(regex) as RE2JS).matches(value);
  }
  return m.invert_match ? !ok : ok;
}

/** Envoy's choice for one request: the cluster, and the marker header the upstream receives. */
function route(config: RouteConfig, headers: Record<string, string>) {
  const routes = config.route_config.virtual_hosts[0]?.routes ?? [];
  const chosen = routes.find((r) => (r.match.headers ?? []).every((m) => holds(m, headers)));
  if (!chosen) throw new Error('no route');
  let marker: string | undefined = headers['x-gray-id'];
  if (chosen.request_headers_to_remove?.includes('x-gray-id')) marker = undefined;
  for (const add of chosen.request_headers_to_add ?? [])
    if (add.header.key === 'x-gray-id') marker = add.header.value;
  return { cluster: chosen.route.cluster.replace('graylane_', ''), marker };
}

const token = (version: string, sig = 'A'.repeat(43)) => `${version}.1900000000.qa.${sig}`;
type Row = readonly [string, Record<string, string>, 'stable' | 'beta'];

const OPEN: readonly Row[] = [
  ['no marker', {}, 'stable'],
  ['header beta', { 'x-gray-id': 'beta' }, 'beta'],
  ['header stable wins over cookie beta', { 'x-gray-id': 'stable', cookie: 'gray=beta' }, 'stable'],
  ['header beta.x', { 'x-gray-id': 'beta.x' }, 'stable'],
  ['header token in open mode', { 'x-gray-id': token('beta') }, 'stable'],
  ['header BETA', { 'x-gray-id': 'BETA' }, 'stable'],
  ['header betamax', { 'x-gray-id': 'betamax' }, 'stable'],
  ['invalid header, cookie beta', { 'x-gray-id': 'gamma', cookie: 'gray=beta' }, 'beta'],
  ['cookie gray=beta among others', { cookie: 'a=1; gray=beta; b=2' }, 'beta'],
  ['cookie without a space', { cookie: 'a=1;gray=beta' }, 'beta'],
  ['__Host-gray=beta', { cookie: '__Host-gray=beta' }, 'beta'],
  ['__Host-gray wins over gray', { cookie: 'gray=stable; __Host-gray=beta' }, 'beta'],
  // Core's firstCookie (issue 15, CK-02): a present __Host-gray, even invalid, hides gray.
  ['invalid __Host-gray hides gray', { cookie: '__Host-gray=gamma; gray=beta' }, 'stable'],
  ['gray twice, different values', { cookie: 'gray=beta; gray=stable' }, 'stable'],
  ['gray twice, same value', { cookie: 'gray=beta; gray=beta' }, 'beta'],
  [
    '__Host-gray twice (ambiguous) hides gray',
    { cookie: '__Host-gray=beta; __Host-gray=stable; gray=beta' },
    'stable',
  ],
  ['xgray=beta', { cookie: 'xgray=beta' }, 'stable'],
  ['gray_uid=beta', { cookie: 'gray_uid=beta' }, 'stable'],
  ['quoted', { cookie: 'gray="beta"' }, 'beta'],
  ['gray=beta.x', { cookie: 'gray=beta.x' }, 'stable'],
];

const SIGNED: readonly (readonly [...Row, string | undefined])[] = [
  ['no marker', {}, 'stable', undefined],
  ['header token beta', { 'x-gray-id': token('beta') }, 'beta', token('beta')],
  ['plain label (untrusted)', { 'x-gray-id': 'beta' }, 'stable', undefined],
  [
    'token with a short signature',
    { 'x-gray-id': token('beta', 'A'.repeat(42)) },
    'stable',
    undefined,
  ],
  ['token for an unknown version', { 'x-gray-id': token('gamma') }, 'stable', undefined],
  // The upstream reads (and verifies) the cookie itself; a client header that did not route is removed.
  [
    'cookie token, junk header',
    { 'x-gray-id': 'beta', cookie: `__Host-gray=${token('beta')}` },
    'beta',
    undefined,
  ],
  ['cookie token gray', { cookie: `gray=${token('beta')}` }, 'beta', undefined],
];

describe('render envoy: the route table under Envoy semantics', () => {
  let open: RouteConfig;
  let signed: RouteConfig;
  beforeAll(async () => {
    const render = async (...extra: string[]) => {
      const r = await runGraylane(['render', 'envoy', CONFIG, '--format', 'json', ...extra]);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout) as RouteConfig;
    };
    open = await render();
    signed = await render('--trust', 'signed');
  });

  it.each(OPEN)(
    'open: %s → %s, and the upstream is told exactly that lane',
    (_n, headers, lane) => {
      const r = route(open, headers);
      expect(r).toEqual({ cluster: lane, marker: lane });
    },
  );

  it.each(SIGNED)('signed: %s → %s', (_n, headers, lane, marker) => {
    const r = route(signed, headers);
    expect(r.cluster).toBe(lane);
    expect(r.marker).toBe(marker);
  });

  it('every safe_regex is valid RE2', () => {
    for (const config of [open, signed])
      for (const r of config.route_config.virtual_hosts[0]?.routes ?? [])
        for (const m of r.match.headers ?? [])
          if (m.string_match.safe_regex)
            expect(() => RE2JS.compile(m.string_match.safe_regex?.regex as string)).not.toThrow();
  });

  const python = spawnSync('python3', ['-c', 'import yaml'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!python)(
    'the YAML output is the same route table as the JSON output (PyYAML)',
    async () => {
      for (const extra of [[], ['--trust', 'signed']]) {
        const yaml = (await runGraylane(['render', 'envoy', CONFIG, ...extra])).stdout;
        const json = (await runGraylane(['render', 'envoy', CONFIG, '--format', 'json', ...extra]))
          .stdout;
        const parsed = spawnSync(
          'python3',
          ['-c', 'import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin.read())))'],
          { input: yaml, encoding: 'utf8' },
        );
        expect(parsed.status, parsed.stderr).toBe(0);
        expect(JSON.parse(parsed.stdout)).toEqual(JSON.parse(json));
      }
    },
  );
});
