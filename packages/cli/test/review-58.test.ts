import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion } from '@graylane/node';
import { runGraylane, runInProcess } from './helpers.js';

/**
 * Review 58: `graylane explain` decided requests whose target and header lines a Node server
 * answers 431 to (over `http.maxHeaderSize`, 16 KiB by default) before any middleware runs;
 * docs/cli.md says a flag spelling a request no middleware would see is a usage error. Each row
 * spells one request twice — raw bytes on a socket to a real `node:http` server running
 * `@graylane/node`'s middleware, and explain's flags (with `--header 'Connection: close'`, so
 * both are the same bytes) — around the limit, and holds explain to the server: the same
 * decision, or a usage error (exit 2) naming the flag where the server answers 431. Rows named
 * `(control)` held before. Also: `--at` reads RFC 3339 as the config does (leap second, long
 * fractions).
 */
const CONFIG = JSON.stringify({
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    { id: 'admin', match: { path: { prefix: '/admin' } }, version: 'canary' },
    { id: 'h', match: { header: { 'x-a': { prefix: 'v' } } }, version: 'beta' },
    { id: 'q', match: { query: { q: { suffix: 'z' } } }, version: 'canary' },
    { id: 'c', match: { cookie: { c0: { exists: true } } }, version: 'beta' },
  ],
});
const NOW = '2026-12-24T10:00:00Z';
const LIMIT = http.maxHeaderSize;

let dir = '';
let configPath = '';
const servers: http.Server[] = [];
let port = 0;
let bigPort = 0;

async function serve(maxHeaderSize?: number): Promise<number> {
  const gray = createGraylane({
    config: CONFIG,
    trust: 'open',
    sticky: false,
    debugHeader: true,
    now: () => Date.parse(NOW),
  });
  const server = http.createServer(
    maxHeaderSize === undefined ? {} : { maxHeaderSize },
    (req, res) => gray.handle(req, res, () => res.end(getGrayVersion())),
  );
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-review-58-'));
  configPath = join(dir, 'config.json');
  writeFileSync(configPath, CONFIG);
  port = await serve();
  bigPort = await serve(2 * LIMIT);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  rmSync(dir, { recursive: true, force: true });
});

/** One request, as explain's flags spell it. */
interface Spelled {
  readonly path?: string;
  readonly query?: readonly string[];
  readonly headers?: readonly [string, string][];
  readonly cookies?: readonly string[];
  readonly hosts?: readonly string[];
}

type Said = { readonly decided: string } | { readonly refused: string };

const CLOSE: [string, string] = ['Connection', 'close'];

/** The header lines in explain's order: `--header`s, one Cookie line, the `--host`s. */
function lines(r: Spelled): [string, string][] {
  return [
    ...(r.headers ?? []),
    CLOSE,
    ...(r.cookies?.length ? [['Cookie', r.cookies.join('; ')] as [string, string]] : []),
    ...(r.hosts ?? ['x']).map((h) => ['Host', h] as [string, string]),
  ];
}

function target(r: Spelled): string {
  return `${r.path ?? '/'}${r.query?.length ? `?${r.query.join('&')}` : ''}`;
}

