import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConfigStore, type ConfigStore } from '@graylane/core';
import { createHttpSource, type FetchLike } from '@graylane/node/sources';
import { closeAll, listen, sleep, waitFor } from './helpers.js';

/**
 * The HTTP rule source against a rules endpoint that misbehaves or is hostile, on real loopback
 * servers through the built `@graylane/node/sources`:
 *
 * - RDR-01/RDR-02 applied to the source's own request: a redirect to another origin must not
 *   carry the caller's credentials (`authorization`, API-key headers, cookies, whatever the
 *   `headers` option holds), whatever the status code; a chain that leaves the origin stays
 *   bare even if it comes back; a downgrade to plain http, a non-http scheme, a loop or a
 *   Location-less redirect is refused with a reason, the last-known-good config kept (I5).
 * - MISC-03 for the source: credentials or tokens in the URL never reach a log line or the
 *   status (a readiness endpoint prints it); a URL that can never work is refused at start
 *   (fatal: nothing sent, nothing retried).
 */
const doc = (id: string): string =>
  JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id, version: 'beta' }],
  });
const ruleOf = (store: ConfigStore): string | undefined => store.get().config.rules[0]?.id;
const newStore = (): ConfigStore => createConfigStore({ initial: doc('embedded') });
const SECRETS = {
  authorization: 'Bearer tok-SECRET-1',
  'x-api-key': 'key-SECRET-2',
  cookie: 'sid=SECRET-3',
};
const leaked = (text: string): string[] =>
  ['SECRET-1', 'SECRET-2', 'SECRET-3', 'hunter2', 'tok3n'].filter((s) => text.includes(s));

interface Seen {
  readonly server: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
}
const seen: Seen[] = [];
type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A loopback server named `name` that records what reaches it. */
async function server(name: string, handler: Handler): Promise<string> {
  const { url } = await listen(
    http.createServer((req, res) => {
      seen.push({ server: name, path: req.url ?? '', headers: req.headers });
      handler(req, res);
    }),
  );
  return url;
}
const serveDoc =
  (id: string): Handler =>
  (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(doc(id));
  };
const redirect =
  (status: number, location: () => string): Handler =>
  (_req, res) => {
    res.statusCode = status;
    res.setHeader('location', location());
    res.end('moved');
  };

const logs: string[] = [];
const logger = {
  warn: (m: string, e?: unknown) => logs.push(`${m} ${String(e ?? '')}`),
  error: (m: string, e?: unknown) => logs.push(`${m} ${String(e ?? '')}`),
};
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  await closeAll();
  seen.length = 0;
  logs.length = 0;
});

