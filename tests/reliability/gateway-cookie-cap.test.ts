import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import express from 'express';
import httpProxy from 'http-proxy';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion, type GraylaneOptions } from '@graylane/node';
import { graylaneExpress } from '@graylane/node/express';
import { closeAll, listen, type Listening } from './helpers.js';

/**
 * GW-02 (RELIABILITY §10) past the cookie reader's cap: graylane reads at most 180 cookie pairs
 * (AMP-01), so a `gray` or `__Host-gray` pair after them is never judged. An `edge` or `signed`
 * gateway must still keep it from the app and from the upstream: whenever a marker name is in
 * the header past what was read, the bounded removal pass runs and drops the unread rest. Every
 * pair of what arrives is checked, not only the first of a name.
 */
const KEY = 'a-gateway-signing-key-of-32-bytes!';
const CONFIG = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
type Options = Omit<GraylaneOptions, 'config' | 'attributes' | 'subject' | 'onDecision'>;

interface Seen {
  app: string;
  version: string;
  upstream: string;
}
let upstream: Listening;
beforeAll(async () => {
  upstream = await listen(
    http.createServer((req, res) => res.end(String(req.headers.cookie ?? ''))),
  );
});
afterAll(closeAll);

/** What the app saw, what the lane was, and what the upstream received, as one JSON reply. */
const relay = async (req: IncomingMessage, res: ServerResponse, app: string) => {
  const r = await fetch(`${upstream.url}/`, {
    headers: req.headers.cookie ? { cookie: req.headers.cookie } : {},
  });
  const seen: Seen = { app, version: getGrayVersion(), upstream: await r.text() };
  res.end(JSON.stringify(seen));
};
const gateways: Record<string, (o: Options) => Promise<Listening>> = {
  'node:http + http-proxy': async (o) => {
    const gray = createGraylane({ config: CONFIG, ...o });
    const proxy = httpProxy.createProxyServer({ target: upstream.url, selfHandleResponse: true });
    proxy.on('error', () => undefined);
    proxy.on('proxyRes', (up, req, res) => {
      let text = '';
      up.setEncoding('utf8');
      up.on('data', (c: string) => (text += c));
      up.on('end', () =>
        res.end(
          JSON.stringify({
            app: String(req.headers.cookie ?? ''),
            version: res.getHeader('x-lane') as string,
            upstream: text,
          } satisfies Seen),
        ),
      );
    });
    return listen(
      http.createServer((req, res) =>
        gray.handle(req, res, () => {
          res.setHeader('x-lane', getGrayVersion());
          proxy.web(req, res);
        }),
      ),
    );
  },
  'express + http-proxy-middleware': async (o) => {
    const app = express();
    app.use(graylaneExpress({ config: CONFIG, ...o }));
    app.use((req, res, next) => {
      res.setHeader('x-app-cookie', encodeURIComponent(req.headers.cookie ?? ''));
      res.setHeader('x-lane', getGrayVersion());
      next();
    });
    app.use(createProxyMiddleware<IncomingMessage, ServerResponse>({ target: upstream.url }));
    return listen(http.createServer(app));
  },
  'node:http (app fetches upstream)': async (o) => {
    const gray = createGraylane({ config: CONFIG, ...o });
    return listen(
      http.createServer((req, res) =>
        gray.handle(req, res, () => void relay(req, res, String(req.headers.cookie ?? ''))),
      ),
    );
  },
};

/** Sends the exact header lines on a raw socket; returns the response head and body. */
function send(port: number, lines: string[]) {
  return new Promise<{ head: string; body: string }>((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let got = '';
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      const at = got.indexOf('\r\n\r\n');
      let body = got.slice(at + 4);
      // A chunked body of one chunk (express): strip the framing.
      if (/transfer-encoding: chunked/i.test(got.slice(0, at)))
        body = body.replace(/^[0-9a-f]+\r\n/, '').replace(/\r\n0\r\n\r\n$/, '');
      resolve({ head: got.slice(0, at), body });
    };
    const timer = setTimeout(done, 5_000);
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (got += d));
    sock.on('error', done);
    sock.on('close', done);
    sock.write(
      `GET /p HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`,
    );
  });
}

