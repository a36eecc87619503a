import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NGINX, startNginx, stopAllNginx, type Nginx } from './nginx-harness.js';

/**
 * `graylane render nginx` output, run for real: Debian nginx on loopback in front of two
 * upstreams that echo what they received. Every row asserts the lane routed AND what the
 * upstream was told, so the two can never disagree (issue 15: route and forward the same
 * validated marker, or none), for the cookie names the browser writes (`__Host-gray` first).
 */
const CONFIG = fileURLToPath(new URL('../examples/rules.json', import.meta.url));

/** A syntactically valid signed token for `version` (nginx cannot verify it; the upstream does). */
const token = (version: string, sig = 'A'.repeat(43)) => `${version}.1900000000.qa.${sig}`;

const upstreams: Server[] = [];
function upstream(version: string): Promise<number> {
  const server = createServer((req, res) => {
    const sent: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      if (req.rawHeaders[i]?.toLowerCase() === 'x-gray-id') sent.push(req.rawHeaders[i + 1] ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ served: version, markers: sent }));
  });
  upstreams.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

async function get(nginx: Nginx, headers: Record<string, string>) {
  const res = await fetch(`http://127.0.0.1:${nginx.port}/x`, { headers });
  return {
    route: res.headers.get('x-gray-route'),
    body: (await res.json()) as { served: string; markers: string[] },
  };
}

type Row = readonly [name: string, headers: Record<string, string>, lane: 'stable' | 'beta'];

/** open trust: exact labels only; the upstream always receives the lane it was routed to. */
const OPEN: readonly Row[] = [
  ['no marker → default', {}, 'stable'],
  ['header beta', { 'x-gray-id': 'beta' }, 'beta'],
  ['header stable wins over cookie beta', { 'x-gray-id': 'stable', cookie: 'gray=beta' }, 'stable'],
  [
    'header beta.x (not a label): default, never forwarded as is',
    { 'x-gray-id': 'beta.x' },
    'stable',
  ],
  ['header with a signed token in open mode', { 'x-gray-id': token('beta') }, 'stable'],
  ['header BETA (case-sensitive)', { 'x-gray-id': 'BETA' }, 'stable'],
  ['header gamma (unknown)', { 'x-gray-id': 'gamma' }, 'stable'],
  ['header betamax (prefix trick)', { 'x-gray-id': 'betamax' }, 'stable'],
  ['header "beta, stable" (two values joined)', { 'x-gray-id': 'beta, stable' }, 'stable'],
  [
    'invalid header falls through to a valid cookie',
    { 'x-gray-id': 'gamma', cookie: 'gray=beta' },
    'beta',
  ],
  ['cookie gray=beta', { cookie: 'a=1; gray=beta' }, 'beta'],
  ['cookie without a space after ;', { cookie: 'a=1;gray=beta' }, 'beta'],
  [
    'cookie __Host-gray=beta (what the browser writes on https)',
    { cookie: '__Host-gray=beta' },
    'beta',
  ],
  ['__Host-gray wins over gray', { cookie: '__Host-gray=beta; gray=stable' }, 'beta'],
  [
    '__Host-gray wins over gray, whatever the order in the header',
    { cookie: 'gray=stable; x=1; __Host-gray=beta' },
    'beta',
  ],
  // Core's firstCookie (issue 15, CK-02): a present __Host-gray, even invalid, hides gray.
  ['invalid __Host-gray hides gray', { cookie: '__Host-gray=gamma; gray=beta' }, 'stable'],
  [
    'gray twice with different values (tossed): ambiguous',
    { cookie: 'gray=beta; gray=stable' },
    'stable',
  ],
  [
    'gray twice with different values, apart',
    { cookie: 'gray=beta; other=1; gray=stable' },
    'stable',
  ],
  ['gray twice with the same value', { cookie: 'gray=beta; gray=beta' }, 'beta'],
  [
    'gray twice, the second one longer (beta, betax)',
    { cookie: 'gray=beta; gray=betax' },
    'stable',
  ],
  [
    '__Host-gray twice with different values (ambiguous) hides gray',
    { cookie: '__Host-gray=beta; __Host-gray=stable; gray=beta' },
    'stable',
  ],
  [
    '__Host-gray twice, no gray: default',
    { cookie: '__Host-gray=beta; __Host-gray=stable' },
    'stable',
  ],
  ['cookie name prefix trick (xgray)', { cookie: 'xgray=beta' }, 'stable'],
  ['cookie name suffix trick (gray_uid)', { cookie: 'gray_uid=beta' }, 'stable'],
  ['quoted cookie value', { cookie: 'gray="beta"' }, 'beta'],
  ['cookie beta.x', { cookie: 'gray=beta.x' }, 'stable'],
  [
    'percent-encoded cookie (not decoded by nginx: default, and the upstream is told so)',
    { cookie: 'gray=%62eta' },
    'stable',
  ],
  ['cookie value with trailing space', { cookie: 'gray=beta ; a=1' }, 'beta'],
  // BC-02 (review 128 D1): on https with `cookie.domain` the browser writes `__Secure-gray`; read
  // after `__Host-gray`, before `gray`, as the servers read it.
  ['cookie __Secure-gray=beta (https + cookie.domain)', { cookie: '__Secure-gray=beta' }, 'beta'],
  ['__Secure-gray among other cookies', { cookie: 'a=1; __Secure-gray=beta; b=2' }, 'beta'],
  ['__Secure-gray wins over gray', { cookie: 'gray=stable; __Secure-gray=beta' }, 'beta'],
  [
    '__Host-gray wins over __Secure-gray',
    { cookie: '__Secure-gray=stable; __Host-gray=beta' },
    'beta',
  ],
  ['invalid __Secure-gray hides gray', { cookie: '__Secure-gray=gamma; gray=beta' }, 'stable'],
  ['__Secure-gray twice, same value', { cookie: '__Secure-gray=beta; __Secure-gray=beta' }, 'beta'],
  [
    '__Secure-gray twice with different values (ambiguous) hides gray',
    { cookie: '__Secure-gray=beta; __Secure-gray=stable; gray=beta' },
    'stable',
  ],
  ['quoted __Secure-gray', { cookie: '__Secure-gray="beta"' }, 'beta'],
  ['__Secure-grayx is not __Secure-gray', { cookie: '__Secure-grayx=beta' }, 'stable'],
];

