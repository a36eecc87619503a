import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express5 from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graylaneExpress } from '../src/adapters/express.js';
import { createGraylane, type GraylaneOptions } from '../src/index.js';
import { closeAll, listen, type Running } from './helpers.js';
import { freePort, waitListening } from '../../../tools/loopback.js';

/**
 * GW-02 (review 167 N2, N3) with a real PHP app behind real gateways: express 5 +
 * http-proxy-middleware (forwards `req.headers`) and a node:http gateway that forwards
 * `req.rawHeaders` as they are (what `@hono/node-server` and raw-header proxies read). The
 * upstream is `php -S` reporting `$_COOKIE` and `$_SERVER`. Before review 167 the gateways
 * forwarded `gray[0]=beta` (PHP: `$_COOKIE['gray'][0] === 'beta'`) and `X_Gray_Id: beta` (PHP:
 * `$_SERVER['HTTP_X_GRAY_ID'] === 'beta'`) in every mode. Each row first shows PHP reads the
 * spelling as the marker when nothing is in between, then that it reads none through each
 * gateway, and that the other cookies arrive byte for byte. nginx would drop the `_` headers
 * itself (`underscores_in_headers off`, its default); `php -S`, Apache-less PHP-FPM setups with
 * other proxies, WSGI and Rack servers do not. Needs php-cli (skipped without it).
 */
const PHP = spawnSync('php', ['-n', '-r', 'echo PHP_VERSION;'], { encoding: 'utf8' });
const php = PHP.status === 0;
const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
const MODES: readonly (readonly [string, Omit<GraylaneOptions, 'config'>])[] = [
  ['edge', { trust: 'edge' }],
  ['signed', { trust: 'signed', keys: { k1: 'a-signing-key-of-32-bytes-long!!' } }],
  ['open', {}],
];
/** Kept byte for byte: odd spacing, a quoted value with a space, `%2C`, and names no reader takes for the marker. */
const KEEP = [
  ...['k=1;sid="a b";  t=x%2Cy', 'grayx[0]=1', 'xgray[0]=1', 'gray_uid=1', 'gray.x=1'],
  ...['gray[=1', '[gray]=1', 'gray]=1', '%09gray=1', 'gr%2561y=1', 'a=gray[0]'],
].join('; ');

/** [row, cookie spelling or undefined, extra header lines]. */
const ROWS: readonly (readonly [string, string | undefined, readonly string[]])[] = [
  ...[
    ...['gray[0]', 'gray[]', 'gray[x]', 'GRAY[0]', 'gray[a][b]', 'gray[x]y', 'gray[ ]'],
    ...['gray[[x]', 'gray[]]', '__Host-gray[0]', '__Secure-gray[x]', 'Gray[]'],
  ].map((s) => [`cookie ${s}=beta`, s, []] as const),
  ...[
    ...['X_Gray_Id', 'x_gray-id', 'X-Gray_Id', 'X_GRAY_ID', 'Uberctx_Gray', 'OT_Baggage_Gray'],
    ...['ot-baggage_gray', 'OT_BAGGAGE-GRAY'],
  ].map((h) => [`header ${h}: beta`, undefined, [`${h}: beta`]] as const),
  ['cookie gray[0] and header X_Gray_Id together', 'gray[0]', ['X_Gray_Id: beta']],
  ['header x_gray-id twice', undefined, ['x_gray-id: beta', 'X_Gray_Id: beta']],
];

/** What PHP saw: `$_COOKIE` (keys, every value flattened), `HTTP_*` of `$_SERVER`, `HTTP_COOKIE`. */
interface Seen {
  cookies: [string, string[]][];
  server: Record<string, string>;
  cookie: string;
}

const ROUTER = `<?php
function flat($v) { return is_array($v) ? array_merge([], ...array_map('flat', array_values($v))) : [bin2hex((string) $v)]; }
$c = [];
foreach ($_COOKIE as $k => $v) $c[] = [bin2hex((string) $k), flat($v)];
$s = [];
foreach ($_SERVER as $k => $v) if (strncmp($k, 'HTTP_', 5) === 0) $s[$k] = bin2hex((string) $v);
header('content-type: application/json');
echo json_encode(['cookies' => $c, 'server' => $s, 'cookie' => bin2hex($_SERVER['HTTP_COOKIE'] ?? '')]);
`;

const fromHex = (h: string) => Buffer.from(h, 'hex').toString('latin1');
const fold = (s: string) => s.toLowerCase();
const MARKER_COOKIES = ['gray', '__host-gray', '__secure-gray'];
const MARKER_SERVER = ['HTTP_X_GRAY_ID', 'HTTP_UBERCTX_GRAY', 'HTTP_OT_BAGGAGE_GRAY'];

