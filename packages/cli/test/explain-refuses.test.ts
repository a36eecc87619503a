import http, { METHODS } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion } from '@graylane/node';
import { runInProcess } from './helpers.js';

/**
 * Review 127 D3: `graylane explain` described requests a real Node server never decides (or
 * decides differently): `--host a --host b` used the last Host where Node keeps the first;
 * `--method post` (Node's parser answers 400 to a method not in `http.METHODS`, case-sensitive)
 * and a raw space in `--query` were decided where the server answers 400 before any middleware
 * runs. Every row here spells one request two ways — raw bytes on a socket to a real `node:http`
 * server running `@graylane/node`'s middleware (open trust, X-Gray-Decision), and `explain
 * --json` flags — and holds explain to the server: where the server decides, explain decides the
 * same (version, reason, rule); where it answers 400 (or never calls the handler), explain is a
 * usage error naming the flag. Outside ASCII, explain sends a character UTF-8 percent-encoded (as
 * browsers do: Node refuses the raw bytes), so the server is asked about that encoding. Rows named
 * `(control)` held before.
 */
const CONFIG = JSON.stringify({
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    { id: 'hostr', match: { host: { equals: 'beta.example.com' } }, version: 'beta' },
    { id: 'post', match: { method: { equals: 'POST' } }, version: 'canary' },
    { id: 'tier', match: { query: { tier: { equals: 'gold plus' } } }, version: 'canary' },
    // A raw `/é` is refused at load (review 75 N1): the encoding is what requests carry.
    { id: 'raw', match: { path: { equals: '/%C3%A9' } }, version: 'canary' },
    { id: 'pct', match: { path: { regex: '%[0-9A-F]{2}' } }, version: 'canary' },
    { id: 'p', match: { path: { prefix: '/a' } }, version: 'beta' },
    { id: 'q', match: { query: { q: { prefix: 'a' } } }, version: 'canary' },
    { id: 'h', match: { header: { 'x-a': { prefix: 'v' } } }, version: 'beta' },
  ],
});
const NOW = '2026-12-24T10:00:00Z';

let dir = '';
let configPath = '';
let server: http.Server;
let port = 0;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-explain-refuses-'));
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

/** One request: the request line, and header lines in order. */
interface Spelled {
  readonly method?: string;
  readonly path?: string;
  readonly query?: readonly string[];
  readonly headers?: readonly [string, string][];
  readonly cookies?: readonly string[];
  /** Host lines (default one: `x`; Node answers 400 to an HTTP/1.1 request without one). */
  readonly hosts?: readonly string[];
}

type Said = { readonly decided: string } | { readonly refused: string };

/** The bytes on the wire (each character one byte: the rows are about bytes). */
function wire(r: Spelled): Buffer {
  const target = `${r.path ?? '/'}${r.query?.length ? `?${r.query.join('&')}` : ''}`;
  const lines = [
    ...(r.headers ?? []).map(([k, v]) => `${k}: ${v}`),
    ...(r.cookies?.length ? [`Cookie: ${r.cookies.join('; ')}`] : []),
    ...(r.hosts ?? ['x']).map((h) => `Host: ${h}`),
  ];
  const head = `${r.method ?? 'GET'} ${target} HTTP/1.1\r\n${lines.map((l) => `${l}\r\n`).join('')}`;
  return Buffer.from(`${head}Connection: close\r\n\r\n`, 'latin1');
}

/** What the server did: its decision (version, reason, rule), or the status it answered. */
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

/** What explain said, in the server's terms; a refusal carries the usage error's message. */
async function explainSays(r: Spelled): Promise<Said> {
  const args = ['explain', configPath, '--json', '--now', NOW];
  if (r.method !== undefined) args.push('--method', r.method);
  if (r.path !== undefined) args.push('--path', r.path);
  for (const q of r.query ?? []) args.push('--query', q);
  for (const [k, v] of r.headers ?? []) args.push('--header', `${k}: ${v}`);
  for (const c of r.cookies ?? []) args.push('--cookie', c);
  for (const h of r.hosts ?? ['x']) args.push('--host', h);
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

/**
 * Explain agrees with the server on `asked` (the same spelling, or the percent-encoded one
 * where explain encodes): the same decision, or a usage error naming `flag` where the server
 * refused.
 */
async function agree(r: Spelled, flag: string, asked: Spelled = r): Promise<Said> {
  const [fromServer, fromExplain] = await Promise.all([serverSays(wire(asked)), explainSays(r)]);
  const what = JSON.stringify({ r, fromServer, fromExplain });
  if ('decided' in fromServer) expect(fromExplain, what).toEqual(fromServer);
  else {
    expect(fromExplain, what).toHaveProperty('refused');
    expect((fromExplain as { refused: string }).refused, what).toContain(flag);
  }
  return fromServer;
}

const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;
const ASCII = Array.from({ length: 128 }, (_v, b) => b);
/** Held before: the server decides these, and explain decided them the same. */
const c = (held: boolean): string => (held ? '(control) ' : '');
/** Bytes Node's parser refuses in a request target (probed: Node 20, 22, 24). */
const targetRefused = (b: number): boolean => b <= 0x20 || b === 0x7f;
const valueRefused = (b: number): boolean => (b < 0x20 && b !== 0x09) || b === 0x7f;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]$/;