/** signed trust: tokens only, routed on their version part, forwarded unchanged; nothing else forwarded. */
const SIGNED: readonly (readonly [...Row, forwarded: string | null])[] = [
  ['no marker', {}, 'stable', null],
  ['header token beta', { 'x-gray-id': token('beta') }, 'beta', token('beta')],
  ['header token stable', { 'x-gray-id': token('stable') }, 'stable', token('stable')],
  ['plain label in signed mode (untrusted)', { 'x-gray-id': 'beta' }, 'stable', null],
  ['beta.x', { 'x-gray-id': 'beta.x' }, 'stable', null],
  [
    'token with a 42-character signature',
    { 'x-gray-id': token('beta', 'A'.repeat(42)) },
    'stable',
    null,
  ],
  ['token for an unknown version', { 'x-gray-id': token('gamma') }, 'stable', null],
  [
    'token with a 13-digit expiry',
    { 'x-gray-id': `beta.1900000000000.qa.${'A'.repeat(43)}` },
    'stable',
    null,
  ],
  ['token cookie __Host-gray', { cookie: `__Host-gray=${token('beta')}` }, 'beta', token('beta')],
  ['token cookie gray', { cookie: `a=1; gray=${token('beta')}` }, 'beta', token('beta')],
  [
    'invalid header, token cookie: the token is forwarded, the header is not',
    { 'x-gray-id': 'beta', cookie: `gray=${token('beta')}` },
    'beta',
    token('beta'),
  ],
  [
    'token cookie __Secure-gray',
    { cookie: `a=1; __Secure-gray=${token('beta')}` },
    'beta',
    token('beta'),
  ],
  [
    'plain __Secure-gray label in signed mode hides a token gray',
    { cookie: `__Secure-gray=beta; gray=${token('beta')}` },
    'stable',
    null,
  ],
  [
    'two different token cookies (tossed)',
    { cookie: `gray=${token('beta')}; gray=${token('stable')}` },
    'stable',
    null,
  ],
];

