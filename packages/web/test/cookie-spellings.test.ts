import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, type WebGraylaneOptions } from '../src/index.js';
import { bundleWorker } from './support/bundle.js';
import type { Served } from './support/process.js';
import { startWorkerd } from './support/workerd.js';

/**
 * CK-08 / CK-10 / CK-11, GW-02 on the Web engine (reviews 157 D4, 158 D1). workerd joins two
 * `Cookie` lines with `, ` where Node, Deno and Bun use `; `: `a=1` + `gray=beta` decided
 * `stable/default` there and `beta/cookie` elsewhere, two identical lines `invalid_marker`. The
 * readers now end a pair at `,` as at `;`, so every runtime decides alike; and what graylane does
 * not honour — `GRAY=beta`, `a=1,gray=beta` — is gone from what the handler
 * and the upstream see, the other pairs byte for byte. Rows named `(control)` held before.
 */
const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
const MODES: [string, Partial<WebGraylaneOptions>][] = [
  ['edge', { trust: 'edge' }],
  ['signed', { trust: 'signed', keys: { k1: 'a-web-signing-key-of-32-bytes!!!' } }],
  ['open', {}],
];
const KEEP = 'k=1;sid="a b";  t=x%2Cy';
/** [row, Cookie header, what the handler and upstream get, read (and kept) in open mode]. */
const SHAPES: [string, string, string | null, boolean][] = [
  ['CK-10 GRAY', `${KEEP}; GRAY=beta; z=2`, `${KEEP}; z=2`, false],
  ['CK-10 __HOST-GRAY', `${KEEP}; __HOST-GRAY=beta`, KEEP, false],
  ['CK-10 alone', 'Gray=beta', null, false],
  ['CK-08 workerd-joined lines', `${KEEP}, gray=beta`, KEEP, true],
  ['CK-08 ","', `${KEEP}; a=1,gray=beta; z=2`, `${KEEP}; a=1; z=2`, true],
  // A `gray=` inside another cookie's value is that cookie's data (review 165 D3).
  ['(control) a=1 gray=beta', `${KEEP}; a=1 gray=beta`, `${KEEP}; a=1 gray=beta`, false],
  [
    '(control) a JSON value with a comma before ?gray=',
    `${KEEP}; cart={"items":[1,2],"from":"/p?gray=beta"}`,
    `${KEEP}; cart={"items":[1,2],"from":"/p?gray=beta"}`,
    false,
  ],
  ['GW-02 exact, the rest byte for byte', `${KEEP}; gray=beta; z=2`, `${KEEP}; z=2`, true],
];

describe('GW-02 the Web engine hands on no cookie spelling of the marker', () => {
  const rows = MODES.flatMap(([m, o]) => SHAPES.map((s) => [m, s[0], o, s] as const));
  it.each(rows)('GW-02 %s · %s: handle(), forwardRequest', async (mode, _n, o, shape) => {
    const [, cookie, rest, read] = shape;
    const gray = createGraylane({ config, ...o } as WebGraylaneOptions);
    const make = () => new Request('https://app.example/p', { headers: { cookie } });
    const honoured = mode === 'open' && read;
    const app = await gray.handle(make(), (r) => new Response(r.headers.get('cookie') ?? 'null'));
    expect(await app.text(), 'handle()').toBe(honoured ? cookie : String(rest));
    const outcome = await gray.decide(make());
    expect(outcome.decision.version).toBe(honoured ? 'beta' : 'stable');
    const up = gray.forwardRequest(make(), outcome, 'https://up.internal/p');
    // forwardRequest removes every carrier and writes the decision in the marker header.
    expect(up.headers.get('cookie'), 'forwardRequest').toBe(rest);
    expect(up.headers.get('x-gray-id')).toBe(honoured ? 'beta' : 'stable');
  });
});

const WORKER = `import { createGraylane } from '@graylane/web';
const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
const engines = { open: createGraylane({ config }), edge: createGraylane({ config, trust: 'edge' }) };
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/health') return new Response('ok');
    const gray = engines[url.searchParams.get('trust')];
    const outcome = await gray.decide(request);
    const seen = await gray.handle(request, (r) => new Response(r.headers.get('cookie')));
    return Response.json({
      version: outcome.decision.version,
      reason: outcome.decision.reason,
      handler: seen.status === 200 ? await seen.text() : null,
    });
  },
};
`;
/** One raw HTTP/1.1 request with the `Cookie` lines as given; the JSON body. */
function send(origin: string, path: string, cookies: string[]): Promise<Record<string, unknown>> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const lines = [`GET ${path} HTTP/1.1`, `Host: ${hostname}:${port}`];
    const s = net.connect(Number(port), hostname, () =>
      s.write(
        `${[...lines, ...cookies.map((c) => `Cookie: ${c}`)].join('\r\n')}\r\nConnection: close\r\n\r\n`,
      ),
    );
    let data = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (data += d));
    s.on('end', () => {
      const body = data.slice(data.indexOf('\r\n\r\n') + 4);
      try {
        resolve(JSON.parse(body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1)));
      } catch (e) {
        reject(new Error(`${String(e)}: ${data}`));
      }
    });
    s.on('error', reject);
  });
}

describe('CK-08 workerd decides two Cookie lines as Node, Deno and Bun do', () => {
  let dir = '';
  let workerd: Served | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graylane-web-cookie-'));
    const resolveDir = fileURLToPath(new URL('.', import.meta.url));
    writeFileSync(
      join(dir, 'worker.mjs'),
      await bundleWorker({ contents: WORKER, resolveDir }, 'esm', 'W'),
    );
    workerd = await startWorkerd(dir, { internet: false });
  }, 60_000);
  afterAll(async () => {
    await workerd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** [row, Cookie lines, mode, version, what the handler sees]. */
  const LINES: [string, string[], string, string, string | null][] = [
    ['a=1 then gray=beta', ['a=1', 'gray=beta'], 'open', 'beta', 'a=1, gray=beta'],
    ['gray=beta twice', ['gray=beta', 'gray=beta'], 'open', 'beta', 'gray=beta, gray=beta'],
    [
      'gray=beta then gray=canary (ambiguous)',
      ['gray=beta', 'gray=canary'],
      'open',
      'stable',
      null,
    ],
    ['a=1 then gray=beta', ['a=1', 'gray=beta'], 'edge', 'stable', 'a=1'],
    ['a=1 then GRAY=beta', ['a=1', 'GRAY=beta'], 'open', 'stable', 'a=1'],
    ['(control) one line a=1; gray=beta', ['a=1; gray=beta'], 'open', 'beta', 'a=1; gray=beta'],
  ];
  it.each(LINES.map((r) => [`${r[0]} (${r[2]})`, ...r.slice(1)] as typeof r))(
    'CK-08 workerd · %s',
    async (_n, lines, trust, version, handler) => {
      const got = await send(workerd?.origin as string, `/?trust=${trust}`, lines);
      expect(got['version']).toBe(version);
      if (handler !== null) expect(got['handler']).toBe(handler);
      else expect(String(got['handler'])).not.toMatch(/gray=/i);
    },
  );
});