describe('explain refuses what a Node server refuses in the request target (D3)', () => {
  it.each(
    ASCII.filter((b) => b !== 0x23).map((b) => [`${c(!targetRefused(b))}${hex(b)}`, b] as const),
  )('--path /a<byte>b, byte %s: decided as the server decides, or refused', async (_n, b) => {
    await agree({ path: `/a${String.fromCharCode(b)}b` }, '--path');
  });

  it.each(ASCII.map((b) => [`${c(!targetRefused(b))}${hex(b)}`, b] as const))(
    '--query q=a<byte>b, byte %s: decided as the server decides, or refused',
    async (_n, b) => {
      await agree({ query: [`q=a${String.fromCharCode(b)}b`] }, '--query');
    },
  );

  it.each([
    ['the review row: tier=gold plus (a raw space)', ['tier=gold plus']],
    ['a tab', ['q=a\tb']],
    ['a space in the second pair', ['x=1', 'tier=gold plus']],
    ['(control) tier=gold+plus', ['tier=gold+plus']],
    ['(control) tier=gold%20plus', ['tier=gold%20plus']],
  ])('--query %s', async (_n, query) => {
    await agree({ query }, '--query');
  });

  it('a trailing space, tier=gold : refused too (the server reads it only at the end of the target)', async () => {
    // `GET /?tier=gold  HTTP/1.1` parses (Node allows the extra space before the version); the
    // same pair anywhere else is a 400. A space in a --query is refused wherever it is.
    expect(await explainSays({ query: ['tier=gold '] })).toEqual({
      refused: expect.stringContaining('--query'),
    });
    expect(await serverSays(wire({ query: ['tier=gold ', 'x=1'] }))).toEqual({ refused: '400' });
  });

  it('a raw space in --path: refused, naming --path', async () => {
    expect(await agree({ path: '/a b' }, '--path')).toEqual({ refused: '400' });
  });
});

describe('outside ASCII, explain sends --path / --query UTF-8 percent-encoded, as a browser does', () => {
  const enc = (t: string): string => t.replace(/[^!-~]+/g, encodeURIComponent);
  const utf8 = (t: string): Spelled => ({ path: Buffer.from(t, 'utf8').toString('latin1') });
  it.each([
    ['/é (a rule says path equals "/%C3%A9": true on a Node server)', '/é'],
    ['/日本', '/日本'],
    ['/a😀', '/a😀'],
    ['/a\u0085 (C1)', '/a\u0085'],
    ['/a\u00a0 (no-break space)', '/a\u00a0'],
    ['(control) /aé/../x', '/aé/../x'],
  ])(
    '--path %s: the server refuses the raw bytes and decides the encoding as explain does',
    async (_n, path) => {
      expect(await serverSays(wire(utf8(path)))).toEqual({ refused: '400' });
      await agree({ path }, '--path', { path: enc(path) });
    },
  );

  it.each([
    ['(control) q=aé', 'q=aé'],
    ['(control) tier=gold\u00a0plus', 'tier=gold\u00a0plus'],
    ['(control) q=a日本', 'q=a日本'],
  ])('--query %s: decided as the server decides the encoding', async (_n, q) => {
    await agree({ query: [q] }, '--query', { query: [enc(q)] });
  });

  it('a lone surrogate in --path: a usage error, not a crash', async () => {
    const r = await explainSays({ path: '/a\ud800' });
    expect(r).toEqual({ refused: expect.stringContaining('--path') });
  });
});