/** Every marker pair in a `Cookie` header, under a parser that reads every pair. */
const markers = (cookie: string): string[] =>
  cookie
    .split(';')
    .map((p) => p.trim())
    .filter((p) => /^(__Host-)?gray=/.test(p));

const pairs = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `c${from + i}=1`);
type Case = [name: string, lines: string[]];
const CASES: Case[] = [];
for (const name of ['gray', '__Host-gray'])
  for (const n of [1, 179, 180, 181, 199, 200, 1000]) {
    CASES.push([
      `${name} after ${n} pairs`,
      [`Cookie: ${[...pairs(n), `${name}=beta`].join('; ')}`],
    ]);
    // Node's 16 KiB header limit: 1000 pairs on each side would not arrive.
    if (n < 1000)
      CASES.push([
        `${name} in the middle of ${n * 2} pairs`,
        [`Cookie: ${[...pairs(n), `${name}=beta`, ...pairs(n, n)].join('; ')}`],
      ]);
  }
CASES.push(
  ['gray at the head of 1000 pairs', [`Cookie: ${['gray=beta', ...pairs(1000)].join('; ')}`]],
  [
    'both names past the cap',
    [`Cookie: ${[...pairs(200), '__Host-gray=canary', ...pairs(5, 200), 'gray=beta'].join('; ')}`],
  ],
  [
    'several Cookie lines, the marker in the last',
    [
      `Cookie: ${pairs(100).join('; ')}`,
      `Cookie: ${pairs(100, 100).join('; ')}`,
      'Cookie: gray=beta',
    ],
  ],
  [
    'several Cookie lines, the marker at the head of the second',
    [`Cookie: ${pairs(179).join('; ')}`, `Cookie: gray=beta; ${pairs(50, 179).join('; ')}`],
  ],
  ['spaces and an empty pair past the cap', [`Cookie: ${pairs(181).join(';')};; gray =beta ;x=1`]],
);
const SETTINGS: [string, Options][] = [
  ['edge', { trust: 'edge' }],
  ['signed', { trust: 'signed', keys: { k1: KEY } }],
];
const ROWS = Object.keys(gateways).flatMap((g) => SETTINGS.map(([s, o]) => [g, s, o] as const));

describe('GW-02 a marker cookie past the reader cap', () => {
  it.each(ROWS)('GW-02 %s, %s', async (gw, _s, options) => {
    const s = await (gateways[gw] as (o: Options) => Promise<Listening>)(options);
    const problems: string[] = [];
    for (const [name, lines] of CASES) {
      const { head, body } = await send(s.port, lines);
      if (!head.startsWith('HTTP/1.1 200')) {
        problems.push(`${name}: ${head.split('\r\n')[0] ?? ''}`);
        continue;
      }
      const header = (h: string) => new RegExp(`^${h}: (.*)$`, 'im').exec(head)?.[1];
      const seen: Seen = body.startsWith('{')
        ? (JSON.parse(body) as Seen)
        : {
            app: decodeURIComponent(header('x-app-cookie') ?? ''),
            version: header('x-lane') ?? '',
            upstream: body,
          };
      const lane = seen.version || header('x-lane');
      if (lane !== 'stable') problems.push(`${name}: lane ${lane}`);
      for (const [where, cookie] of [
        ['app', seen.app],
        ['upstream', seen.upstream],
      ] as const)
        for (const m of markers(cookie)) problems.push(`${name}: ${where} sees ${m}`);
      // The pairs graylane read are never lost.
      if (!/(^|; )c0=1(;|$)/.test(seen.upstream)) problems.push(`${name}: upstream lost c0`);
    }
    expect(problems).toEqual([]);
  });
});