/** The bytes on the wire; header values as UTF-8 bytes (what curl sends). */
function wire(r: Spelled): Buffer {
  const head = `GET ${target(r)} HTTP/1.1\r\n${lines(r)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
  return Buffer.from(head, 'utf8');
}

/** What the row means to count: target, names and values in bytes (the server is the judge). */
function counted(r: Spelled): number {
  return (
    Buffer.byteLength(target(r)) +
    lines(r).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0)
  );
}

function serverSays(bytes: Buffer, at = port): Promise<Said> {
  return new Promise((resolve) => {
    const socket = net.connect(at, '127.0.0.1');
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const decision = /^x-gray-decision: (.*)$/im.exec(got)?.[1];
      if (decision === undefined) return resolve({ refused: got.split(' ')[1] ?? 'closed' });
      const f = (k: string): string => new RegExp(`${k}=([^;]+)`).exec(decision)?.[1] ?? '-';
      resolve({ decided: `${f('version')} ${f('reason')} ${f('rule')}` });
    });
    socket.end(bytes);
  });
}

function args(r: Spelled): string[] {
  const out = ['explain', configPath, '--json', '--now', NOW];
  if (r.path !== undefined) out.push('--path', r.path);
  for (const q of r.query ?? []) out.push('--query', q);
  for (const [k, v] of r.headers ?? []) out.push('--header', `${k}: ${v}`);
  out.push('--header', 'Connection: close');
  for (const c of r.cookies ?? []) out.push('--cookie', c);
  for (const h of r.hosts ?? ['x']) out.push('--host', h);
  return out;
}

function said(res: { code: number; out: string }): Said {
  const doc = JSON.parse(res.out) as {
    ok: boolean;
    decision?: { version: string; reason: string; ruleId?: string };
    error?: { code: string; message: string };
  };
  if (!doc.ok) {
    expect(res.code).toBe(2);
    expect(doc.error?.code).toBe('usage');
    return { refused: doc.error?.message ?? '' };
  }
  const d = doc.decision as { version: string; reason: string; ruleId?: string };
  return { decided: `${d.version} ${d.reason} ${d.ruleId ?? '-'}` };
}

const pad = (n: number): string => 'a'.repeat(Math.max(0, n));

/**
 * Rows: a request built by `make(n)` whose counted size grows by one per `n`, sized to `total`
 * bytes; the flag a refusal must name.
 */
const SHAPES: [string, string, (n: number) => Spelled][] = [
  ['one big --header', '--header', (n) => ({ headers: [['X-A', `v${pad(n)}`]] })],
  ['a long --path', '--path', (n) => ({ path: `/admin/${pad(n)}` })],
  ['a long --path in absolute form', '--path', (n) => ({ path: `http://h/admin/${pad(n)}` })],
  ['a long --query', '--query', (n) => ({ query: [`q=${pad(n)}z`] })],
  [
    '--path and --query, the query larger',
    '--query',
    (n) => ({ path: `/admin/${pad(100)}`, query: [`q=${pad(n)}z`] }),
  ],
  [
    'many --cookie pairs on one Cookie line',
    '--cookie',
    (n) => ({
      cookies: [...Array.from({ length: 200 }, (_v, i) => `c${i}=${pad(40)}`), `big=${pad(n)}`],
    }),
  ],
  [
    'many small --header lines',
    '--header',
    (n) => ({
      headers: [
        ...Array.from({ length: 500 }, (_v, i) => [`X-${i}`, 'v'.repeat(20)] as [string, string]),
        ['X-Z', `v${pad(n)}`],
      ],
    }),
  ],
  ['a long --host', '--host', (n) => ({ hosts: [`${pad(n)}.example`] })],
  [
    'two --host lines, the second long (both counted)',
    '--host',
    (n) => ({ hosts: ['x', `${pad(n)}.example`] }),
  ],
  [
    'a --header value outside ASCII (2 bytes a character)',
    '--header',
    (n) => ({
      headers: [['X-A', `v${'é'.repeat(200)}${pad(n)}`]],
    }),
  ],
];

/** `make` sized so the server counts `total` bytes. */
function sized(make: (n: number) => Spelled, total: number): Spelled {
  return make(total - counted(make(0)));
}

const SIZES: [string, number][] = [
  ['(control) limit − 100', LIMIT - 100],
  ['(control) limit − 1', LIMIT - 1],
  ['limit', LIMIT],
  ['limit + 1', LIMIT + 1],
  ['limit + 1000', LIMIT + 1000],
  ['4 × limit', 4 * LIMIT],
];