/** One raw HTTP/1.1 request (header lines as written, Latin-1), what PHP reported. */
function ask(port: number, lines: readonly string[]): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const head = ['GET /index.php HTTP/1.1', 'Host: gw', ...lines, 'Connection: close'];
    const s = net.connect(port, '127.0.0.1', () =>
      s.write(Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1')),
    );
    let data = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (data += d));
    s.on('end', () => {
      const split = data.indexOf('\r\n\r\n');
      let body = data.slice(split + 4);
      if (/\r\ntransfer-encoding: chunked\r\n/i.test(data.slice(0, split + 2)))
        body = unchunk(body);
      try {
        const raw = JSON.parse(body) as {
          cookies: [string, string[]][];
          server: Record<string, string>;
          cookie: string;
        };
        resolve({
          cookies: raw.cookies.map(([k, vs]) => [fromHex(k), vs.map(fromHex)]),
          server: Object.fromEntries(Object.entries(raw.server).map(([k, v]) => [k, fromHex(v)])),
          cookie: fromHex(raw.cookie),
        });
      } catch (e) {
        reject(new Error(`not JSON: ${data.slice(0, 200)}`, { cause: e }));
      }
    });
    s.on('error', reject);
  });
}

/** A chunked body's data. */
function unchunk(body: string): string {
  let out = '';
  for (let at = 0; ;) {
    const eol = body.indexOf('\r\n', at);
    const size = parseInt(body.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += body.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

/** The marker values PHP reads anywhere: cookies named like a marker (any case), marker headers. */
function markersSeen(seen: Seen): string[] {
  return [
    ...seen.cookies.filter(([k]) => MARKER_COOKIES.includes(fold(k))).flatMap(([, v]) => v),
    ...MARKER_SERVER.flatMap((k) => (seen.server[k] === undefined ? [] : [seen.server[k]])),
  ];
}

afterAll(closeAll);

describe.skipIf(!php)(
  `GW-02 a PHP app behind an edge, signed or open gateway reads no cookie or header spelling of the marker (review 167 N2/N3; ${php ? `PHP ${PHP.stdout.trim()}` : 'skipped: no php on PATH, install php-cli'})`,
  () => {
    let phpServer: ChildProcess | undefined;
    let phpPort = 0;
    let dir = '';
    const gateways = new Map<string, Running>();

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'graylane-gw02-'));
      writeFileSync(join(dir, 'index.php'), ROUTER);
      phpPort = await freePort();
      phpServer = spawn('php', ['-n', '-S', `127.0.0.1:${phpPort}`, '-t', dir], {
        stdio: 'ignore',
      });
      await waitListening(phpPort);
      for (const [mode, options] of MODES) {
        const app = express5();
        app.use(graylaneExpress({ config, ...options } as GraylaneOptions));
        app.use(createProxyMiddleware({ target: `http://127.0.0.1:${phpPort}` }));
        gateways.set(
          `express + http-proxy-middleware|${mode}`,
          await listen(http.createServer(app)),
        );
        const gray = createGraylane({ config, ...options } as GraylaneOptions);
        const raw = http.createServer((req, res) =>
          gray.handle(req, res, () => {
            const out = http.request(
              {
                host: '127.0.0.1',
                port: phpPort,
                path: req.url,
                method: req.method,
                // As the client sent them, after graylane's edit: names keep their case.
                headers: req.rawHeaders,
              },
              (answer) => {
                res.writeHead(answer.statusCode ?? 502, answer.headers);
                answer.pipe(res);
              },
            );
            out.on('error', () => res.destroy());
            out.end();
          }),
        );
        gateways.set(`node:http forwarding rawHeaders|${mode}`, await listen(raw));
      }
    }, 30_000);
    afterAll(() => {
      phpServer?.kill();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const rows = MODES.flatMap(([mode]) =>
      ['express + http-proxy-middleware', 'node:http forwarding rawHeaders'].flatMap((gw) =>
        ROWS.map(([row, cookie, lines]) => [gw, mode, row, cookie, lines] as const),
      ),
    );
    it.each(rows)('GW-02 %s, %s: %s', async (gw, mode, _row, spelling, lines) => {
      const cookie = spelling === undefined ? KEEP : `${KEEP}; ${spelling}=beta`;
      const sent = [`Cookie: ${cookie}`, ...lines];
      // The premise: PHP reads the spelling as the marker when nothing is in between.
      const direct = await ask(phpPort, sent);
      expect(markersSeen(direct)).toContain('beta');
      const seen = await ask((gateways.get(`${gw}|${mode}`) as Running).port, sent);
      expect(markersSeen(seen)).toEqual([]);
      expect(seen.cookie, 'the Cookie header PHP got').toBe(KEEP);
      // The cookies no reader takes for the marker reach PHP as PHP files them without a gateway.
      const others = (s: Seen) => s.cookies.filter(([k]) => !MARKER_COOKIES.includes(fold(k)));
      expect(others(seen)).toEqual(others(direct));
    });
  },
);
