import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isGraylaneError } from '@graylane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpSource, type HttpSourceOptions } from '../../src/sources/index.js';
import { doc, quietLogger, recordingStore } from './helpers.js';

/**
 * SRC (review 75 D2): a credential header's value never reaches a log line or the status. A value
 * fetch refuses (`KEYSECRET\r\nX-Injected: 1`) was quoted whole by fetch's `TypeError` in the
 * warning and in `lastError`; so was a `headers()` function's own error message. Now a static
 * record is checked at construction (`INVALID_OPTIONS` naming the header, not its value), a
 * function's record each poll, and any message that quotes a value sent is scrubbed.
 */

const SECRET = 'KEYSECRET-0123456789';
let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((_req, res) => res.end(doc('beta')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Everything a user or an operator can read about the source after one poll. */
async function shown(options: Omit<HttpSourceOptions, 'url'>): Promise<string> {
  const logger = quietLogger();
  const { store } = recordingStore();
  const source = createHttpSource({ url: `${base}/rules.json`, logger, ...options });
  await source.start(store);
  const status = source.status();
  await source.stop();
  return [status.state, status.lastError ?? '', ...logger.lines].join('\n');
}

/** Values fetch refuses: each carries the secret. */
const BAD_VALUES: [string, string][] = [
  ['CR LF and a forged header', `${SECRET}\r\nX-Injected: 1`],
  ['LF', `${SECRET}\nnext`],
  ['CR', `${SECRET}\rnext`],
  ['NUL', `${SECRET}\u0000`],
  ['U+0100', `${SECRET}\u0100`],
  ['an emoji', `${SECRET}🔑`],
  ['U+2028', `${SECRET}\u2028`],
];
const BAD_NAMES: [string, string][] = [
  ['a space', 'x api key'],
  ['a colon', 'x-api:key'],
  ['empty', ''],
  ['non-ASCII', 'x-clé'],
  ['a line break', 'x-a\nb'],
];

describe('SRC a credential header value is never shown (review 75 D2)', () => {
  it.each(BAD_VALUES)('a static value with %s: INVALID_OPTIONS naming the header only', (_w, v) => {
    let caught: unknown;
    try {
      createHttpSource({ url: `${base}/r`, headers: { 'x-api-key': v } });
    } catch (err) {
      caught = err;
    }
    expect(isGraylaneError(caught) && caught.code).toBe('INVALID_OPTIONS');
    const message = String((caught as Error).message);
    expect(message).toContain('"x-api-key"');
    expect(message).not.toContain(SECRET);
  });

  it.each(BAD_NAMES)('a static name with %s: INVALID_OPTIONS', (_w, name) => {
    let caught: unknown;
    try {
      createHttpSource({ url: `${base}/r`, headers: { [name]: SECRET } });
    } catch (err) {
      caught = err;
    }
    expect(isGraylaneError(caught) && caught.code).toBe('INVALID_OPTIONS');
    expect(String((caught as Error).message)).not.toContain(SECRET);
    expect(String((caught as Error).message)).not.toMatch(/[\n\r]/);
  });

  it.each(BAD_VALUES)(
    'a headers() value with %s: the poll fails, the value is not shown',
    async (_w, v) => {
      const text = await shown({ headers: () => ({ 'x-api-key': v }) });
      expect(text).toMatch(/^error\n/);
      expect(text).toContain('"x-api-key"');
      expect(text).not.toContain(SECRET);
    },
  );

  it.each<[string, () => unknown]>([
    ['an Error', () => new Error(`vault down ${SECRET}`)],
    ['a TypeError', () => new TypeError(`bad token ${SECRET}`)],
    ['a string', () => `token ${SECRET}`],
    ['an object', () => ({ message: SECRET, name: SECRET })],
  ])('headers() throwing %s: its message is not shown', async (_w, make) => {
    const text = await shown({
      headers: () => {
        throw make();
      },
    });
    expect(text).toMatch(/^error\n/);
    expect(text).toContain('headers() function threw');
    expect(text).not.toContain(SECRET);
  });

  it.each([
    ['a rejection quoting it', (v: string) => Promise.reject(new Error(`refused ${v}`))],
    [
      'a cause quoting it',
      (v: string) => Promise.reject(new TypeError('fetch failed', { cause: new Error(`at ${v}`) })),
    ],
    ['a thrown string', (v: string) => Promise.reject(`no: ${v}`)],
  ] as const)('a fetch failure with %s: scrubbed', async (_w, failWith) => {
    for (const headers of [
      { authorization: `Bearer ${SECRET}` },
      () => ({ 'x-api-key': SECRET }),
    ]) {
      const text = await shown({
        headers,
        fetch: (_url, init) =>
          failWith(Object.values(init?.headers as Record<string, string>).join(' ')),
      });
      expect(text).toMatch(/^error\n/);
      expect(text).toContain('***');
      expect(text).not.toContain(SECRET);
    }
  });

  // Review 77: values were replaced before URLs (`https` turned `https://…?env=prod` into
  // `***://…`, which the URL scrub then missed), a token quoted without its scheme stayed, and
  // a short value (`8443`) garbled ordinary text.
  const TOKEN = 's3cr3t-tok-abcdef';
  it.each<[string, Record<string, string>, string, RegExp, string[]]>([
    [
      'a short value beside a URL',
      { 'x-forwarded-proto': 'https', authorization: `Bearer ${TOKEN}` },
      'GET https://config.example/t/rules.json?env=prod&sig=abc failed',
      /GET <url> failed/,
      ['config.example', 'env=prod', TOKEN],
    ],
    [
      'a token quoted without its scheme',
      { authorization: `Bearer ${TOKEN}` },
      `auth rejected for ${TOKEN}`,
      /auth rejected for \*\*\*/,
      [TOKEN],
    ],
    [
      'a Basic credential quoted alone',
      { authorization: 'Basic dXNlcjpwYXNzd29yZA==' },
      'bad credential dXNlcjpwYXNzd29yZA==',
      /bad credential \*\*\*/,
      ['dXNlcjpwYXNzd29yZA=='],
    ],
    [
      'a short value in ordinary text',
      { 'x-port': '8443', 'x-env': 'prod' },
      'connect ECONNREFUSED 127.0.0.1:8443 (prod)',
      /ECONNREFUSED 127\.0\.0\.1:8443 \(prod\)/,
      ['***'],
    ],
  ])('%s', async (_w, headers, message, shape, hidden) => {
    for (const h of [headers, () => headers]) {
      const text = await shown({ headers: h, fetch: () => Promise.reject(new Error(message)) });
      expect(text).toMatch(shape);
      for (const secret of hidden) expect(text).not.toContain(secret);
    }
  });

  it('good headers still go out, to the configured origin', async () => {
    const seen: (string | undefined)[] = [];
    const s = createServer((req, res) => {
      seen.push(req.headers['x-api-key'] as string | undefined);
      res.end(doc('beta'));
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/r`;
    for (const headers of [{ 'x-api-key': SECRET }, () => ({ 'x-api-key': SECRET })]) {
      const { store } = recordingStore();
      const source = createHttpSource({ url, headers, logger: quietLogger() });
      await source.start(store);
      expect(source.status().state).toBe('ready');
      await source.stop();
    }
    await new Promise<void>((r) => s.close(() => r()));
    expect(seen).toEqual([SECRET, SECRET]);
  });
});
