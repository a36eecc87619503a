// BC-02 (review 128 D1) on the Web engine: the browser SDK writes `__Secure-<name>` on https with
// `cookie.domain`. `createGraylane` reads it (after `__Host-`, before the plain name) in every
// trust mode, for the default and a custom `markers.cookie`; the app (`handle()`), an upstream
// (`forwardRequest`) and `stripCarriers` never see a marker pair that did not decide — with the
// carrier switched off too, under its default names.
import { describe, expect, it } from 'vitest';
import { createGraylane, signMarker, type WebGraylaneOptions } from '../src/index.js';

const KEY = 'a-web-signing-key-of-32-bytes!!!';
const config = { versions: ['stable', 'beta', 'canary'], default: 'stable' };

type Trust = 'open' | 'signed' | 'edge, untrusted peer' | 'edge, trusted peer';
const TRUSTS: Record<Trust, Partial<WebGraylaneOptions>> = {
  open: {},
  signed: { trust: 'signed', keys: { k1: KEY } },
  'edge, untrusted peer': { trust: 'edge', trustedProxies: ['10.0.0.0/8'] },
  'edge, trusted peer': { trust: 'edge', trustedProxies: ['10.0.0.0/8'] },
};

type Row = [string, (H: string, S: string, P: string) => string, string];
const ROWS: Row[] = [
  ['S alone', (_H, S) => `${S}=beta`, 'beta'],
  ['S among other cookies', (_H, S) => `a=1; ${S}=beta; b=2`, 'beta'],
  ['S twice, same value', (_H, S) => `${S}=beta; ${S}=beta`, 'beta'],
  ['S twice, values differ', (_H, S) => `${S}=beta; ${S}=canary`, 'stable'],
  ['S before P, P first in the header', (_H, S, P) => `${P}=beta; ${S}=canary`, 'canary'],
  ['H before S, S first in the header', (H, S) => `${S}=canary; ${H}=beta`, 'beta'],
  ['an invalid S hides P', (_H, S, P) => `${S}=gamma; ${P}=beta`, 'stable'],
  ['P alone (control)', (_H, _S, P) => `${P}=beta`, 'beta'],
];

async function signed(cookie: string): Promise<string> {
  let out = cookie;
  for (const v of ['beta', 'canary', 'stable'])
    out = out.replaceAll(`=${v}`, `=${await signMarker(v, { key: KEY, kid: 'k1' })}`);
  return out;
}

/** The marker pairs left in a request's `Cookie` header. */
function pairs(request: Request, names: readonly string[]): string[] {
  return (request.headers.get('cookie') ?? '')
    .split(';')
    .map((p) => p.trim())
    .filter((p) => names.includes(p.slice(0, p.indexOf('='))));
}

describe('BC-02 @graylane/web createGraylane: __Secure-<name> is read, judged and removed', () => {
  for (const [nameLabel, markers, base] of [
    ['default name', undefined, 'gray'],
    ['custom markers.cookie "lane"', { cookie: 'lane' }, 'lane'],
  ] as const) {
    const names = [`__Host-${base}`, `__Secure-${base}`, base] as const;
    for (const trust of Object.keys(TRUSTS) as Trust[]) {
      it.each(ROWS)(`${nameLabel}, ${trust}: %s`, async (_label, make, lane) => {
        const gray = createGraylane({
          config,
          ...TRUSTS[trust],
          ...(markers ? { markers } : {}),
        } as WebGraylaneOptions);
        const raw = make(...names);
        const cookie = trust === 'signed' ? await signed(raw) : raw;
        const request = () =>
          new Request('https://app.example/p', { headers: { cookie, 'x-keep': 'k' } });
        const context = {
          remoteAddress: trust === 'edge, untrusted peer' ? '192.0.2.1' : '10.0.0.1',
        };
        const want = trust === 'edge, untrusted peer' ? 'stable' : lane;
        const kept = (p: string) => p.slice(p.indexOf('=') + 1).split('.')[0];

        let seen: string[] = [];
        await gray.handle(
          request(),
          (req, outcome) => {
            expect(outcome.decision.version).toBe(want);
            if (want !== 'stable') expect(outcome.decision.source).toBe('cookie');
            seen = pairs(req, names);
            return new Response('ok');
          },
          context,
        );
        if (want === 'stable' || trust.startsWith('edge, untrusted')) expect(seen).toEqual([]);
        for (const p of seen) expect(kept(p), p).toBe(want);

        const outcome = await gray.decide(request(), context);
        expect(outcome.decision.version).toBe(want);
        const forwarded = gray.forwardRequest(request(), outcome, 'https://up.internal/p');
        expect(forwarded.headers.get('x-gray-id')?.split('.')[0]).toBe(want);
        expect(pairs(forwarded, names)).toEqual([]);
        expect(forwarded.headers.get('x-keep')).toBe('k');
        expect(pairs(gray.stripCarriers(request()), names)).toEqual([]);
      });
    }
  }

  it.each([
    ['__Secure-gray=beta'],
    ['a=1; __Secure-gray=canary; b=2'],
    ['__Host-gray=beta; __Secure-gray=canary; gray=stable'],
  ])('GW-02 markers.cookie false: %s is removed under the default names', async (cookie) => {
    for (const trust of ['open', 'edge'] as const) {
      const gray = createGraylane({ config, trust, markers: { cookie: false } });
      const request = () => new Request('https://app.example/', { headers: { cookie } });
      const names = ['__Host-gray', '__Secure-gray', 'gray'];
      let seen: string[] = ['(not called)'];
      await gray.handle(request(), (req) => {
        seen = pairs(req, names);
        return new Response('ok');
      });
      expect(seen).toEqual([]);
      const outcome = await gray.decide(request());
      expect(outcome.decision.version).toBe('stable');
      expect(pairs(gray.forwardRequest(request(), outcome), names)).toEqual([]);
      expect(pairs(gray.stripCarriers(request()), names)).toEqual([]);
    }
  });
});