/** `--cookie lane`: the three names of a custom base name, and the default's names not read. */
const CUSTOM: readonly Row[] = [
  ['__Secure-lane=beta', { cookie: '__Secure-lane=beta' }, 'beta'],
  ['__Host-lane=beta', { cookie: 'a=1; __Host-lane=beta' }, 'beta'],
  ['lane=beta', { cookie: 'lane=beta' }, 'beta'],
  ['__Secure-lane wins over lane', { cookie: 'lane=stable; __Secure-lane=beta' }, 'beta'],
  [
    '__Host-lane wins over __Secure-lane',
    { cookie: '__Secure-lane=stable; __Host-lane=beta' },
    'beta',
  ],
  ['__Secure-gray is not a lane cookie', { cookie: '__Secure-gray=beta' }, 'stable'],
];

describe.skipIf(!NGINX)(
  'render nginx: real nginx, header and the cookies the browser writes',
  () => {
    let open: Nginx;
    let signed: Nginx;
    let lane: Nginx;
    beforeAll(async () => {
      const ports = { stable: await upstream('stable'), beta: await upstream('beta') };
      const args = [
        CONFIG,
        '--upstream',
        `stable=127.0.0.1:${ports.stable}`,
        '--upstream',
        `beta=127.0.0.1:${ports.beta}`,
      ];
      open = await startNginx(args);
      signed = await startNginx([...args, '--trust', 'signed']);
      lane = await startNginx([...args, '--cookie', 'lane']);
    }, 60_000);
    afterAll(async () => {
      stopAllNginx();
      await Promise.all(upstreams.map((s) => new Promise((r) => s.close(r))));
    });

    it.each(OPEN)(
      'open: %s → %s, and the upstream is told exactly that lane',
      async (_n, headers, lane) => {
        const r = await get(open, headers);
        expect(r.body.served).toBe(lane);
        expect(r.route).toBe(lane);
        expect(r.body.markers).toEqual([lane]); // one X-Gray-Id, equal to the routed lane
      },
    );

    it.each(SIGNED)('signed: %s → %s; forwarded: %s', async (_n, headers, lane, forwarded) => {
      const r = await get(signed, headers);
      expect(r.body.served).toBe(lane);
      expect(r.route).toBe(lane);
      expect(r.body.markers).toEqual(forwarded === null ? [] : [forwarded]);
      // Whatever is forwarded names the lane it was routed to.
      for (const m of r.body.markers) expect(m.split('.')[0]).toBe(lane);
    });

    // BC-02 with a custom `cookie.name` (`--cookie lane`): the browser writes `__Host-lane`,
    // `__Secure-lane` or `lane`, and the gateway reads them in that order.
    it.each(CUSTOM)(
      '--cookie lane: %s → %s, and the upstream is told exactly that lane',
      async (_n, headers, want) => {
        const r = await get(lane, headers);
        expect(r.body.served).toBe(want);
        expect(r.route).toBe(want);
        expect(r.body.markers).toEqual([want]);
      },
    );

    it('the generated configs pass nginx -t', async () => {
      for (const n of [open, signed, lane]) {
        const out = await new Promise<string>((resolve) =>
          execFile(
            NGINX as string,
            ['-t', '-p', n.dir, '-c', join(n.dir, 'nginx.conf')],
            (_e, so, se) => resolve(so + se),
          ),
        );
        expect(out).toMatch(/test is successful/);
      }
    });
  },
);
