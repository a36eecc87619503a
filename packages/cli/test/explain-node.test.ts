import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion } from '@graylane/node';
import { runInProcess } from './helpers.js';

/**
 * `graylane explain` against a real `node:http` server on 127.0.0.1 running `@graylane/node`'s
 * middleware (open trust, X-Gray-Decision), sent the raw bytes the flags spell (helper 141):
 * - `--path x` (no `/`) was decided, where Node answers 400 to `GET x HTTP/1.1`; the absolute
 *   form (`http://h/p`, what a forward proxy is sent) and the asterisk form (`*`) were refused,
 *   where Node decides them (by the path after the authority; by `*`), and so was a `#`, which
 *   Node's routers read as the start of the query;
 * - a request without `--host` was decided as if HTTP/1.1 allowed it (Node answers 400): it is
 *   now the HTTP/1.0 request Node does decide, without a Host line;
 * - `--header 'X: é'` was read as `é`, where Node reads the UTF-8 bytes a client sends as
 *   Latin-1 (`Ã©`, HDR-10); `--cookie` and `--host` alike.
 * Each row: the server's decision (version, reason, rule), or its 400, and explain's — the same
 * decision, or a usage error naming the flag. Rows named `(control)` held before.
 */
const CONFIG = JSON.stringify({
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    { id: 'hostr', match: { host: { equals: 'beta.example.com' } }, version: 'beta' },
    { id: 'nohost', match: { header: { 'x-no-host': { exists: true } } }, version: 'canary' },
    { id: 'star', match: { path: { equals: '*' } }, version: 'canary' },
    { id: 'starp', match: { path: { prefix: '*' } }, version: 'beta' },
    { id: 'a', match: { path: { prefix: '/a' } }, version: 'canary' },
    { id: 'q', match: { query: { q: { equals: '1' } } }, version: 'beta' },
    { id: 'latin', match: { header: { 'x-a': { equals: 'Ã©' } } }, version: 'beta' },
    { id: 'utf', match: { header: { 'x-a': { equals: 'é' } } }, version: 'canary' },
    // What the UTF-8 bytes of any non-ASCII character read as in Latin-1 start with (C2..F4).
    { id: 'moji', match: { header: { 'x-a': { regex: '[Â-ô]' } } }, version: 'beta' },
    { id: 'bucher', match: { host: { equals: 'bücher.example' } }, version: 'canary' },
    { id: 'ck', match: { cookie: { c: { equals: 'Ã©' } } }, version: 'beta' },
    { id: 'any', match: { header: { 'x-a': { exists: true } } }, version: 'stable' },
  ],
});
const NOW = '2026-12-24T10:00:00Z';

let dir = '';
let configPath = '';
let server: http.Server;
let port = 0;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-explain-node-'));
  configPath = join(dir, 'config.json');
  writeFileSync(configPath, CONFIG);
  const gray = createGraylane({
    config: CONFIG,
    trust: 'open',
    sticky: false,
    debugHeader: true,
    now: () => Date.parse(NOW),
  });
  server = http.createServer((req, res) => gray.handle(req, res, () => res.end(getGrayVersion())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

interface Spelled {
  readonly method?: string;
  readonly path?: string;
  readonly query?: readonly string[];
  readonly headers?: readonly [string, string][];
  readonly cookies?: readonly string[];
  /** `--host` values: one Host line each. None: explain's HTTP/1.0 request without Host. */
  readonly hosts?: readonly string[];
}
type Said = { readonly decided: string } | { readonly refused: string };

/**
 * The bytes a client sends: the target as given (ASCII rows), header values as UTF-8 (what curl
 * sends from a UTF-8 terminal), HTTP/1.0 when there is no Host line (`version` overrides).
 */
function wire(r: Spelled, version?: string): Buffer {
  const target = `${r.path ?? '/'}${r.query?.length ? `${r.path?.includes('?') ? '&' : '?'}${r.query.join('&')}` : ''}`;
  const lines = [
    ...(r.headers ?? []).map(([k, v]) => `${k}: ${v}`),
    ...(r.cookies?.length ? [`Cookie: ${r.cookies.join('; ')}`] : []),
    ...(r.hosts ?? []).map((h) => `Host: ${h}`),
  ];
  const hasHost = (r.hosts?.length ?? 0) > 0 || r.headers?.some(([k]) => /^host$/i.test(k));
  const head = `${r.method ?? 'GET'} ${target} HTTP/${version ?? (hasHost ? '1.1' : '1.0')}\r\n`;
  return Buffer.concat([
    Buffer.from(head, 'latin1'),
    Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'utf8'),
    Buffer.from('Connection: close\r\n\r\n', 'latin1'),
  ]);
}

function serverSays(bytes: Buffer): Promise<Said> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const decision = /^x-gray-decision: (.*)$/im.exec(got)?.[1];
      if (decision === undefined) {
        resolve({ refused: got.split(' ')[1] ?? 'closed' });
        return;
      }
      const f = (k: string): string => new RegExp(`${k}=([^;]+)`).exec(decision)?.[1] ?? '-';
      resolve({ decided: `${f('version')} ${f('reason')} ${f('rule')}` });
    });
    socket.end(bytes);
  });
}