describe('explain refuses a request head a Node server answers 431 to (review 58)', () => {
  it.each(
    SHAPES.flatMap(([shape, flag, make]) =>
      SIZES.map(([size, total]) => [`${size}: ${shape}`, flag, sized(make, total), total] as const),
    ),
  )('%s', async (_name, flag, r, total) => {
    expect(counted(r)).toBe(total);
    const [fromServer, fromExplain] = await Promise.all([
      serverSays(wire(r)),
      runInProcess(args(r)).then(said),
    ]);
    const what = JSON.stringify({ fromServer, fromExplain }).slice(0, 2000);
    if (total < LIMIT) {
      expect(fromServer, what).toHaveProperty('decided');
      expect(fromExplain, what).toEqual(fromServer);
    } else {
      expect(fromServer, what).toEqual({ refused: '431' });
      expect(fromExplain, what).toHaveProperty('refused');
      const message = (fromExplain as { refused: string }).refused;
      expect(message, what).toMatch(new RegExp(`^${flag} `));
      expect(message, what).toContain('431');
      expect(message, what).toContain(`${total} bytes`);
      expect(message, what).toContain('--max-http-header-size');
      // The message is short: the flag's value is shown cut, not 16 KiB of it.
      expect(message.length, what).toBeLessThan(600);
    }
  });

  it('without --json: exit 2 and the message on stderr, nothing on stdout', async () => {
    const r = sized(SHAPES[0]![2], LIMIT);
    const a = args(r).filter((x) => x !== '--json');
    const res = await runInProcess(a);
    expect(res.code).toBe(2);
    expect(res.out).toBe('');
    expect(res.err).toMatch(/--header "X-A: vaaa.*…".*431/);
  });
});

describe('explain reads the limit of the Node running it (--max-http-header-size)', () => {
  const over = sized(SHAPES[0]![2], LIMIT + 1000);
  it('a server started with twice the limit decides the request', async () => {
    expect(await serverSays(wire(over), bigPort)).toEqual({ decided: 'beta rule h' });
  });
  it.each([
    ['NODE_OPTIONS', { env: { NODE_OPTIONS: `--max-http-header-size=${2 * LIMIT}` } }],
    ['a node flag', { nodeArgs: [`--max-http-header-size=${2 * LIMIT}`] }],
  ])('explain run with %s decides it too', async (_n, options) => {
    const res = await runGraylane(args(over), options);
    expect(res.code, res.stderr).toBe(0);
    expect(said({ code: res.code, out: res.stdout })).toEqual({ decided: 'beta rule h' });
  });
  it('explain run without it refuses it, exit 2', async () => {
    const res = await runGraylane(args(over), { env: { NODE_OPTIONS: '' } });
    expect(res.code).toBe(2);
    expect(res.stdout).toContain('431');
  });
});

describe('CFG-08: --at reads RFC 3339 instants as a config does', () => {
  it.each([
    ['a leap second', '2016-12-31T23:59:60Z', '2016-12-31T23:59:59.999Z'],
    ['a leap second in -08:00', '1990-12-31T15:59:60-08:00', '1990-12-31T23:59:59.999Z'],
    ['10 fraction digits', '2026-12-01T09:00:00.1234567891Z', '2026-12-01T09:00:00.123Z'],
    ['(control) a date', '2026-12-01', '2026-12-01T00:00:00.000Z'],
    ['(control) no seconds', '2026-12-01T10:00+01:00', '2026-12-01T09:00:00.000Z'],
    ['year 0099 (Date.UTC read it as 1999)', '0099-06-01T00:00:00Z', '0099-06-01T00:00:00.000Z'],
  ])('%s', async (_n, text, iso) => {
    const res = await runInProcess(['explain', configPath, '--json', '--at', text]);
    expect(res.code, res.err + res.out).toBe(0);
    expect((JSON.parse(res.out) as { at: string }).at).toBe(iso);
  });
  it.each([
    ['a :60 that is not the last second of a UTC day', '2016-12-31T12:00:60Z'],
    ['(control) a local time', '2026-12-01T09:00:00'],
    ['(control) 30 February', '2026-02-30T00:00:00Z'],
  ])('refuses %s (exit 2)', async (_n, text) => {
    const res = await runInProcess(['explain', configPath, '--json', '--at', text]);
    expect(res.code).toBe(2);
  });
});
