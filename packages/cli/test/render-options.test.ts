import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runCli } from '../src/index.js';
import { runGraylane } from './helpers.js';
import { NGINX, startNginx, stopAllNginx } from './nginx-harness.js';

/**
 * What `render` must never emit, whatever the config and options (second-wave review): one
 * upstream per version (no shared name), map keys that are never nginx's own words, a header
 * comment that stays one line, the marker header in `Vary`, addresses that are addresses, and
 * `--at` read as the same instant in every time zone.
 */
const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const RULES = join(EXAMPLES, 'rules.json');
const RAMP = join(EXAMPLES, 'ramp-schedule.json');
const dir = mkdtempSync(join(tmpdir(), 'graylane-render-'));
const servers: Server[] = [];
afterAll(async () => {
  stopAllNginx();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    color: false,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function config(versions: string[], def = versions[0] as string): string {
  const path = join(dir, `${versions.join('+')}-${def}.json`);
  writeFileSync(path, JSON.stringify({ versions, default: def, rules: [] }));
  return path;
}

/** `nginx -t` on a snippet inside `http {}`. */
function nginxTest(snippet: string): Promise<string> {
  const d = mkdtempSync(join(dir, 'ngx-'));
  mkdirSync(join(d, 'logs'));
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `${t}_temp_path ${d};`)
    .join(' ');
  writeFileSync(
    join(d, 'nginx.conf'),
    `pid ${d}/nginx.pid; error_log ${d}/logs/error.log; events {} http { access_log off; ${temp}\n${snippet}\n}\n`,
  );
  return new Promise((resolve) =>
    execFile(NGINX as string, ['-t', '-p', d, '-c', join(d, 'nginx.conf')], (_e, so, se) =>
      resolve(so + se),
    ),
  );
}

describe('F5 one upstream per version: names that would collide are refused', () => {
  const COLLIDING: readonly (readonly string[])[] = [
    ['a-b', 'a_b'],
    ['x-y-z', 'x_y-z'],
    ['beta-1', 'beta_1'],
    ['a--b', 'a__b'],
    ['a-_b', 'a_-b'],
    ['stable', 'canary-v2', 'canary_v2'],
    ['q-', 'q_'],
  ];
  const rows = COLLIDING.flatMap((vs) =>
    ['nginx', 'envoy'].map((target) => [vs.join(', '), target, vs] as const),
  );
  it.each(rows)('versions %s, render %s: exit 2, both named', async (_n, target, vs) => {
    const r = await cli('render', target, config([...vs]));
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    const [a, b] = vs.slice(-2) as [string, string];
    expect(r.err).toContain(`${a} and ${b}`);
    expect(r.err).toMatch(/share one upstream\/cluster name/);
  });

  it.each([
    ['a-b', 'ab'],
    ['a-b', 'a-c'],
    ['a_b', 'a_c', 'a'],
  ])('distinct versions %s, %s render distinct upstreams', async (...vs) => {
    const r = await cli('render', 'envoy', config(vs), '--format', 'json');
    expect(r.code).toBe(0);
    const clusters = new Set(
      (
        JSON.parse(r.out) as {
          route_config: { virtual_hosts: { routes: { route: { cluster?: string } }[] }[] };
        }
      ).route_config.virtual_hosts[0]?.routes.map((x) => x.route.cluster),
    );
    expect(clusters.size).toBe(vs.length);
  });
});

describe.skipIf(!NGINX)('F6 versions named like nginx map keywords route to their own lane', () => {
  const KEYWORDS = ['default', 'include', 'hostnames', 'volatile'];
  const rows = KEYWORDS.flatMap((k) => [
    [k, 'not the default', ['stable', k], 'stable'] as const,
    [k, 'the default', [k, 'beta'], k] as const,
  ]);
  it.each(rows)(
    'a version %s (%s): nginx -t passes and X-Gray-Id routes to it',
    async (k, _what, versions, def) => {
      const lanes = new Map<string, number>();
      for (const v of versions) {
        const s = createServer((_q, res) => res.end(v));
        servers.push(s);
        lanes.set(
          v,
          await new Promise<number>((r) =>
            s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)),
          ),
        );
      }
      const args = [
        config([...versions], def),
        ...[...lanes].flatMap(([v, p]) => ['--upstream', `${v}=127.0.0.1:${p}`]),
      ];
      const r = await cli('render', 'nginx', ...args);
      expect(r.code).toBe(0);
      expect(await nginxTest(r.out)).toMatch(/test is successful/);
      const nginx = await startNginx(args);
      for (const v of versions) {
        const res = await fetch(`http://127.0.0.1:${nginx.port}/`, {
          headers: { 'x-gray-id': v },
        });
        expect(await res.text()).toBe(v);
      }
      const none = await fetch(`http://127.0.0.1:${nginx.port}/`);
      expect(await none.text()).toBe(def);
      expect(k).toBeTruthy();
    },
    60_000,
  );
});

