import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion } from '@graylane/node';
import { runCli } from '../src/index.js';

/**
 * `graylane explain` says it reads markers "as an open-trust server reads them". This holds it to
 * that: every row sends one request to a real `node:http` server running graylane's middleware in
 * `open` trust (the default markers: header, `__Host-gray`, `__Secure-gray` then `gray` cookie, query,
 * baggage) and
 * asks `explain --json` the same question; the version and the reason must be the same. Rows
 * cover each carrier, the browser's `__Host-` cookie, conflicts between carriers, duplicates and
 * invalid values (PREC, CK, BG rows of RELIABILITY §1).
 */
const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const RULES_PATH = join(EXAMPLES, 'rules.json');
const CONFIG = readFileSync(RULES_PATH, 'utf8');
const NOW = '2026-12-24T10:00:00Z';

let server: http.Server;
let base = '';
beforeAll(async () => {
  const gray = createGraylane({
    config: CONFIG,
    trust: 'open',
    sticky: false,
    debugHeader: true,
    now: () => Date.parse(NOW),
  });
  server = http.createServer((req, res) => gray.handle(req, res, () => res.end(getGrayVersion())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

interface Ask {
  readonly headers?: readonly [string, string][];
  readonly cookies?: readonly [string, string][];
  readonly query?: readonly [string, string][];
  readonly path?: string;
}

/** What the server decided: version and reason (from its X-Gray-Decision debug header). */
async function serverSays(ask: Ask): Promise<{ version: string; reason: string }> {
  const url = new URL(ask.path ?? '/', base);
  for (const [k, v] of ask.query ?? []) url.searchParams.append(k, v);
  const headers = new Headers();
  for (const [k, v] of ask.headers ?? []) headers.append(k, v);
  if (ask.cookies?.length)
    headers.append('cookie', ask.cookies.map(([k, v]) => `${k}=${v}`).join('; '));
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  const debug = res.headers.get('x-gray-decision') ?? '';
  return {
    version: /version=([^;]+)/.exec(debug)?.[1] ?? '?',
    reason: /reason=([^;]+)/.exec(debug)?.[1] ?? '?',
  };
}

/** What `explain --json` says for the same request. */
async function explainSays(ask: Ask): Promise<{ version: string; reason: string }> {
  const args = ['explain', RULES_PATH, '--json', '--now', NOW];
  for (const [k, v] of ask.headers ?? []) args.push('--header', `${k}: ${v}`);
  for (const [k, v] of ask.cookies ?? []) args.push('--cookie', `${k}=${v}`);
  for (const [k, v] of ask.query ?? []) args.push('--query', `${k}=${v}`);
  if (ask.path) args.push('--path', ask.path);
  const out: string[] = [];
  const code = await runCli(args, {
    out: (l) => out.push(l),
    err: (l) => out.push(l),
    color: false,
  });
  expect(code, out.join('\n')).toBe(0);
  const { decision } = JSON.parse(out.join('\n')) as {
    decision: { version: string; reason: string };
  };
  return { version: decision.version, reason: decision.reason };
}

const ROWS: readonly [string, Ask][] = [
  ['no marker at all', {}],
  ['X-Gray-Id: beta', { headers: [['X-Gray-Id', 'beta']] }],
  ['X-Gray-Id: BETA (case)', { headers: [['X-Gray-Id', 'BETA']] }],
  ['X-Gray-Id: beta.x (not a label)', { headers: [['X-Gray-Id', 'beta.x']] }],
  ['the browser cookie on https: __Host-gray=beta', { cookies: [['__Host-gray', 'beta']] }],
  ['the plain cookie: gray=beta', { cookies: [['gray', 'beta']] }],
  [
    'the browser cookie with cookie.domain: __Secure-gray=beta',
    { cookies: [['__Secure-gray', 'beta']] },
  ],
  ...(
    [
      ['__Host-gray', '__Secure-gray'],
      ['__Secure-gray', 'gray'],
      ['__Host-gray', 'gray'],
    ] as const
  ).flatMap(([a, b]): [string, Ask][] =>
    (
      [
        ['beta', 'stable'],
        ['nope', 'beta'],
        ['', 'beta'],
      ] as const
    ).flatMap(([x, y]): [string, Ask][] => [
      [
        `${a}=${x} and ${b}=${y}`,
        {
          cookies: [
            [a, x],
            [b, y],
          ],
        },
      ],
      [
        `${b}=${y} and ${a}=${x} (sent in the other order)`,
        {
          cookies: [
            [b, y],
            [a, x],
          ],
        },
      ],
    ]),
  ),
  [
    '__Host-gray=beta and gray=stable (the __Host- one first)',
    {
      cookies: [
        ['__Host-gray', 'beta'],
        ['gray', 'stable'],
      ],
    },
  ],
  [
    '__Host-gray=nope and gray=beta (an invalid __Host- value)',
    {
      cookies: [
        ['__Host-gray', 'nope'],
        ['gray', 'beta'],
      ],
    },
  ],
  [
    'gray twice with different values (ambiguous)',
    {
      cookies: [
        ['gray', 'beta'],
        ['gray', 'stable'],
      ],
    },
  ],
  ['a quoted cookie value', { cookies: [['gray', '"beta"']] }],
  ['the query marker: ?gray=beta', { query: [['gray', 'beta']] }],
  [
    'the query marker twice',
    {
      query: [
        ['gray', 'beta'],
        ['gray', 'stable'],
      ],
    },
  ],
  ['W3C baggage: gray=beta', { headers: [['baggage', 'gray=beta']] }],
  ['baggage among other members', { headers: [['baggage', 'a=1,gray=beta;prop,b=2']] }],
  [
    'header beats cookie',
    { headers: [['X-Gray-Id', 'stable']], cookies: [['__Host-gray', 'beta']] },
  ],
  ['cookie beats query', { cookies: [['gray', 'beta']], query: [['gray', 'stable']] }],
  ['query beats baggage', { query: [['gray', 'stable']], headers: [['baggage', 'gray=beta']] }],
  [
    'an invalid header falls through to a valid cookie',
    { headers: [['X-Gray-Id', 'zzz']], cookies: [['gray', 'beta']] },
  ],
  ['a rule match without markers (x-user-group: qa)', { headers: [['x-user-group', 'qa']] }],
  ['a split decided by the gray_uid cookie', { cookies: [['gray_uid', 'visitor-0007']] }],
  [
    'a window rule with its cookie and path',
    { path: '/api/checkout/pay', cookies: [['region', 'sh']] },
  ],
];

describe('explain agrees with an open-trust server on every marker shape', () => {
  it.each(ROWS)('PREC-01 %s: same version and reason as the server', async (_name, ask) => {
    const [fromServer, fromExplain] = await Promise.all([serverSays(ask), explainSays(ask)]);
    expect(fromServer.version).not.toBe('?');
    expect(fromExplain).toEqual(fromServer);
  });
});

describe('explain names the marker cookies the server did not read, in its order', () => {
  // The server reads the first of `__Host-gray`, `__Secure-gray`, `gray` that is sent at all
  // (valid or not); the others are printed as not read, naming the one that came first.
  const NOTES: readonly [readonly [string, string][], string, readonly string[]][] = [
    [[['__Secure-gray', 'beta']], '__Secure-gray', []],
    [
      [
        ['gray', 'beta'],
        ['__Secure-gray', 'stable'],
      ],
      '__Secure-gray',
      ['gray'],
    ],
    [
      [
        ['__Secure-gray', 'nope'],
        ['gray', 'beta'],
      ],
      '__Secure-gray',
      ['gray'],
    ],
    [
      [
        ['gray', 'beta'],
        ['__Secure-gray', 'stable'],
        ['__Host-gray', 'beta'],
      ],
      '__Host-gray',
      ['__Secure-gray', 'gray'],
    ],
    [
      [
        ['__Host-gray', 'beta'],
        ['__Secure-gray', 'stable'],
      ],
      '__Host-gray',
      ['__Secure-gray'],
    ],
  ];
  it.each(NOTES)('cookies %j: %s read, %j not read', async (cookies, read, notRead) => {
    const args = ['explain', RULES_PATH, '--now', NOW];
    for (const [k, v] of cookies) args.push('--cookie', `${k}=${v}`);
    const out: string[] = [];
    const code = await runCli(args, {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
      color: false,
    });
    expect(code, out.join('\n')).toBe(0);
    const text = out.join('\n');
    expect(text).toContain(`cookie marker ${read} `);
    const skipped = [...text.matchAll(/cookie marker (\S+) .*: not read \((\S+) comes first\)/g)];
    expect(skipped.map((m) => m[1])).toEqual(notRead);
    for (const m of skipped) expect(m[2]).toBe(read);
  });
});
