import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion, type GraylaneOptions } from '../src/index.js';
import { closeAll, listen, type Running } from './helpers.js';
import { freePort, waitListening } from '../../../tools/loopback.js';

/**
 * GW-02 / CK-08..11 (reviews 157 D4, 158 D1): a node:http gateway (`gray.handle` + `http.request`
 * with the edited headers and the decision in `X-Gray-Id`) in front of a real nginx that routes on `$cookie_gray`. nginx matches
 * the cookie name without case and also ends pairs at `,`, so `GRAY=beta`, `a=1, gray=beta` and
 * `a=1,gray=beta` passed the edge and routed to beta; ASP.NET Core reads names without case and
 * ends pairs at `,` too. Every spelling
 * goes, in every mode (graylane never honours them); every other pair reaches nginx byte for
 * byte. Rows named `(control)` held before. Needs nginx (Debian `nginx`; skipped without it).
 */
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
const MODES: [string, Omit<GraylaneOptions, 'config'>][] = [
  ['edge', { trust: 'edge' }],
  ['signed', { trust: 'signed', keys: { k1: 'a-signing-key-of-32-bytes-long!!' } }],
  ['open', {}],
];
/** Kept byte for byte around every spelling: odd spacing, a quoted value with a space, `%2C`. */
const KEEP = 'k=1;sid="a b";  t=x%2Cy';

/**
 * [row, Cookie lines (`KEEP` first), what nginx must get as the Cookie header]. Rows whose marker
 * graylane reads (exactly `gray`, after `;` or `,`) are honoured in `open` mode: kept as sent,
 * and nginx reads the version graylane decided.
 */
const SHAPES: [string, string[], string][] = [
  ['CK-10 upper case', [`${KEEP}; GRAY=beta; z=2`], `${KEEP}; z=2`],
  ['CK-10 mixed case', [`${KEEP}; Gray=beta; z=2`], `${KEEP}; z=2`],
  ['CK-10 case and OWS around =', [`${KEEP}; gRaY =beta; z=2`], `${KEEP}; z=2`],
  ['CK-08 after ", "', [`${KEEP}; a=1, gray=beta; z=2`], `${KEEP}; a=1; z=2`],
  ['CK-08 after ","', [`${KEEP}; a=1,gray=beta; z=2`], `${KEEP}; a=1; z=2`],
  ['CK-08 case after ","', [`${KEEP}; a=1,GRAY=beta,z=2`], `${KEEP}; a=1; z=2`],
  ['CK-08 two lines, the second upper case', [KEEP, 'GRAY=beta'], KEEP],
  // A `gray=` inside another cookie's value is that cookie's data (review 165 D3): nginx reads
  // none there, and the app's cookie arrives whole.
  [
    '(control) inside another value after a space',
    [`${KEEP}; a=1 gray=beta; z=2`],
    `${KEEP}; a=1 gray=beta; z=2`,
  ],
  [
    '(control) a JSON value holding ?gray=',
    [`${KEEP}; returnTo={"path":"/checkout?gray=beta"}; z=2`],
    `${KEEP}; returnTo={"path":"/checkout?gray=beta"}; z=2`,
  ],
  [
    '(control) a JSON value with a comma before ?gray=',
    [`${KEEP}; cart={"items":[1,2],"from":"/p?gray=beta"}`],
    `${KEEP}; cart={"items":[1,2],"from":"/p?gray=beta"}`,
  ],
  ['CK-10 __Host- upper case', [`${KEEP}; __HOST-GRAY=beta; z=2`], `${KEEP}; z=2`],
  ['CK-10 __Secure- lower case', [`${KEEP}; __secure-gray=beta; z=2`], `${KEEP}; z=2`],
  ['GW-02 exact, the rest byte for byte', [`${KEEP}; gray=beta; z=2`], `${KEEP}; z=2`],
  [
    'GW-02 $Version and a quoted value',
    [`$Version=1; ${KEEP}; gray="beta"; $Path=/`],
    `$Version=1; ${KEEP}; $Path=/`,
  ],
];

