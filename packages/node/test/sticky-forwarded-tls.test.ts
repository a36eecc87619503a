// BC-03 behind a TLS-terminating proxy: the sticky cookie a site writes when its load balancer
// ends TLS. `X-Forwarded-Proto: https` from a peer in `trustedProxies` counts as TLS (`Secure`
// and the `__Host-` name, the cookie the browser SDK writes on the same https origin); from any
// other peer, or with any other value, it is ignored. Real servers on loopback.
import { afterAll, describe, expect, it } from 'vitest';
import { closeAll, decisionServer } from './helpers.js';

afterAll(closeAll);

const config = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [{ id: 'all', split: [{ version: 'beta', weight: 100 }], bucketBy: 'cookie:gray_uid' }],
};

const PROXIES: [string, readonly string[] | undefined, boolean][] = [
  ['loopback trusted', ['127.0.0.1'], true],
  ['loopback trusted by CIDR', ['127.0.0.0/8'], true],
  ['loopback trusted as IPv6-mapped', ['::1', '127.0.0.1/32'], true],
  ['another network trusted', ['10.0.0.0/8'], false],
  ['no trustedProxies', undefined, false],
];
const PROTOS: [string, string | undefined, boolean][] = [
  ['https', 'https', true],
  ['HTTPS', 'HTTPS', true],
  ['https with spaces', '  https ', true],
  // The last value is the trusted peer's own (a proxy that appends keeps the client's first).
  ['a client https before the proxy http', 'https, http', false],
  ['the proxy https last', 'http, https', true],
  ['three values, https last', 'http,http , https', true],
  ['http', 'http', false],
  ['wss', 'wss', false],
  ['empty', '', false],
  ['httpsx', 'httpsx', false],
  ['absent', undefined, false],
  ['over 256 bytes, https last', `${'http,'.repeat(60)}https`, false],
];
const TRUST = [
  ['open', {}],
  ['signed', { trust: 'signed' as const, keys: { k1: 'a-signing-key-of-32-bytes-long!!' } }],
] as const;

const ROWS = TRUST.flatMap(([t, trust]) =>
  PROXIES.flatMap(([p, proxies, trusted]) =>
    PROTOS.map(
      ([name, proto, https]) => [t, p, name, trust, proxies, proto, trusted && https] as const,
    ),
  ),
);

describe('BC-03 sticky cookies behind a TLS-terminating proxy', () => {
  it.each(ROWS)(
    '%s, %s, X-Forwarded-Proto %s',
    async (_t, _p, _n, trust, proxies, proto, secure) => {
      const s = await decisionServer({
        config,
        sticky: true,
        ...trust,
        ...(proxies ? { trustedProxies: proxies } : {}),
      });
      const res = await fetch(`${s.url}/`, {
        headers: proto === undefined ? {} : { 'x-forwarded-proto': proto },
      });
      await res.text();
      const version = res.headers.getSetCookie().find((c) => /^(__Host-)?gray=/.test(c));
      expect(version, 'a version cookie').toBeDefined();
      if (secure) {
        expect(version).toMatch(/^__Host-gray=beta[;.]/);
        expect(version).toMatch(/; Secure/);
        expect(version).toMatch(/; Path=\//);
        expect(version).not.toMatch(/Domain=/i);
      } else {
        expect(version).toMatch(/^gray=beta[;.]/);
        expect(version).not.toMatch(/Secure/);
      }
    },
  );

  it('sticky.secure: false stays unsecured behind a trusted https proxy', async () => {
    const s = await decisionServer({
      config,
      sticky: { secure: false },
      trustedProxies: ['127.0.0.1'],
    });
    const res = await fetch(`${s.url}/`, { headers: { 'x-forwarded-proto': 'https' } });
    await res.text();
    const version = res.headers.getSetCookie().find((c) => /^(__Host-)?gray=/.test(c));
    expect(version).toMatch(/^gray=beta;/);
    expect(version).not.toMatch(/Secure/);
  });
});
