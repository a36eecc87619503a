import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion } from '../src/index.js';

/*
 * Review 75 N2: a name a request carries more than once is read differently per place, as each
 * place's standard says, and docs/configuration.md's table says so. Each row is a raw request on
 * a socket to a real node:http server with the rule's matcher: a repeated header is one value,
 * the lines joined with ", " (HDR); a repeated cookie is no value when the values differ and the
 * value when they agree (CK-02, CK-08); a repeated query parameter is no value at all (QS-03).
 */

const RULES = {
  header: (m: object) => ({ header: { 'x-t': m } }),
  cookie: (m: object) => ({ cookie: { t: m } }),
  query: (m: object) => ({ query: { t: m } }),
} as const;

// [label, place, matcher, request head after the request line's path, lane]
const ROWS: ReadonlyArray<readonly [string, keyof typeof RULES, object, string, string, string]> = [
  ['header: the first line alone', 'header', { equals: 'a' }, '/', 'X-T: a\r\nX-T: b', 'stable'],
  ['header: the last line alone', 'header', { equals: 'b' }, '/', 'X-T: a\r\nX-T: b', 'stable'],
  ['header: the lines joined', 'header', { equals: 'a, b' }, '/', 'X-T: a\r\nX-T: b', 'beta'],
  ['header: joined, in any case', 'header', { equals: 'a, b' }, '/', 'x-t: a\r\nX-T: b', 'beta'],
  [
    'header: `in` sees the joined value',
    'header',
    { in: ['a', 'b'] },
    '/',
    'X-T: a\r\nX-T: b',
    'stable',
  ],
  ['header: a prefix holds', 'header', { prefix: 'a' }, '/', 'X-T: a\r\nX-T: b', 'beta'],
  ['header: exists', 'header', { exists: true }, '/', 'X-T: a\r\nX-T: b', 'beta'],
  ['header (control): one line', 'header', { equals: 'a' }, '/', 'X-T: a', 'beta'],
  [
    'cookie: differing values, the first',
    'cookie',
    { equals: 'a' },
    '/',
    'Cookie: t=a; t=b',
    'stable',
  ],
  [
    'cookie: differing values, the last',
    'cookie',
    { equals: 'b' },
    '/',
    'Cookie: t=a; t=b',
    'stable',
  ],
  [
    'cookie: differing values, exists',
    'cookie',
    { exists: true },
    '/',
    'Cookie: t=a; t=b',
    'stable',
  ],
  [
    'cookie: over two lines',
    'cookie',
    { equals: 'a' },
    '/',
    'Cookie: t=a\r\nCookie: t=b',
    'stable',
  ],
  ['cookie: the same value twice', 'cookie', { equals: 'a' }, '/', 'Cookie: t=a; t=a', 'beta'],
  [
    'cookie: the same value, two lines',
    'cookie',
    { equals: 'a' },
    '/',
    'Cookie: t=a\r\nCookie: t=a',
    'beta',
  ],
  ['cookie (control): once', 'cookie', { equals: 'a' }, '/', 'Cookie: t=a; u=b', 'beta'],
  ['query: differing values, the first', 'query', { equals: 'a' }, '/?t=a&t=b', '', 'stable'],
  ['query: differing values, the last', 'query', { equals: 'b' }, '/?t=a&t=b', '', 'stable'],
  ['query: the same value twice', 'query', { equals: 'a' }, '/?t=a&t=a', '', 'stable'],
  ['query: exists', 'query', { exists: true }, '/?t=a&t=b', '', 'stable'],
  ['query: an empty second value', 'query', { equals: 'a' }, '/?t=a&t=', '', 'stable'],
  ['query (control): once', 'query', { equals: 'a' }, '/?t=a&u=b', '', 'beta'],
];

const servers: http.Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

let port = 0;
/** One server; the rule of the request in flight is read from the `x-rule` header. */
beforeAll(async () => {
  const lanes = new Map<string, ReturnType<typeof createGraylane>>();
  const server = http.createServer((req, res) => {
    const key = String(req.headers['x-rule']);
    let gray = lanes.get(key);
    if (!gray) {
      gray = createGraylane({
        config: JSON.stringify({
          versions: ['stable', 'beta'],
          default: 'stable',
          rules: [{ id: 'r', match: JSON.parse(key) as object, version: 'beta' }],
        }),
        trust: 'open',
        sticky: false,
      });
      lanes.set(key, gray);
    }
    gray.handle(req, res, () => res.end(getGrayVersion()));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

function ask(path: string, head: string, rule: object): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: h\r\nX-Rule: ${JSON.stringify(rule)}\r\n${head ? `${head}\r\n` : ''}Connection: close\r\n\r\n`,
      ),
    );
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(data.split('\r\n\r\n')[1] ?? data));
  });
}

describe('review 75 N2: a repeated name is read as its place says (docs/configuration.md)', () => {
  it.each(ROWS)('%s', async (_label, place, matcher, path, head, lane) => {
    expect(await ask(path, head, RULES[place](matcher))).toBe(lane);
  });
});