describe('F7 the config location stays inside the header comment', () => {
  const NAMES: readonly [string, string][] = [
    ['a line feed', 'rules\nserver { listen 127.0.0.1:1; return 200 injected; } #.json'],
    ['a carriage return', 'rules\rreturn 200 injected;.json'],
    ['CR LF', 'rules\r\nroute_config: {name: evil}\n#.json'],
    ['a vertical tab and a form feed', 'rules\u000b\u000c.json'],
    ['NEL (a YAML 1.1 line break)', 'rules\u0085evil: 1.json'],
    ['LS', 'rules\u2028evil: 1.json'],
    ['PS', 'rules\u2029evil: 1.json'],
    ['ESC', 'rules\u001b[2J.json'],
    ['DEL and C1', 'rules\u007f\u009b.json'],
    ['a tab', 'rules\tx.json'],
  ];
  const rows = NAMES.flatMap(([what, name]) =>
    ['nginx', 'envoy'].map((target) => [what, target, name] as const),
  );
  it.each(rows)('a file name with %s, render %s', async (_what, target, name) => {
    const path = join(dir, name);
    writeFileSync(path, readFileSync(RULES));
    const plain = await cli('render', target, RULES);
    const r = await cli('render', target, path);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^# Generated by `graylane render /);
    expect(lines).toHaveLength(plain.out.split('\n').length);
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    expect(r.out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
    // The name is still shown, escaped, in the comment; never as a line of its own.
    expect(lines.filter((l) => !l.startsWith('#')).join('\n')).not.toContain('injected');
    if (target === 'envoy')
      expect(parseYaml(r.out, { version: '1.1' })).toEqual(
        parseYaml(plain.out, { version: '1.1' }),
      );
    else if (NGINX) expect(await nginxTest(r.out)).toMatch(/test is successful/);
  });
});

describe('F9 --assets: Vary names the marker header in use', () => {
  it.each(['X-Gray-Id', 'X-Lane', 'x-canary', 'Gray-Marker-2'])('--header %s', async (h) => {
    const r = await cli('render', 'nginx', RULES, '--assets', '/srv/web', '--header', h);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`add_header Vary "Cookie, ${h}" always;`);
    expect(r.out.match(/add_header Vary/g)).toHaveLength(1);
  });
});

describe('addresses: --listen and --upstream must be host[:port]', () => {
  const BAD = [
    '[::',
    '-:-',
    ':80',
    'a:',
    'a:0',
    'a:65536',
    'a:123456',
    '[::1',
    '::1]:80',
    'host..x:1',
    '-host:1',
    'host-:1',
    '.host:1',
    '[]:80',
    'a:b:c',
  ];
  const GOOD = ['127.0.0.1:80', '[::1]:8080', 'backend', 'backend.internal:9000', 'a-b.c:1'];
  it.each(BAD.flatMap((a) => [['--listen', a] as const, ['--upstream', a] as const]))(
    'refuses %s %s',
    async (flag, address) => {
      // `--flag=value`: a value starting with '-' is still a value.
      const value = flag === '--upstream' ? `beta=${address}` : address;
      const r = await cli('render', 'nginx', RULES, `${flag}=${value}`);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/is not host:port/);
    },
  );
  it.each(GOOD.flatMap((a) => [['--listen', a] as const, ['--upstream', a] as const]))(
    'accepts %s %s',
    async (flag, address) => {
      const r = await cli(
        'render',
        'nginx',
        RULES,
        '--upstream',
        'stable=127.0.0.1:1',
        flag,
        flag === '--upstream' ? `beta=${address}` : address,
      );
      expect(r.code).toBe(0);
    },
  );
  it.each(['8000', '443'])('--listen %s (a port alone) is accepted', async (port) => {
    const r = await cli('render', 'nginx', RULES, '--upstream', 'stable=x:1', '--listen', port);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`listen ${port};`);
  });

  it.each([
    [[], true],
    [['--upstream', 'beta=127.0.0.1:2'], true],
    [['--upstream', 'stable=127.0.0.1:1'], false],
  ] as const)('render nginx %j: a warning about 127.0.0.1:8080: %s', async (extra, warned) => {
    const r = await cli('render', 'nginx', RULES, ...extra);
    expect(r.code).toBe(0);
    expect(r.err.includes('127.0.0.1:8080')).toBe(warned);
    const e = await cli('render', 'envoy', RULES, ...extra);
    expect(e.err).toBe('');
  });
});

