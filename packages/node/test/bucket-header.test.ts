import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createGraylane, getGrayDecision, type GraylaneOptions } from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';
import { closeAll, echoServer, listen, splitConfig } from './helpers.js';

/**
 * `bucketHeader` (issue 19, one bucket for every layer): on a weighted decision the request the
 * app and a proxy behind it see carries the subject's bucket (0–9999), so Envoy's
 * `weighted_clusters` with `header_name` (`graylane render envoy --bucket-header`) picks the arm
 * graylane picked; a client's own header of that name never passes through.
 */
const CONFIG = splitConfig(30, 'header:x-user');

afterEach(closeAll);

/** A hand-written gateway: graylane decides, then the request's headers are copied upstream. */
async function gateway(options: Partial<GraylaneOptions>, upstream: string) {
  const gray = createGraylane({ config: CONFIG, debugHeader: true, ...options });
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) =>
    gray.handle(req, res, () => {
      const out = http.request(`${upstream}${req.url ?? '/'}`, { headers: req.headers }, (up) => {
        let body = '';
        up.on('data', (c: Buffer) => (body += c.toString()));
        up.on('end', () => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ decision: getGrayDecision(), upstream: JSON.parse(body) }));
        });
      });
      out.end();
    }),
  );
  return listen(server);
}

interface Answer {
  decision: { version: string; reason: string; bucket?: number };
  upstream: { headers: Record<string, string | string[] | undefined>; raw: string[] };
}

async function call(url: string, headers: Record<string, string>): Promise<Answer> {
  return (await (await fetch(url, { headers })).json()) as Answer;
}

describe("bucketHeader: the next proxy splits on graylane's bucket", () => {
  it.each([
    ['true → x-gray-bucket', true, 'x-gray-bucket'],
    ['a custom name', 'X-Envoy-Bucket', 'x-envoy-bucket'],
  ] as const)(
    '%s: 40 subjects, each upstream request carries its own bucket',
    async (_n, option, name) => {
      const up = await echoServer();
      const gw = await gateway({ bucketHeader: option }, up.url);
      for (let i = 0; i < 40; i++) {
        // A forged bucket from the client is replaced by the real one.
        const a = await call(gw.url, { 'x-user': `u${i}`, [name]: '9999' });
        expect(a.decision.reason).toBe('weight');
        expect(a.upstream.headers[name]).toBe(String(a.decision.bucket));
        // The same value in rawHeaders, once (frameworks that rebuild headers from it agree).
        const raw = a.upstream.raw.filter(
          (_v, k) => k % 2 === 0 && a.upstream.raw[k]?.toLowerCase() === name,
        );
        expect(raw).toHaveLength(1);
        // The arm Envoy would pick: walk the arms in order, weights in basis points.
        const bucket = Number(a.upstream.headers[name]);
        expect(bucket < 3000 ? 'beta' : 'stable').toBe(a.decision.version);
      }
    },
  );

  it.each([
    ['a header marker', { 'x-gray-id': 'beta', 'x-gray-bucket': '42' }],
    ['no subject (default)', { 'x-gray-bucket': '42' }],
    ['a cookie marker', { cookie: 'gray=stable', 'x-gray-bucket': '0' }],
  ])('not weighted (%s): a client-sent bucket header is removed', async (_n, headers) => {
    const up = await echoServer();
    const gw = await gateway({ bucketHeader: true }, up.url);
    const a = await call(gw.url, headers);
    expect(a.decision.reason).not.toBe('weight');
    expect(a.upstream.headers['x-gray-bucket']).toBeUndefined();
  });

  it("off by default: nothing added, and a client header is not graylane's business", async () => {
    const up = await echoServer();
    const gw = await gateway({}, up.url);
    const a = await call(gw.url, { 'x-user': 'u1', 'x-gray-bucket': '7' });
    expect(a.decision.reason).toBe('weight');
    expect(a.upstream.headers['x-gray-bucket']).toBe('7');
  });

  it('express: the app sees the bucket on req.headers', async () => {
    const app = express();
    app.use(graylaneExpress({ config: CONFIG, bucketHeader: true }));
    app.get('/', (req, res) => {
      res.json({ bucket: req.headers['x-gray-bucket'], decision: getGrayDecision() });
    });
    const s = await listen(http.createServer(app));
    const a = (await (await fetch(s.url, { headers: { 'x-user': 'alice' } })).json()) as {
      bucket: string;
      decision: { bucket: number };
    };
    expect(a.bucket).toBe(String(a.decision.bucket));
  });

  it.each(['', 'x gray', 'x-gray-bucket\n', 'ü'])(
    'an invalid name %j fails at construction',
    (name) => {
      expect(() => createGraylane({ config: CONFIG, bucketHeader: name })).toThrow(/bucketHeader/);
    },
  );
});