async function explainSays(r: Spelled): Promise<Said> {
  const args = ['explain', configPath, '--json', '--now', NOW];
  if (r.method !== undefined) args.push('--method', r.method);
  if (r.path !== undefined) args.push('--path', r.path);
  for (const q of r.query ?? []) args.push('--query', q);
  for (const [k, v] of r.headers ?? []) args.push('--header', `${k}: ${v}`);
  for (const c of r.cookies ?? []) args.push('--cookie', c);
  for (const h of r.hosts ?? []) args.push('--host', h);
  const res = await runInProcess(args);
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

/** Explain agrees with the server: the same decision, or a usage error naming `flag`. */
async function agree(r: Spelled, flag: string): Promise<Said> {
  const [fromServer, fromExplain] = await Promise.all([serverSays(wire(r)), explainSays(r)]);
  const what = JSON.stringify({ r, fromServer, fromExplain });
  if ('decided' in fromServer) expect(fromExplain, what).toEqual(fromServer);
  else {
    expect(fromExplain, what).toHaveProperty('refused');
    expect((fromExplain as { refused: string }).refused, what).toContain(flag);
  }
  return fromServer;
}

const HOST = ['x'];
const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;
const shown = (b: number): string => (b > 0x20 && b < 0x7f ? String.fromCharCode(b) : hex(b));

describe('REQ-03 explain reads --path as the request target Node reads', () => {
  const ROWS: [string, 'refused' | 'decided'][] = [
    // Node answers 400: no path, no asterisk, no letters-only scheme.
    ['x', 'refused'],
    ['x/y', 'refused'],
    ['?q=1', 'refused'],
    ['.', 'refused'],
    ['%2fa', 'refused'],
    ['a:b', 'refused'],
    ['h:80', 'refused'],
    ['http:/a', 'refused'],
    ['http:a', 'refused'],
    ['mailto:x', 'refused'],
    ['(control) h2c://h/a', 'refused'],
    ['(control) a+b://h/a', 'refused'],
    ['1http://h/a', 'refused'],
    ['(control) http://h#x/a', 'refused'],
    ['(control) http://h{x}/a', 'refused'],
    // Node decides: the asterisk form (any method), the absolute form, a `#`.
    ['(control) *', 'decided'],
    ['(control) *x', 'decided'],
    ['(control) */a', 'decided'],
    ['(control) *?q=1', 'decided'],
    ['(control) *?gray=beta', 'decided'],
    ['http://h/a', 'decided'],
    ['HTTP://H:80/a?q=1', 'decided'],
    ['http://h', 'decided'],
    ['http://h?gray=beta', 'decided'],
    ['https://h/x/../a', 'decided'],
    ['ws://h/a', 'decided'],
    ['ftp://h/b?gray=canary', 'decided'],
    ['http://u:p@h/a', 'decided'],
    ['http://u@h@h/a', 'decided'],
    ['http://[::1]:8/a', 'decided'],
    ['http://', 'decided'],
    ['http:///a', 'decided'],
    ['http://h/b#x?gray=beta', 'decided'],
    ['/b#x', 'decided'],
    ['/b#q=1', 'decided'],
    ['/b#x?gray=canary', 'decided'],
    ['/b?x=1#q=1', 'decided'],
    ['(control) /b??gray=beta', 'decided'],
    ['(control) /a', 'decided'],
    ['(control) //a', 'decided'],
    ['(control) /b?q=1', 'decided'],
  ];
  it.each(ROWS.flatMap(([p, want]) => ['GET', 'OPTIONS'].map((m) => [p, m, want] as const)))(
    '--path %s, %s: the server %s it, explain too',
    async (label, method, want) => {
      const path = label.replace('(control) ', '');
      const said = await agree({ path, method, hosts: HOST }, '--path');
      expect(Object.keys(said)[0]).toBe(want);
    },
  );

  it.each([
    ['x', '/x'],
    ['?q=1', '/?q=1'],
  ])('--path %s: the usage error shows the path Node would take (%s)', async (path, hint) => {
    const r = await explainSays({ path, hosts: HOST });
    expect(r).toEqual({ refused: expect.stringContaining(`write "${hint}"`) });
  });

  it('--path http://h/a: the trace reads the path after the authority, as the server', async () => {
    const text = await runInProcess(['explain', configPath, '--path', 'http://h/a', '--host', 'x']);
    expect(text.out).toContain('path "http://h/a": rules match it as "/a"');
    expect(text.out).toContain('path = "/a" starts with "/a": yes');
  });

  const ASCII = Array.from({ length: 128 }, (_v, b) => b).filter((b) => b > 0x20 && b !== 0x7f);
  /** Refused before too (explain refused every absolute-form target, and a `#`). */
  const c = (held: boolean) => (held ? '(control) ' : '');
  const AUTHORITY_REFUSED = '"#<>\\^`{|}';
  it.each(
    ASCII.map(
      (b) => [`${c(AUTHORITY_REFUSED.includes(String.fromCharCode(b)))}${shown(b)}`, b] as const,
    ),
  )('--path http://h<byte>h/a, byte %s: as the server', async (_n, b) => {
    await agree({ path: `http://h${String.fromCharCode(b)}h/a`, hosts: HOST }, '--path');
  });
  it.each(
    ASCII.map((b) => [`${c('/*#-'.includes(String.fromCharCode(b)))}${shown(b)}`, b] as const),
  )('--path <byte>/a, byte %s: as the server', async (_n, b) => {
    await agree({ path: `${String.fromCharCode(b)}/a`, hosts: HOST }, '--path');
  });
});

describe('a request without --host is the HTTP/1.0 request Node decides', () => {
  it('(control) the premise: Node answers 400 to HTTP/1.1 without Host, decides HTTP/1.0 without it', async () => {
    expect(await serverSays(wire({}, '1.1'))).toEqual({ refused: '400' });
    expect(await serverSays(wire({}, '1.0'))).toEqual({ decided: 'stable default -' });
  });

  it.each<[string, Spelled]>([
    ['(control) no flags', {}],
    ['(control) a query', { query: ['q=1'] }],
    ['an absolute-form target (its authority is no Host)', { path: 'http://beta.example.com/' }],
    ['(control) the asterisk form', { path: '*', method: 'OPTIONS' }],
    ['(control) a header', { headers: [['X-No-Host', '1']] }],
    ['(control) --host', { hosts: ['beta.example.com'] }],
    ['(control) --header Host', { headers: [['Host', 'beta.example.com']] }],
    ['(control) an empty --host', { hosts: [''] }],
  ])('%s: decided as the server decides it', async (_n, r) => {
    await agree(r, '--host');
  });
});

describe('HDR-10 header values are read as Node reads them: UTF-8 bytes as Latin-1', () => {
  it.each<[string, Spelled]>([
    ['--header X-A: é (arrives as Ã©)', { headers: [['X-A', 'é']] }],
    ['--header X-A: Ã© (arrives as Ã\\x83Â©)', { headers: [['X-A', 'Ã©']] }],
    ['--header X-A: 日本', { headers: [['X-A', '日本']] }],
    ['--header X-A: a\\u00a0b', { headers: [['X-A', 'a\u00a0b']] }],
    ['--header X-A: a\\u0085b (C1)', { headers: [['X-A', 'a\u0085b']] }],
    ['--header X-A: 😀', { headers: [['X-A', '😀']] }],
    ['(control) --header X-Gray-Id: béta', { headers: [['X-Gray-Id', 'béta']] }],
    ['(control) --header X-Gray-Id: beta\\u200b', { headers: [['X-Gray-Id', 'beta\u200b']] }],
    ['--cookie c=é', { cookies: ['c=é'] }],
    ['(control) --cookie gray=béta', { cookies: ['gray=béta'] }],
    ['(control) --cookie é=1 (the name too)', { cookies: ['é=1'] }],
    ['(control) --header baggage: gray=béta', { headers: [['baggage', 'gray=béta']] }],
    ['(control) --header X-A: plain', { headers: [['X-A', 'plain']] }],
  ])('%s', async (_n, r) => {
    await agree({ ...r, hosts: r.hosts ?? HOST }, '--header');
  });

  it.each([
    ['bücher.example'],
    ['(control) BETA.example.com\u00a0'],
    ['(control) bëta.example.com'],
    ['(control) beta.example.com'],
  ])('--host %s: as the server reads the Host line', async (label) => {
    // (control) rows: the host rules decide them the same way either reading.
    await agree({ hosts: [label.replace('(control) ', '')] }, '--host');
  });

  it('--header X-A: é, the note shows what the server read', async () => {
    const json = await runInProcess([
      ...['explain', configPath, '--json', '--host', 'x'],
      ...['--header', 'X-Gray-Id: béta'],
    ]);
    const doc = JSON.parse(json.out) as { markers: string[] };
    expect(doc.markers.join('\n')).toContain(JSON.stringify('bÃ©ta'));
  });

  it.each([
    ['--header', ['--header', 'X-A: a\ud800']],
    ['--cookie', ['--cookie', 'c=\udc00']],
    ['--host', ['--host', 'h\ud800.example']],
  ])('%s with a lone surrogate: a usage error naming it', async (flag, extra) => {
    const res = await runInProcess(['explain', configPath, '--json', ...extra]);
    expect(res.code).toBe(2);
    expect(JSON.parse(res.out)).toMatchObject({
      ok: false,
      error: { code: 'usage', message: expect.stringContaining(flag) },
    });
  });
});