describe('F8 one instant format for every command: a local time is refused', () => {
  const REFUSED = [
    '2026-12-02T05:00:00',
    '2026-12-02T05:00',
    '2026-12-02T05:00:00.000',
    '2026-12-02 05:00:00',
    '2026-12-02 05:00:00Z',
    'Dec 2 2026 05:00',
    'Wed, 02 Dec 2026 05:00:00',
    '2026-12-02T05:00:00+0100',
    '2026-02-30',
    '2026-02-30T00:00:00Z',
    '2026-12-02T24:00:00Z',
    '2026-12-02T05:60:00Z',
    '2026-12-02T05:00:00+25:00',
    '2026-12',
    '2026',
    '1796187600000',
    'soon',
  ];
  const COMMANDS: readonly [string, (at: string) => string[]][] = [
    ['render envoy --at', (at) => ['render', 'envoy', RAMP, '--bucket-header', 'x-b', '--at', at]],
    ['explain --at', (at) => ['explain', RAMP, '--at', at]],
    ['explain --now', (at) => ['explain', RAMP, '--now', at]],
    ['pause --at', (at) => ['pause', RAMP, '--rule', 'ramp', '--at', at]],
    ['diff --at', (at) => ['diff', RAMP, RAMP, '--at', at]],
    ['diff --now', (at) => ['diff', RAMP, RAMP, '--now', at]],
    ['push --now', (at) => ['push', RAMP, join(dir, 'target.json'), '--dry-run', '--now', at]],
  ];
  const rows = COMMANDS.flatMap(([name, args]) => REFUSED.map((at) => [name, at, args] as const));
  it.each(rows)('%s %s: exit 2, nothing printed on stdout', async (_n, at, args) => {
    const r = await cli(...args(at));
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/expects an ISO instant with an offset .*a local time is refused/);
  });

  const ACCEPTED: readonly [string, string][] = [
    ['2026-12-02T09:00:00Z', '2026-12-02T09:00:00.000Z'],
    ['2026-12-02T10:00:00+01:00', '2026-12-02T09:00:00.000Z'],
    ['2026-12-02T04:00:00-05:00', '2026-12-02T09:00:00.000Z'],
    ['2026-12-02T09:00Z', '2026-12-02T09:00:00.000Z'],
    ['2026-12-02t09:00:00z', '2026-12-02T09:00:00.000Z'],
    ['2026-12-02T09:00:00.250Z', '2026-12-02T09:00:00.250Z'],
    ['2026-12-02', '2026-12-02T00:00:00.000Z'],
    ['2028-02-29T09:00:00Z', '2028-02-29T09:00:00.000Z'],
  ];
  it.each(ACCEPTED)('--at %s is %s in render, explain and pause', async (at, iso) => {
    const render = await cli('render', 'envoy', RAMP, '--bucket-header', 'x-b', '--at', at);
    expect(render.code, render.err).toBe(0);
    expect(render.out).toContain(`split at ${iso}`);
    const explain = await cli('explain', RAMP, '--at', at, '--json');
    expect(JSON.parse(explain.out).at).toBe(iso);
    const pause = await cli('pause', RAMP, '--rule', 'ramp', '--at', at);
    const doc = JSON.parse(pause.out) as { rules: { id: string; pausedAt?: string }[] };
    expect(doc.rules.find((x) => x.id === 'ramp')?.pausedAt).toBe(iso);
  });

  it.each([
    ['2026-12-02T10:00:00+01:00', 'Asia/Tokyo'],
    ['2026-12-02T10:00:00+01:00', 'America/Los_Angeles'],
    ['2026-12-02T05:00:00', 'Asia/Tokyo'],
    ['2026-12-02T05:00:00', 'America/Los_Angeles'],
  ])('render envoy --at %s under TZ=%s: the same answer as under UTC', async (at, tz) => {
    const args = ['render', 'envoy', RAMP, '--bucket-header', 'x-b', '--at', at];
    const [utc, there] = await Promise.all([
      runGraylane(args, { env: { TZ: 'UTC' } }),
      runGraylane(args, { env: { TZ: tz } }),
    ]);
    expect(there).toEqual(utc);
  });
});
