// STK I1 on HTTP/2 (Node's compat API, h2c on loopback): graylane's sticky cookies survive the
// app's writes as on HTTP/1 — including `writeHead` with a list of pairs, which only HTTP/2
// accepts after an earlier `setHeader`. Each row runs against the same server without graylane.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http2, { type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGraylane } from '../src/index.js';

const config = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [
    {
      id: 'half',
      split: [
        { version: 'beta', weight: 50 },
        { version: 'stable', weight: 50 },
      ],
      bucketBy: 'cookie:gray_uid',
    },
  ],
};

const c = (name: string) => `${name}=1; Path=/`;
type Write = (res: Http2ServerResponse) => void;
const ROWS: [string, Write][] = [
  ['end', (r) => r.end('x')],
  ['setHeader replaces', (r) => (r.setHeader('set-cookie', c('app')), r.end('x'))],
  ['writeHead object', (r) => (r.writeHead(200, { 'set-cookie': [c('a'), c('b')] }), r.end())],
  [
    'writeHead two pairs',
    (r) => (
      r.writeHead(200, [
        ['set-cookie', c('a')],
        ['x-a', '1'],
      ] as never),
      r.end()
    ),
  ],
  ['writeHead one pair', (r) => (r.writeHead(200, [['set-cookie', c('a')]] as never), r.end())],
  [
    'writeHead three pairs, two cookies',
    (r) => (
      r.writeHead(200, [
        ['set-cookie', c('a')],
        ['x-a', '1'],
        ['set-cookie', c('b')],
      ] as never),
      r.end()
    ),
  ],
  ['writeHead pairs without cookies', (r) => (r.writeHead(200, [['x-a', '1']] as never), r.end())],
  [
    'writeHead with a reason and an object',
    (r) => (r.writeHead(200, 'OK', { 'x-a': '1' }), r.end()),
  ],
];

interface Seen {
  status: number;
  ours: string[];
  app: string[];
  xa: unknown;
}

async function serve(gray: boolean) {
  const g = createGraylane({ config, sticky: true });
  const server = http2.createServer((req: Http2ServerRequest, res: Http2ServerResponse) => {
    const write = ROWS[Number(/\/r\/(\d+)/.exec(req.url)?.[1])]?.[1];
    if (!write) return void res.end();
    if (!gray) return write(res);
    // The compat request and response have the parts of Node's that graylane reads.
    g.handle(req as unknown as IncomingMessage, res as unknown as ServerResponse, () => write(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const client = http2.connect(`http://127.0.0.1:${port}`);
  return {
    visit: (i: number) =>
      new Promise<Seen>((resolve, reject) => {
        const stream = client.request({ ':path': `/r/${i}` });
        stream.on('response', (headers) => {
          const cookies = [headers['set-cookie'] ?? []].flat();
          const names = cookies.map((v) => v.slice(0, v.indexOf('=')));
          const isOurs = (n: string) => n === 'gray' || n === 'gray_uid';
          resolve({
            status: Number(headers[':status']),
            ours: names.filter(isOurs).sort(),
            app: names.filter((n) => !isOurs(n)).sort(),
            xa: headers['x-a'],
          });
          stream.resume();
        });
        stream.on('error', reject);
        stream.end();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        client.close();
        server.close(() => resolve());
      }),
  };
}

describe('STK I1 HTTP/2 compat: graylane’s cookies survive the app’s writes', () => {
  let gray: Awaited<ReturnType<typeof serve>>;
  let bare: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    gray = await serve(true);
    bare = await serve(false);
  });
  afterAll(async () => {
    await gray.close();
    await bare.close();
  });
  it.each(ROWS.map(([name], i) => [name, i] as const))('%s', async (_name, i) => {
    const control = await bare.visit(i);
    for (let n = 0; n < 3; n++) {
      const seen = await gray.visit(i);
      expect(seen.ours).toEqual(['gray', 'gray_uid']);
      expect(seen.app).toEqual(control.app);
      expect([seen.status, seen.xa]).toEqual([control.status, control.xa]);
    }
  });
});
