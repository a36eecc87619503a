import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bucket, bucketHeaderValue, decide, parseConfig } from '@graylane/core';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runCli } from '../dist/index.js';

/** Scheduled ramps, bucketBy chains and the bucket header through the real CLI (issue 19). */
const RAMP = fileURLToPath(new URL('../examples/ramp-schedule.json', import.meta.url));
const doc = JSON.parse(readFileSync(RAMP, 'utf8')) as Record<string, unknown>;
const dir = mkdtempSync(join(tmpdir(), 'graylane-ramps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
function write(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

describe('graylane explain --at (issue 19)', () => {
  it.each([
    // [instant, the marked step line, share in force]
    ['2026-12-01T08:59:59.999Z', '▶ before the first step: beta 0%, stable 100%', 'beta 0%'],
    ['2026-12-01T09:00:00Z', '▶ from 2026-12-01T09:00:00.000Z: beta 1%, stable 99%', 'beta 1%'],
    ['2026-12-01T10:00:00+01:00', '▶ from 2026-12-01T09:00:00.000Z: beta 1%', 'beta 1%'],
    ['2026-12-02T14:29:59.999+05:30', '▶ from 2026-12-01T09:00:00.000Z: beta 1%', 'beta 1%'],
    ['2026-12-02T14:30:00+05:30', '▶ from 2026-12-02T09:00:00.000Z: beta 5%', 'beta 5%'],
    ['2026-12-03T03:59:59.999-05:00', '▶ from 2026-12-02T09:00:00.000Z: beta 5%', 'beta 5%'],
    ['2026-12-03T04:00:00-05:00', '▶ from 2026-12-03T09:00:00.000Z: beta 25%', 'beta 25%'],
  ])('WT-06 WT-07 at %s the schedule marks the step in force', async (at, marked, share) => {
    const r = await cli('explain', RAMP, '--cookie', 'gray_uid=u-1', '--at', at);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(marked);
    expect(r.out).toMatch(new RegExp(`schedule ramp at \\S+: ${share}`));
    expect(r.out.split('\n').filter((l) => l.includes('▶'))).toHaveLength(1);
  });

  it('the decision at an instant is the library’s decision then; --json carries the schedule', async () => {
    const config = parseConfig(doc);
    for (const at of ['2026-12-01T12:00:00Z', '2026-12-02T12:00:00Z', '2026-12-03T12:00:00Z'])
      for (let i = 0; i < 40; i++) {
        const r = await cli('explain', RAMP, '--cookie', `gray_uid=s-${i}`, '--at', at, '--json');
        const j = JSON.parse(r.out) as {
          decision: { version: string; bucket: number };
          schedules: { ruleId: string; step: number; inForce: string }[];
        };
        const lib = decide(config, { cookies: { gray_uid: `s-${i}` }, now: Date.parse(at) });
        expect(j.decision).toMatchObject({ version: lib.version, bucket: lib.bucket });
        expect(j.schedules[0]?.ruleId).toBe('ramp');
      }
  });

  it('bucketBy chain: --attr userId wins over the cookie; explain says which subject was hashed', async () => {
    const r = await cli(
      'explain',
      RAMP,
      '--attr',
      'userId=u-77',
      '--cookie',
      'gray_uid=anon',
      '--at',
      '2026-12-03T12:00:00Z',
    );
    expect(r.out).toContain(`bucket("ramp", attr:userId) = ${bucket('ramp', 'u-77')}`);
    const anon = await cli(
      'explain',
      RAMP,
      '--cookie',
      'gray_uid=anon',
      '--at',
      '2026-12-03T12:00:00Z',
    );
    expect(anon.out).toContain('no usable subject in attr:userId; trying the next');
    expect(anon.out).toContain(`bucket("ramp", cookie:gray_uid) = ${bucket('ramp', 'anon')}`);
  });

  it.each(['yesterday', '2026-12-01T09:00:00', '2026-13-01T00:00:00Z'])(
    'rejects --at %s with exit 2 and a clear message',
    async (at) => {
      const r = await cli('explain', RAMP, '--at', at);
      expect(r.code).toBe(2);
      expect(r.err).toContain('--at expects an ISO instant');
    },
  );

  it('pausedAt: explain shows the freeze', async () => {
    const paused = write('paused.json', {
      ...doc,
      rules: [
        (doc['rules'] as unknown[])[0],
        { ...(doc['rules'] as object[])[1], pausedAt: '2026-12-02T12:00:00Z' },
      ],
    });
    const r = await cli(
      'explain',
      paused,
      '--cookie',
      'gray_uid=u',
      '--at',
      '2026-12-20T00:00:00Z',
    );
    expect(r.out).toContain('beta 5%, stable 95% (paused at 2026-12-02T12:00:00.000Z)');
    const early = await cli(
      'explain',
      paused,
      '--cookie',
      'gray_uid=u',
      '--at',
      '2026-12-01T12:00:00Z',
    );
    expect(early.out).toContain('beta 1%, stable 99% (pause set for 2026-12-02T12:00:00.000Z)');
  });
});

describe('graylane diff shows schedules (issue 19)', () => {
  it('a changed schedule: both versions, each with the share in force at --at', async () => {
    const rules = doc['rules'] as Record<string, unknown>[];
    const faster = write('faster.json', {
      ...doc,
      rules: [
        rules[0],
        {
          ...rules[1],
          schedule: [
            {
              at: '2026-12-01T09:00:00Z',
              split: [
                { version: 'beta', weight: 10 },
                { version: 'stable', weight: 90 },
              ],
            },
          ],
        },
      ],
    });
    const r = await cli('diff', RAMP, faster, '--at', '2026-12-02T12:00:00Z');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('changed rules: ramp');
    expect(r.out).toContain('schedule ramp (old) at 2026-12-02T12:00:00.000Z: beta 5%, stable 95%');
    expect(r.out).toContain(
      'schedule ramp (new) at 2026-12-02T12:00:00.000Z: beta 10%, stable 90%',
    );
    const j = JSON.parse(
      (await cli('diff', RAMP, faster, '--at', '2026-12-02T12:00:00Z', '--json')).out,
    ) as {
      schedules: { old: { step: number }[]; new: { step: number; steps: unknown[] }[] };
    };
    expect(j.schedules.old[0]?.step).toBe(1);
    expect(j.schedules.new[0]).toMatchObject({ step: 0, steps: [expect.anything()] });
  });

  it('an unchanged scheduled rule is not listed', async () => {
    const r = await cli('diff', RAMP, RAMP, '--at', '2026-12-02T12:00:00Z');
    expect(r.out).toContain('no change');
    expect(r.out).not.toContain('schedule ramp');
  });
});

interface Cluster {
  name: string;
  weight: number;
  request_headers_to_add?: { header: { key: string; value: string } }[];
}
interface WeightedRoute {
  match: { prefix: string; headers?: unknown[] };
  route: { cluster?: string; weighted_clusters?: { header_name: string; clusters: Cluster[] } };
  request_headers_to_remove?: string[];
}
function lastRoute(text: string, format: 'yaml' | 'json'): WeightedRoute {
  const parsed = (format === 'yaml' ? parseYaml(text) : JSON.parse(text)) as {
    route_config: { virtual_hosts: { routes: WeightedRoute[] }[] };
  };
  const routes = parsed.route_config.virtual_hosts[0]?.routes ?? [];
  return routes[routes.length - 1] as WeightedRoute;
}
/** Envoy's pick for a header value: `value % total`, clusters walked cumulatively in order. */
function envoyPick(clusters: readonly Cluster[], value: number): string | undefined {
  const total = clusters.reduce((a, c) => a + c.weight, 0);
  const selected = value % total;
  let begin = 0;
  for (const c of clusters) {
    if (selected >= begin && selected < begin + c.weight) return c.name.replace('graylane_', '');
    begin += c.weight;
  }
  return undefined;
}

describe('graylane render envoy --bucket-header (issue 19)', () => {
  it.each([
    [
      'yaml',
      'open',
      '2026-12-02T12:00:00Z',
      [
        ['graylane_beta', 500],
        ['graylane_stable', 9500],
      ],
    ],
    [
      'json',
      'open',
      '2026-12-03T09:00:00Z',
      [
        ['graylane_beta', 2500],
        ['graylane_stable', 7500],
      ],
    ],
    [
      'yaml',
      'signed',
      '2026-12-01T09:00:00Z',
      [
        ['graylane_beta', 100],
        ['graylane_stable', 9900],
      ],
    ],
    // Before the ramp: beta weighs 0 and is left out (it owns no buckets).
    ['yaml', 'open', '2026-11-01T00:00:00Z', [['graylane_stable', 10000]]],
  ] as const)(
    '%s, %s trust, at %s: weighted_clusters in arm order, basis points',
    async (format, trust, at, expected) => {
      const r = await cli(
        'render',
        'envoy',
        RAMP,
        '--bucket-header',
        'X-Gray-Bucket',
        '--at',
        at,
        '--format',
        format,
        '--trust',
        trust,
      );
      expect(r.code, r.err).toBe(0);
      const route = lastRoute(r.out, format);
      expect(route.match).toEqual({ prefix: '/' });
      const wc = route.route.weighted_clusters;
      expect(wc?.header_name).toBe('x-gray-bucket');
      expect(wc?.clusters.map((c) => [c.name, c.weight])).toEqual(expected);
      expect(wc?.clusters.reduce((a, c) => a + c.weight, 0)).toBe(10_000);
      expect(route.route.cluster).toBeUndefined();
      for (const c of wc?.clusters ?? []) {
        // Open trust: each cluster tells its upstream the lane; signed: the header is removed.
        if (trust === 'open')
          expect(c.request_headers_to_add?.[0]?.header).toEqual({
            key: 'x-gray-id',
            value: c.name.replace('graylane_', ''),
          });
        else expect(c.request_headers_to_add).toBeUndefined();
      }
      if (trust === 'signed') expect(route.request_headers_to_remove).toEqual(['x-gray-id']);
    },
  );

  it('Envoy’s pick on the emitted header equals the app’s decision for 3,000 subjects', async () => {
    const at = '2026-12-03T12:00:00Z';
    const r = await cli(
      'render',
      'envoy',
      RAMP,
      '--bucket-header',
      'x-gray-bucket',
      '--at',
      at,
      '--format',
      'json',
    );
    const clusters = lastRoute(r.out, 'json').route.weighted_clusters?.clusters ?? [];
    const config = parseConfig(doc);
    let beta = 0;
    for (let i = 0; i < 3000; i++) {
      const d = decide(config, { cookies: { gray_uid: `p-${i}` }, now: Date.parse(at) });
      expect(envoyPick(clusters, Number(bucketHeaderValue(d)))).toBe(d.version);
      if (d.version === 'beta') beta++;
    }
    expect(beta).toBeGreaterThan(600); // about 25 %: the test would notice an all-stable render
  });

  it('yaml snapshot: header comments name the split, the instant and the steps to re-render at', async () => {
    const r = await cli(
      'render',
      'envoy',
      RAMP,
      '--bucket-header',
      'x-gray-bucket',
      '--at',
      '2026-12-02T12:00:00Z',
    );
    const head = r.out.split('\n').filter((l) => l.startsWith('#') && !l.startsWith('#   '));
    expect(head.slice(4, 9)).toMatchInlineSnapshot(`
      [
        "# Requests without a marker: rule ramp's split at 2026-12-02T12:00:00.000Z (beta 5%, stable 95%),",
        "# picked by the x-gray-bucket header (graylane's bucket, 0-9999) so Envoy and the app agree;",
        "# without the header Envoy draws its own random value. Match conditions, windows and other",
        "# rules are not rendered: only this split.",
        "# Scheduled ramp: re-render at each step (2026-12-01T09:00:00.000Z, 2026-12-02T09:00:00.000Z, 2026-12-03T09:00:00.000Z).",
      ]
    `);
    expect(lastRoute(r.out, 'yaml')).toMatchInlineSnapshot(`
      {
        "match": {
          "prefix": "/",
        },
        "route": {
          "weighted_clusters": {
            "clusters": [
              {
                "name": "graylane_beta",
                "request_headers_to_add": [
                  {
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                    "header": {
                      "key": "x-gray-id",
                      "value": "beta",
                    },
                  },
                ],
                "weight": 500,
              },
              {
                "name": "graylane_stable",
                "request_headers_to_add": [
                  {
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                    "header": {
                      "key": "x-gray-id",
                      "value": "stable",
                    },
                  },
                ],
                "weight": 9500,
              },
            ],
            "header_name": "x-gray-bucket",
          },
        },
      }
    `);
  });

  it.each([
    [
      ['--bucket-header', 'x-gray-bucket', '--rule', 'qa'],
      '--rule qa: not an enabled split rule of this config (split rules: ramp)',
    ],
    [['--bucket-header', 'x b'], '--bucket-header must be a plain header name'],
    [['--rule', 'ramp'], '--rule and --at need --bucket-header'],
    [['--bucket-header', 'x-gray-bucket', '--at', 'soon'], '--at expects an ISO instant'],
  ])('usage errors: %j', async (args, message) => {
    const r = await cli('render', 'envoy', RAMP, ...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });

  it('two split rules need --rule; nginx refuses the envoy-only options', async () => {
    const rules = doc['rules'] as Record<string, unknown>[];
    const two = write('two.json', {
      ...doc,
      rules: [...rules, { ...rules[1], id: 'other', schedule: undefined }],
    });
    const r = await cli('render', 'envoy', two, '--bucket-header', 'x-gray-bucket');
    expect(r.err).toContain(
      '--bucket-header needs --rule ID when the config has not exactly one split rule (split rules: ramp, other)',
    );
    const ok = await cli(
      'render',
      'envoy',
      two,
      '--bucket-header',
      'x-gray-bucket',
      '--rule',
      'other',
      '--format',
      'json',
    );
    expect(
      lastRoute(ok.out, 'json').route.weighted_clusters?.clusters.map((c) => c.weight),
    ).toEqual([10_000]);
    const nginx = await cli('render', 'nginx', RAMP, '--bucket-header', 'x-gray-bucket');
    expect(nginx.err).toContain('are for render envoy');
  });
});

describe('graylane pause (issue 19)', () => {
  it('sets pausedAt on the rule only, keeps the rest of the document, and explain agrees', async () => {
    const r = await cli('pause', RAMP, '--rule', 'ramp', '--at', '2026-12-02T13:00:00+01:00');
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as { rules: Record<string, unknown>[] };
    const rules = doc['rules'] as Record<string, unknown>[];
    expect(out).toEqual({
      ...doc,
      rules: [rules[0], { ...rules[1], pausedAt: '2026-12-02T12:00:00.000Z' }],
    });
    const paused = write('paused-by-cli.json', out);
    const later = await cli(
      'explain',
      paused,
      '--cookie',
      'gray_uid=u',
      '--at',
      '2027-01-01T00:00:00Z',
    );
    expect(later.out).toContain('beta 5%, stable 95% (paused at 2026-12-02T12:00:00.000Z)');
    const resumed = await cli('pause', paused, '--rule', 'ramp', '--resume');
    expect(JSON.parse(resumed.out)).toEqual(doc);
  });

  it('reads the config once, so it works from stdin; an invalid config exits 1', async () => {
    const out: string[] = [];
    const code = await runCli(['pause', '-', '--rule', 'ramp', '--at', '2026-12-02T12:00:00Z'], {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
      color: false,
      stdin: async () => new TextEncoder().encode(JSON.stringify(doc)),
    });
    expect(code, out.join('\n')).toBe(0);
    expect(JSON.parse(out.join('\n')).rules[1].pausedAt).toBe('2026-12-02T12:00:00.000Z');
    const broken = fileURLToPath(new URL('../examples/broken.json', import.meta.url));
    const r = await cli('pause', broken, '--rule', 'ramp');
    expect(r.code).toBe(1);
    expect(r.err).toContain('is not a valid config');
  });

  it.each([
    [['--rule', 'qa'], 2, '--rule qa: no rule with a schedule has this id (scheduled rules: ramp)'],
    [['--rule', 'nope'], 2, 'no rule with a schedule has this id'],
    [
      ['--rule', 'ramp', '--at', '2026-12-02T12:00:00'],
      2,
      '--at expects an ISO instant with an offset',
    ],
    [
      ['--rule', 'ramp', '--at', '2026-12-02T12:00:00Z', '--resume'],
      2,
      '--at and --resume exclude each other',
    ],
    [[], 2, 'Usage: graylane pause'],
  ])('refuses %j', async (args, code, message) => {
    const r = await cli('pause', RAMP, ...args);
    expect(r.code).toBe(code);
    expect(r.err).toContain(message);
  });
});