async function started(
  url: string,
  headers: Record<string, string> | (() => Record<string, string>) = SECRETS,
  fetchImpl?: FetchLike,
) {
  const store = newStore();
  const source = createHttpSource({
    url,
    headers,
    logger,
    intervalMs: 60_000,
    timeoutMs: 3_000,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
  stops.push(() => source.stop());
  await source.start(store);
  return { store, source };
}

const CROSS_ORIGIN: readonly [string, (other: string) => string][] = [
  ['another port on the same IP', (other) => `${other}/rules.json`],
  [
    'another host name for the same machine (localhost)',
    (other) => `${other.replace('127.0.0.1', 'localhost')}/rules.json`,
  ],
  ['a protocol-relative Location', (other) => `${other.replace('http:', '')}/rules.json`],
];
const STATUSES = [301, 302, 303, 307, 308];

describe('RDR-01 the rules endpoint redirects to another origin: no credentials follow', () => {
  const rows = STATUSES.flatMap((status) =>
    CROSS_ORIGIN.map(([where, to]) => [status, where, to] as const),
  );
  it.each(rows)(
    'RDR-01 %i to %s: the second hop gets none of the caller headers; the document still loads',
    async (status, _where, to) => {
      const other = await server('other', serveDoc('moved'));
      const origin = await server(
        'origin',
        redirect(status, () => to(other)),
      );
      const { store, source } = await started(`${origin}/rules.json`);
      expect(ruleOf(store)).toBe('moved');
      expect(source.status().state).toBe('ready');
      const hop = seen.find((s) => s.server === 'other');
      expect(hop).toBeDefined();
      expect(hop?.headers['authorization']).toBeUndefined();
      expect(hop?.headers['x-api-key']).toBeUndefined();
      expect(hop?.headers['cookie']).toBeUndefined();
      expect(seen.find((s) => s.server === 'origin')?.headers['x-api-key']).toBe('key-SECRET-2');
    },
  );

  it.each(['object', 'function'] as const)(
    'RDR-01 headers given as a %s: custom credential headers never reach the other origin',
    async (shape) => {
      const other = await server('other', serveDoc('moved'));
      const origin = await server(
        'origin',
        redirect(302, () => `${other}/x`),
      );
      const custom = {
        'x-auth-token': 'tok3n',
        'x-tenant': 'acme',
        'proxy-authorization': 'Basic hunter2',
      };
      await started(`${origin}/rules.json`, shape === 'object' ? custom : () => custom);
      const hop = seen.find((s) => s.server === 'other');
      for (const name of Object.keys(custom)) expect(hop?.headers[name]).toBeUndefined();
    },
  );

  it('RDR-01 a same-origin redirect (a moved path) keeps the headers, so authenticated moves work', async () => {
    let base = '';
    base = await server('origin', (req, res) =>
      req.url === '/old'
        ? redirect(308, () => `${base}/new`)(req, res)
        : serveDoc('new-path')(req, res),
    );
    const { store } = await started(`${base}/old`);
    expect(ruleOf(store)).toBe('new-path');
    expect(seen.map((s) => s.headers['x-api-key'])).toEqual(['key-SECRET-2', 'key-SECRET-2']);
  });
});

describe('RDR-02 a redirect chain that leaves the origin stays bare, even when it comes back', () => {
  it.each(STATUSES)(
    'RDR-02 %i origin → other → origin: no caller header after leaving',
    async (status) => {
      let origin = '';
      const other = await server(
        'other',
        redirect(status, () => `${origin}/back`),
      );
      origin = await server('origin', (req, res) =>
        req.url === '/back'
          ? serveDoc('back')(req, res)
          : redirect(status, () => `${other}/hop`)(req, res),
      );
      const { store } = await started(`${origin}/rules.json`);
      expect(ruleOf(store)).toBe('back');
      const after = seen.slice(1);
      expect(after.map((s) => s.server)).toEqual(['other', 'origin']);
      for (const s of after) expect(s.headers['x-api-key']).toBeUndefined();
    },
  );
});

describe('RDR-01 redirects that are refused: LKG kept, a clear reason, never a crash', () => {
  const REFUSED: readonly [string, (self: () => string) => Handler, RegExp][] = [
    ['a Location-less 302', () => (_q, r) => ((r.statusCode = 302), r.end()), /without a Location/],
    ['a file: URL', () => redirect(302, () => 'file:///etc/passwd'), /not http/],
    ['a data: URL', () => redirect(307, () => `data:application/json,${doc('data')}`), /not http/],
    ['a loop to itself', (self) => redirect(302, () => `${self()}/again`), /redirects/],
    ['an unparsable Location', () => redirect(302, () => 'http://[::1'), /Location/],
  ];
  it.each(REFUSED)('RDR-01 %s', async (_name, make, why) => {
    let self = '';
    self = await server(
      'origin',
      make(() => self),
    );
    const { store, source } = await started(`${self}/rules.json`);
    expect(ruleOf(store)).toBe('embedded');
    expect(source.status().state).toBe('error');
    expect(source.status().lastError).toMatch(why);
    expect(seen.length).toBeLessThanOrEqual(6); // a loop stops after 5 redirects
  });
});

describe('RDR-01 https rules endpoint redirected to plain http: refused (integrity and secrecy)', () => {
  let dir: string;
  let tls: https.Server;
  let httpsUrl = '';
  let plainUrl = '';
  let fetchTls: FetchLike;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graylane-https-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    plainUrl = await server('plain', serveDoc('downgraded'));
    tls = https.createServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (req, res) => {
        seen.push({ server: 'tls', path: req.url ?? '', headers: req.headers });
        res.statusCode = 302;
        res.setHeader('location', `${plainUrl}/rules.json`);
        res.end();
      },
    );
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    httpsUrl = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
    const dispatcher = new Agent({ connect: { ca: readFileSync(join(dir, 'cert.pem')) } });
    // Node's fetch takes undici's `dispatcher`, which the DOM's RequestInit does not declare (and
    // the installed undici's Agent type differs from the copy bundled in Node's types).
    fetchTls = (input, init) => fetch(input, { ...init, dispatcher } as unknown as RequestInit);
    writeFileSync(join(dir, 'ok'), '');
  });
  afterAll(async () => {
    tls?.closeAllConnections();
    await new Promise<void>((r) => (tls ? tls.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('RDR-01 https → http: not followed, no request reaches the plain server, LKG kept', async () => {
    // The plain server is started in beforeAll; closeAll after each test would stop it.
    stops.push(async () => undefined);
    const { store, source } = await started(`${httpsUrl}/rules.json`, SECRETS, fetchTls);
    expect(seen.some((s) => s.server === 'tls')).toBe(true);
    expect(seen.some((s) => s.server === 'plain')).toBe(false);
    expect(ruleOf(store)).toBe('embedded');
    expect(source.status().lastError).toMatch(/https to http/);
  });
});

describe('MISC-03 credentials and tokens in the source URL never reach logs or the status', () => {
  const NEVER_WORKS: readonly [string, (base: string) => string, RegExp][] = [
    ['user and password in the URL', (b) => b.replace('//', '//ops:hunter2@'), /credentials/],
    ['a user name only', (b) => b.replace('//', '//hunter2@'), /credentials/],
    [
      'an encoded password with a query token',
      (b) => `${b.replace('//', '//ops:hun%74er2@')}?token=tok3n`,
      /credentials/,
    ],
    ['an ftp: URL', (b) => b.replace('http:', 'ftp:'), /ftp:/],
    ['a file: URL', () => 'file:///etc/graylane/rules.json', /file:/],
    ['not a URL at all', () => 'rules.json', /not an absolute/],
    ['an empty string', () => '', /not an absolute/],
  ];
  it.each(NEVER_WORKS)(
    'MISC-03 %s: refused at start (fatal, nothing sent, nothing retried), no password or token anywhere',
    async (_n, make, why) => {
      const base = await server('origin', serveDoc('sent'));
      const url = make(`${base}/rules.json`);
      const store = newStore();
      const source = createHttpSource({ url, logger, intervalMs: 10, backoff: { initialMs: 10 } });
      stops.push(() => source.stop());
      await source.start(store);
      expect(source.status()).toMatchObject({ state: 'error', fatal: true });
      expect(source.status().lastError).toMatch(why);
      await sleep(100);
      expect(seen).toEqual([]);
      expect(ruleOf(store)).toBe('embedded');
      expect(logs).toHaveLength(1);
      expect(leaked(logs.join('\n'))).toEqual([]);
      expect(leaked(JSON.stringify(source.status()))).toEqual([]);
    },
  );

  const FAILURES: readonly [string, Handler | undefined][] = [
    ['connection refused', undefined],
    ['HTTP 500', (_q, r) => ((r.statusCode = 500), r.end())],
    ['HTTP 404', (_q, r) => ((r.statusCode = 404), r.end())],
    ['a rejected document', (_q, r) => r.end('{"versions":')],
    ['HTTP 401 (fatal)', (_q, r) => ((r.statusCode = 401), r.end())],
    ['a refused redirect', redirect(302, () => 'file:///x')],
  ];
  it.each(FAILURES)(
    'MISC-03 a query token (?token=…) and %s: no log line and no status field carries it',
    async (_n, handler) => {
      const base = handler ? await server('origin', handler) : 'http://127.0.0.1:9';
      const { source } = await started(`${base}/rules.json?token=tok3n&sig=hunter2`, {});
      await waitFor(() => logs.length > 0, 5_000, 'a logged failure');
      expect(logs.join('\n')).toMatch(/rules\.json/); // the endpoint is still named
      expect(leaked(logs.join('\n'))).toEqual([]);
      expect(leaked(JSON.stringify(source.status()))).toEqual([]);
    },
  );
});