const HONOURED = new Set([
  'CK-08 after ", "',
  'CK-08 after ","',
  'GW-02 exact, the rest byte for byte',
  'GW-02 $Version and a quoted value',
]);

let nginx: ChildProcess | undefined;
let dir = '';
let upstream = 0;
const gateways = new Map<string, Running>();

afterAll(async () => {
  await closeAll();
  nginx?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One raw HTTP/1.1 request (several `Cookie` lines as sent), the response body. */
function send(port: number, cookies: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = ['GET / HTTP/1.1', 'Host: gw', ...cookies.map((c) => `Cookie: ${c}`)];
    const s = net.connect(port, '127.0.0.1', () =>
      s.write(`${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`),
    );
    let data = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (data += d));
    s.on('end', () => resolve(data.slice(data.indexOf('\r\n\r\n') + 4)));
    s.on('error', reject);
  });
}

describe.skipIf(!NGINX)(
  'GW-02 nginx behind a node:http gateway reads no cookie spelling of the marker',
  () => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'graylane-cookie-ngx-'));
      mkdirSync(join(dir, 'logs'));
      upstream = await freePort();
      const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
        .map((t) => `${t}_temp_path ${dir};`)
        .join(' ');
      writeFileSync(
        join(dir, 'nginx.conf'),
        `pid ${dir}/nginx.pid; error_log ${dir}/logs/error.log; daemon off; events {} http { access_log off; ${temp}
server { listen 127.0.0.1:${upstream}; location / { return 200 "[$cookie_gray]|$http_cookie|$http_x_gray_id"; } } }\n`,
      );
      nginx = spawn(NGINX as string, ['-p', dir, '-c', join(dir, 'nginx.conf')], {
        stdio: 'ignore',
      });
      await waitListening(upstream);
      for (const [mode, options] of MODES) {
        const gray = createGraylane({ config, ...options } as GraylaneOptions);
        const server = http.createServer((req, res) =>
          gray.handle(req, res, () => {
            const out = http.request(
              {
                host: '127.0.0.1',
                port: upstream,
                path: req.url,
                method: req.method,
                headers: { ...req.headers, 'x-gray-id': getGrayVersion() },
              },
              (answer) => {
                let body = '';
                answer.setEncoding('latin1');
                answer.on('data', (d: string) => (body += d));
                answer.on('end', () => res.end(body));
              },
            );
            out.on('error', () => res.destroy());
            out.end();
          }),
        );
        gateways.set(mode, await listen(server));
      }
    }, 30_000);

    const rows = MODES.flatMap(([mode]) =>
      SHAPES.map(([name, lines, rest]) => [mode, name, lines, rest] as const),
    );
    it.each(rows)('GW-02 %s · %s', async (mode, name, lines, rest) => {
      const body = await send((gateways.get(mode) as Running).port, lines);
      const [gray, cookie, header] = body.split('|');
      if (mode === 'open' && HONOURED.has(name)) {
        expect(header, 'open mode honours the marker it reads').toBe('beta');
        expect(gray, 'nginx reads what graylane decided').toMatch(/^\["?beta"?\]$/);
        expect(cookie, 'kept as sent').toBe(lines.join('; '));
        return;
      }
      expect(gray, 'nginx $cookie_gray').toBe('[]');
      expect(cookie, 'the Cookie header nginx got').toBe(rest);
      expect(header, 'the decided version').toBe('stable');
    });

    it.each(MODES.filter(([m]) => m === 'open'))(
      '(control) CK-08 %s: a marker in the second Cookie line is honoured and forwarded as the decision',
      async (mode) => {
        const body = await send((gateways.get(mode) as Running).port, ['a=1', 'gray=beta']);
        expect(body).toBe('[beta]|a=1; gray=beta|beta');
      },
    );
  },
);
