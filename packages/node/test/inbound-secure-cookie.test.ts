// BC-02 (review 128 D1) over a real node:http server: the browser SDK writes `__Secure-<name>` on
// https with `cookie.domain` (`__Host-<name>` without, `<name>` on http). A page load carrying
// only that cookie keeps its lane; `__Host-` is read before it and the plain name after; in edge
// mode the app never sees it from an untrusted peer; a custom `markers.cookie` reads the same
// three names and the sticky cookie on TLS is `__Host-<name>`.
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { createGraylane, getGrayDecision, signMarker, type GraylaneOptions } from '../src/index.js';
import { CONFIG, closeAll, listen, rawBody, rawRequest, splitConfig } from './helpers.js';

afterEach(closeAll);

const KEY = 'a-signing-key-of-at-least-32-byte';
const LOCAL = ['127.0.0.1', '::ffff:127.0.0.1'];

interface Seen {
  decision: { version: string; source: string; rejected?: { reason: string } };
  cookie: string | null;
}

async function server(options: Partial<GraylaneOptions>) {
  const gray = createGraylane({ config: CONFIG, ...options });
  const s = http.createServer((req, res) =>
    gray.handle(req, res, () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ decision: getGrayDecision(), cookie: req.headers.cookie ?? null }));
    }),
  );
  return listen(s);
}

/** A GET with each entry of `cookies` on its own `Cookie:` line (CK-08). */
async function get(port: number, cookies: readonly string[], extra = ''): Promise<[Seen, string]> {
  const lines = cookies.map((c) => `Cookie: ${c}\r\n`).join('');
  const raw = await rawRequest(
    port,
    `GET / HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n${extra}${lines}\r\n`,
  );
  return [rawBody(raw) as Seen, raw];
}

type Trust = 'open' | 'signed' | 'edge, untrusted peer' | 'edge, trusted peer';
const TRUSTS: Record<Trust, Partial<GraylaneOptions>> = {
  open: {},
  signed: { trust: 'signed', keys: { k1: KEY } },
  'edge, untrusted peer': { trust: 'edge' },
  'edge, trusted peer': { trust: 'edge', trustedProxies: LOCAL },
};

// [label, cookie lines over (H, S, P), lane in open mode]
type Row = [string, (H: string, S: string, P: string) => string[], string];
const ROWS: Row[] = [
  ['S alone', (_H, S) => [`${S}=beta`], 'beta'],
  ['S among other cookies', (_H, S) => [`a=1; ${S}=beta; b=2`], 'beta'],
  ['S on a second Cookie line', (_H, S) => ['a=1', `${S}=beta`], 'beta'],
  ['S twice, same value', (_H, S) => [`${S}=beta`, `${S}=beta`], 'beta'],
  ['S twice, values differ', (_H, S) => [`${S}=beta; ${S}=canary`], 'stable'],
  ['S before P, P first in the header', (_H, S, P) => [`${P}=beta; ${S}=canary`], 'canary'],
  ['H before S, S first in the header', (H, S) => [`${S}=canary; ${H}=beta`], 'beta'],
  ['an invalid S hides P', (_H, S, P) => [`${S}=gamma; ${P}=beta`], 'stable'],
  ['P alone (control)', (_H, _S, P) => [`${P}=beta`], 'beta'],
];

const sign = (line: string) =>
  line.replace(
    /=(beta|canary|stable)(?=;|$)/g,
    (_m, v: string) => `=${signMarker(v, { key: KEY, kid: 'k1' })}`,
  );

describe('BC-02 node:http: __Secure-<name> is read, judged and removed like the other names', () => {
  for (const [nameLabel, markers, base] of [
    ['default name', undefined, 'gray'],
    ['custom markers.cookie "lane"', { cookie: 'lane' }, 'lane'],
  ] as const) {
    const [H, S, P] = [`__Host-${base}`, `__Secure-${base}`, base];
    for (const trust of Object.keys(TRUSTS) as Trust[]) {
      it.each(ROWS)(`${nameLabel}, ${trust}: %s`, async (_label, make, lane) => {
        const s = await server({ ...TRUSTS[trust], ...(markers ? { markers } : {}) });
        const lines = trust === 'signed' ? make(H, S, P).map(sign) : make(H, S, P);
        const [seen] = await get(s.port, lines);
        const untrusted = trust === 'edge, untrusted peer';
        const want = untrusted ? 'stable' : lane;
        expect(seen.decision.version).toBe(want);
        if (want !== 'stable') expect(seen.decision.source).toBe('cookie');
        const pairs = (seen.cookie ?? '')
          .split(';')
          .map((p) => p.trim())
          .filter((p) => [H, S, P].includes(p.slice(0, p.indexOf('='))));
        if (untrusted) expect(pairs).toEqual([]);
        else for (const p of pairs) expect(p.slice(p.indexOf('=') + 1).split('.')[0], p).toBe(want);
      });
    }
  }

  it.each([
    [undefined, '__Host-gray'],
    [{ cookie: 'lane' }, '__Host-lane'],
  ] as const)(
    'sticky on TLS (markers %j) writes %s, and the next page load reads it back',
    async (markers, name) => {
      const s = await server({
        config: splitConfig(100, 'header:x-user'),
        sticky: { secure: true, httpOnly: false },
        ...(markers ? { markers } : {}),
      });
      const [first, raw] = await get(s.port, [], 'X-User: u-1\r\n');
      expect(first.decision.version).toBe('beta');
      const set = /^set-cookie: ([^;\r]+)/im.exec(raw)?.[1];
      expect(set).toBe(`${name}=beta`);
      // A QA choice the page wrote with cookie.domain (`__Secure-`), with no server cookie yet.
      const [qa] = await get(s.port, [`__Secure-${name.slice(7)}=stable`], 'X-User: u-1\r\n');
      expect(qa.decision).toMatchObject({ version: 'stable', source: 'cookie' });
    },
  );
});
