// MISC-04: what docs/security.md and docs/node.md promise about the query marker in signed mode
// and cookie tossing on a first visit, one test per promise, on real servers.
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayDecision, signMarker, type GraylaneOptions } from '../src/index.js';
import { CONFIG, closeAll, listen } from './helpers.js';

afterAll(closeAll);

const KEY = 'a-signing-key-of-at-least-32-byte';
const keys = { k1: KEY };
const token = (v: string) => signMarker(v, { key: KEY, kid: 'k1', ttlSeconds: 600 });

async function server(options: Partial<GraylaneOptions>) {
  const gray = createGraylane({ config: CONFIG, sticky: true, ...options });
  const s = http.createServer((req, res) =>
    gray.handle(req, res, () => {
      res.end(JSON.stringify({ decision: getGrayDecision(), cookie: req.headers.cookie ?? null }));
    }),
  );
  return listen(s);
}

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const body = (await res.json()) as {
    decision: { version: string; source: string; reason: string };
    cookie: string | null;
  };
  const written = res.headers.getSetCookie().filter((c) => /^(__Host-)?gray=/.test(c));
  return { ...body, written };
}

describe('MISC-04 query marker in signed mode', () => {
  const params = ['gray', 'qa', 'lane'];
  it.each(params)('MISC-04 a token in ?%s= is ignored unless markers.query names it', async (p) => {
    const off = await server({ trust: 'signed', keys });
    const out = await get(`${off.url}/?${p}=${token('beta')}`);
    expect(out.decision).toMatchObject({ version: 'stable', reason: 'default' });
    const on = await server({ trust: 'signed', keys, markers: { query: p } });
    expect((await get(`${on.url}/?${p}=${token('beta')}`)).decision).toMatchObject({
      version: 'beta',
      source: 'query',
    });
    // A bare label in the query is never trusted in signed mode, named or not.
    expect((await get(`${on.url}/?${p}=beta`)).decision.version).toBe('stable');
  });

  it('MISC-04 open mode reads ?gray= by default; markers.query false turns it off', async () => {
    const open = await server({});
    expect((await get(`${open.url}/?gray=beta`)).decision.version).toBe('beta');
    const off = await server({ markers: { query: false } });
    expect((await get(`${off.url}/?gray=beta`)).decision.version).toBe('stable');
  });
});

describe('MISC-04 cookie tossing on a first visit', () => {
  const cases = [
    { mode: 'open', cookie: 'gray=beta', version: 'beta', appSees: 'gray=beta' },
    { mode: 'signed', cookie: 'gray=beta', version: 'stable', appSees: null },
    { mode: 'signed', cookie: `gray=${token('beta')}`, version: 'beta', appSees: 'gray=beta' },
    { mode: 'edge', cookie: 'gray=beta', version: 'stable', appSees: null },
    { mode: 'edge', cookie: 'gray=beta; other=1', version: 'stable', appSees: 'other=1' },
  ] as const;
  it.each(cases)(
    'MISC-04 $mode, planted "$cookie": served $version, never renewed',
    async ({ mode, cookie, version, appSees }) => {
      const s = await server({
        trust: mode,
        ...(mode === 'signed' ? { keys } : {}),
      });
      const out = await get(s.url, { cookie });
      expect(out.decision.version).toBe(version);
      expect(out.cookie).toBe(appSees);
      // A planted cookie that was honoured is read, not rewritten; one that was ignored is
      // replaced from the rules only (never by the planted value).
      if (out.decision.source === 'cookie') expect(out.written).toEqual([]);
      for (const w of out.written) expect(w).not.toMatch(/^gray=beta/);
    },
  );

  it.each(['open', 'signed'] as const)(
    'MISC-04 %s: once __Host-gray exists, a planted gray is not read',
    async (mode) => {
      const s = await server({ trust: mode, ...(mode === 'signed' ? { keys } : {}) });
      const mine = mode === 'signed' ? token('stable') : 'stable';
      const planted = mode === 'signed' ? token('beta') : 'beta';
      for (const order of [
        `__Host-gray=${mine}; gray=${planted}`,
        `gray=${planted}; __Host-gray=${mine}`,
      ]) {
        const out = await get(s.url, { cookie: order });
        expect(out.decision).toMatchObject({ version: 'stable', source: 'cookie' });
        expect(out.written).toEqual([]);
      }
    },
  );
});