describe('explain refuses a --method a Node server answers 400 to, or never hands to middleware', () => {
  const odd = ['post', 'Get', 'get', 'FOO', 'PRI', 'G-T', 'CONNECT', 'GET/1', 'ΓET', ''];
  it.each([
    ...METHODS.filter((m) => m !== 'CONNECT').map((m) => [`(control) ${m}`, m] as const),
    ...odd.map((m) => [JSON.stringify(m), m] as const),
  ])('--method %s', async (_n, method) => {
    await agree({ method }, '--method', method === 'CONNECT' ? { method, path: 'x:1' } : undefined);
  });

  it('--method post names the upper-case method', async () => {
    const r = await explainSays({ method: 'post' });
    expect(r).toEqual({
      refused: expect.stringMatching(/--method "post": .*http\.METHODS.*POST\?/),
    });
  });
});

describe('a header line Node refuses is refused, naming the flag', () => {
  it.each(
    ASCII.filter((b) => b !== 0x3a).map(
      (b) => [`${c(TOKEN.test(String.fromCharCode(b)))}${hex(b)}`, b] as const,
    ),
  )('--header name X-A<byte>B, byte %s', async (_n, b) => {
    await agree({ headers: [[`X-A${String.fromCharCode(b)}B`, 'v']] }, '--header');
  });

  it.each(ASCII.map((b) => [`${c(!valueRefused(b))}${hex(b)}`, b] as const))(
    '--header value v<byte>w, byte %s',
    async (_n, b) => {
      await agree({ headers: [['X-A', `v${String.fromCharCode(b)}w`]] }, '--header');
    },
  );

  it.each([
    ['a NUL', 'region=s\u0000h'],
    ['a DEL', 'region=s\u007fh'],
    ['(control) a tab', 'region=s\th'],
  ])('--cookie with %s', async (_n, cookie) => {
    await agree({ cookies: [cookie] }, '--cookie');
  });

  it.each([
    ['a DEL', 'beta.example.com\u007f'],
    ['a VT', 'beta.example.com\u000b'],
  ])('--host with %s', async (_n, host) => {
    await agree({ hosts: [host] }, '--host');
  });

  // On the wire a CR LF would start another header line: no flag can spell that request.
  it.each<[string, Spelled]>([
    ['--cookie', { cookies: ['region=sh\r\nX-Gray-Id: beta'] }],
    ['--host', { hosts: ['beta.example.com\r\nX-Gray-Id: canary'] }],
    ['--header', { headers: [['X-A', 'v\r\nX-Gray-Id: canary']] }],
    ['--header', { headers: [['X-A', 'v\nX-Gray-Id: canary']] }],
  ])('%s with a CR LF in its value: a usage error', async (flag, r) => {
    expect(await explainSays(r)).toEqual({ refused: expect.stringContaining(flag) });
  });
});

describe('repeated single-value flags: as Node reads the request, or refused', () => {
  it.each([
    ['--host beta.example.com --host x: the first Host counts', ['beta.example.com', 'x']],
    ['--host x --host beta.example.com: the first Host counts', ['x', 'beta.example.com']],
    ['(control) --host beta.example.com twice', ['beta.example.com', 'beta.example.com']],
  ])('%s', async (_n, hosts) => {
    await agree({ hosts }, '--host');
  });

  it('(control) --header Host before --host: the --header line comes first, as documented', async () => {
    const r: Spelled = { headers: [['Host', 'beta.example.com']], hosts: ['x'] };
    expect(await agree(r, '--host')).toEqual({ decided: 'beta rule hostr' });
  });

  it.each([
    ['--method', ['--method', 'GET', '--method', 'POST']],
    ['--method', ['--method', 'POST', '--method', 'POST']],
    ['--path', ['--path', '/a', '--path', '/b']],
    ['--at', ['--at', NOW, '--at', '2027-01-01T00:00:00Z']],
    ['--now', ['--now', NOW, '--now', NOW]],
  ])('%s given twice: a usage error naming it, text and --json', async (flag, extra) => {
    const text = await runInProcess(['explain', configPath, ...extra]);
    expect(text.code).toBe(2);
    expect(text.err).toContain(`${flag} given 2 times`);
    const json = await runInProcess(['explain', configPath, ...extra, '--json']);
    expect(JSON.parse(json.out)).toMatchObject({
      ok: false,
      error: { code: 'usage', message: expect.stringContaining(`${flag} given 2 times`) },
    });
  });
});
