import { describe, expect, it } from 'vitest';
import {
  createConfigStore,
  createStatusEndpoint,
  isLoopbackAddress,
  statusRequestFromFetch,
  type StatusEndpointOptions,
  type StatusRequest,
} from '../src/index.js';

const TOKEN = 'tok_0123456789abcdefABCDEF-._~+/';
const NONCE = 'bm9uY2Utbm9uY2Utbm9uY2U=';

function endpoint(extra: Partial<StatusEndpointOptions> = {}) {
  const store = createConfigStore({ initial: { versions: ['stable', 'beta'], default: 'stable' } });
  let nonces = 0;
  return createStatusEndpoint({
    store,
    enabled: true,
    randomNonce: () => `random-nonce-${String(++nonces).padStart(6, '0')}`,
    ...extra,
  });
}

const local: StatusRequest = {
  method: 'GET',
  path: '/graylane/status',
  remoteAddress: '127.0.0.1',
  host: '127.0.0.1:8080',
  authorization: [],
  proxied: false,
};

describe('status endpoint: off by default', () => {
  it.each([
    ['enabled omitted', {}],
    ['enabled: false', { enabled: false }],
  ])('%s: nothing is served, for any path, peer or token', (_n, extra) => {
    const e = createStatusEndpoint({
      store: createConfigStore({ initial: { versions: ['stable'], default: 'stable' } }),
      randomNonce: () => NONCE,
      token: TOKEN,
      ...extra,
    });
    for (const path of ['/graylane/status', '/graylane/status/status.json', '/']) {
      expect(e.handle({ ...local, path, authorization: [`Bearer ${TOKEN}`] })).toBeUndefined();
    }
  });
});

describe('status endpoint: loopback-only without a token', () => {
  it.each([
    '127.0.0.1',
    '127.255.10.3',
    '::1',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
    '::FFFF:127.0.0.2',
  ])('peer %s is served', (remoteAddress) => {
    expect(endpoint().handle({ ...local, remoteAddress })?.status).toBe(200);
    expect(isLoopbackAddress(remoteAddress)).toBe(true);
  });

  it.each([
    '10.0.0.1',
    '192.168.1.20',
    '::ffff:10.0.0.1',
    '128.0.0.1',
    '126.255.255.255',
    '127.0.0.256',
    '127.0.0.1.evil.example',
    'x127.0.0.1',
    '::2',
    'fe80::1',
    '::ffff:128.0.0.1',
    '',
    undefined,
  ])('peer %s gets 404, as if nothing were here', (remoteAddress) => {
    const answer = endpoint().handle({ ...local, remoteAddress });
    expect(answer?.status).toBe(404);
    expect(answer?.body).not.toContain('graylane');
    expect(isLoopbackAddress(remoteAddress)).toBe(false);
  });

  it('a loopback peer that came through a proxy (proxy headers present) gets 404', () => {
    expect(endpoint().handle({ ...local, proxied: true })?.status).toBe(404);
  });

  it('a bearer header does not open a loopback-only endpoint to a remote peer', () => {
    const answer = endpoint().handle({
      ...local,
      remoteAddress: '10.0.0.1',
      authorization: [`Bearer ${TOKEN}`],
    });
    expect(answer?.status).toBe(404);
  });
});

describe('status endpoint: bearer token', () => {
  const cases: [string, string[], number][] = [
    ['right', [`Bearer ${TOKEN}`], 200],
    ['right, lower-case scheme', [`bearer ${TOKEN}`], 200],
    ['right, upper-case scheme', [`BEARER ${TOKEN}`], 200],
    ['right, extra spaces', [`Bearer   ${TOKEN}  `], 200],
    ['absent', [], 401],
    ['empty', [''], 401],
    ['scheme only', ['Bearer'], 401],
    ['scheme and space', ['Bearer '], 401],
    ['wrong', ['Bearer tok_0123456789abcdefABCDEF-._~+X'], 401],
    ['a prefix of the token', [`Bearer ${TOKEN.slice(0, -1)}`], 401],
    ['the token plus one character', [`Bearer ${TOKEN}x`], 401],
    ['the token twice', [`Bearer ${TOKEN}${TOKEN}`], 401],
    ['case changed', [`Bearer ${TOKEN.toUpperCase()}`], 401],
    ['no scheme', [TOKEN], 401],
    ['Basic scheme', [`Basic ${TOKEN}`], 401],
    ['two tokens in one value', [`Bearer ${TOKEN}, Bearer ${TOKEN}`], 401],
    ['duplicated header, both right', [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`], 401],
    ['duplicated header, right then wrong', [`Bearer ${TOKEN}`, 'Bearer nope'], 401],
    ['duplicated header, wrong then right', ['Bearer nope', `Bearer ${TOKEN}`], 401],
    ['right token with a trailing word', [`Bearer ${TOKEN} extra`], 401],
    ['huge value', [`Bearer ${'a'.repeat(100_000)}`], 401],
    ['NUL inside', [`Bearer ${TOKEN}\u0000`], 401],
  ];
  it.each(cases)(
    'token %s → %i, from loopback and from a remote peer',
    (_n, authorization, status) => {
      const e = endpoint({ token: TOKEN });
      for (const remoteAddress of ['127.0.0.1', '203.0.113.9', undefined]) {
        for (const proxied of [false, true]) {
          const answer = e.handle({ ...local, remoteAddress, proxied, authorization });
          expect(answer?.status).toBe(status);
          if (status === 401) {
            expect(answer?.headers['www-authenticate']).toBe('Bearer realm="graylane-status"');
            expect(answer?.body).not.toContain(TOKEN);
          }
        }
      }
    },
  );

  it.each([
    ['too short', 'short-token'],
    ['a space', 'a token with spaces inside'],
    ['a comma', 'tok,0123456789abcdef'],
    ['non-ASCII', 'tøk0123456789abcdef'],
    ['too long', 'a'.repeat(513)],
    ['padding in the middle', 'abc=def0123456789abcdef'],
  ])('a token with %s is refused at construction', (_n, token) => {
    expect(() => endpoint({ token })).toThrow(/status token/);
  });
});

describe('status endpoint: routing, methods and headers', () => {
  it.each([
    ['/graylane/status', 'text/html; charset=utf-8'],
    ['/graylane/status/', 'text/html; charset=utf-8'],
    ['/graylane/status/status.json', 'application/json; charset=utf-8'],
    ['/graylane/status/status.json/', 'application/json; charset=utf-8'],
  ])('%s is served as %s with no-store and nosniff', (path, type) => {
    const answer = endpoint().handle({ ...local, path });
    expect(answer?.status).toBe(200);
    expect(answer?.headers).toMatchObject({
      'content-type': type,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
  });

  it.each([
    '/',
    '/graylane',
    '/graylane/statusx',
    '/graylane/status/x',
    '/graylane/status/status.json/x',
    '/GRAYLANE/STATUS',
    '/graylane//status',
    '/graylane/%73tatus',
    '/x/graylane/status',
  ])('%s is not the status page: the next handler gets it', (path) => {
    expect(endpoint().handle({ ...local, path })).toBeUndefined();
  });

  it('matches() is the cheap pre-check: enabled, page or JSON path, trailing slash allowed', () => {
    const e = endpoint();
    expect(
      ['/graylane/status', '/graylane/status/', '/graylane/status/status.json'].map((p) =>
        e.matches(p),
      ),
    ).toEqual([true, true, true]);
    expect(
      ['/', '/graylane', '/graylane/status/x', '/graylane/status?x'].map((p) => e.matches(p)),
    ).toEqual([false, false, false, false]);
    expect(endpoint({ enabled: false }).matches('/graylane/status')).toBe(false);
  });

  it('a custom path moves both the page and the JSON', () => {
    const e = endpoint({ path: '/ops/lanes' });
    expect(e.handle({ ...local, path: '/ops/lanes' })?.status).toBe(200);
    expect(e.handle({ ...local, path: '/ops/lanes/status.json' })?.status).toBe(200);
    expect(e.handle({ ...local })).toBeUndefined();
  });

  it.each(['', 'graylane', '/', '/a//b', '/a/../b', '/a?b', '/a b', '/é'])(
    'path %j is refused at construction',
    (path) => {
      expect(() => endpoint({ path })).toThrow(/status path/);
    },
  );

  it.each([0, 499, 60_001, 1.5])('pollMs %s is refused at construction', (pollMs) => {
    expect(() => endpoint({ pollMs })).toThrow(/pollMs/);
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'get'])(
    '%s → 405 with Allow',
    (method) => {
      const answer = endpoint().handle({ ...local, method });
      expect(answer?.status).toBe(405);
      expect(answer?.headers['allow']).toBe('GET, HEAD');
    },
  );

  it('access is checked before the method: a remote POST gets 404, an unauthenticated one 401', () => {
    expect(endpoint().handle({ ...local, method: 'POST', remoteAddress: '10.0.0.1' })?.status).toBe(
      404,
    );
    expect(endpoint({ token: TOKEN }).handle({ ...local, method: 'DELETE' })?.status).toBe(401);
    expect(
      endpoint({ token: TOKEN }).handle({
        ...local,
        method: 'DELETE',
        authorization: [`Bearer ${TOKEN}`],
      })?.status,
    ).toBe(405);
  });

  it('HEAD answers the GET headers with an empty body', () => {
    const e = endpoint();
    for (const path of ['/graylane/status', '/graylane/status/status.json']) {
      const head = e.handle({ ...local, path, method: 'HEAD' });
      expect(head?.status).toBe(200);
      expect(head?.body).toBe('');
      expect(head?.headers['content-type']).toBe(
        e.handle({ ...local, path })?.headers['content-type'],
      );
    }
  });

  it('the JSON parses to the live report', () => {
    const e = endpoint();
    const json = JSON.parse(
      e.handle({ ...local, path: '/graylane/status/status.json' })?.body ?? '',
    );
    expect(json.schema).toBe('graylane.status.v1');
    expect(json.config.hash).toBe(e.report().config.hash);
  });
});

describe('status endpoint: CSP nonce', () => {
  it('a fresh random nonce per page, in the CSP and on the one style and one script', () => {
    const e = endpoint();
    const a = e.handle(local);
    const b = e.handle(local);
    const nonceOf = (csp: string | undefined) => /script-src 'nonce-([^']+)'/.exec(csp ?? '')?.[1];
    const na = nonceOf(a?.headers['content-security-policy']);
    expect(na).toBe('random-nonce-000001');
    expect(nonceOf(b?.headers['content-security-policy'])).toBe('random-nonce-000002');
    expect(a?.headers['content-security-policy']).toBe(
      `default-src 'none'; script-src 'nonce-${na}'; style-src 'nonce-${na}'; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
    expect(a?.body.match(/<script\b[^>]*>/g)).toEqual([`<script nonce="${na}">`]);
    expect(a?.body.match(/<style\b[^>]*>/g)).toEqual([`<style nonce="${na}">`]);
  });

  it("the app's nonce is used when it is well-formed", () => {
    const answer = endpoint().handle({ ...local, nonce: NONCE });
    expect(answer?.headers['content-security-policy']).toContain(`'nonce-${NONCE}'`);
    expect(answer?.body).toContain(`<script nonce="${NONCE}">`);
  });

  it.each([
    '',
    'short',
    `"><script>alert(1)</script>`,
    "abc' 'unsafe-inline",
    'a'.repeat(200),
    'abcdefghijklmnop;q',
  ])('a malformed app nonce %j is replaced by a random one', (nonce) => {
    const answer = endpoint().handle({ ...local, nonce });
    expect(answer?.headers['content-security-policy']).toContain("'nonce-random-nonce-000001'");
    expect(answer?.body).not.toContain(nonce.length > 0 ? nonce : '\u0000');
  });

  it('an app nonce given as a function is called for the page only; a throwing one gets a random nonce', () => {
    const e = endpoint();
    let calls = 0;
    const nonce = () => {
      calls++;
      return NONCE;
    };
    expect(e.handle({ ...local, path: '/graylane/status/status.json', nonce })?.status).toBe(200);
    expect(e.handle({ ...local, path: '/elsewhere', nonce })).toBeUndefined();
    expect(calls).toBe(0);
    expect(e.handle({ ...local, nonce })?.body).toContain(`<script nonce="${NONCE}">`);
    expect(calls).toBe(1);
    const thrown = e.handle({
      ...local,
      nonce: () => {
        throw new Error('no locals');
      },
    });
    expect(thrown?.status).toBe(200);
    expect(thrown?.headers['content-security-policy']).toContain("'nonce-random-nonce-000001'");
  });

  it('a throwing randomNonce fails closed with a 500 and no page', () => {
    const answer = endpoint({
      randomNonce: () => {
        throw new Error('no entropy');
      },
    }).handle(local);
    expect(answer?.status).toBe(500);
    expect(answer?.body).not.toContain('<script');
  });
});

describe('statusRequestFromFetch (Web-standard runtimes)', () => {
  const url = 'https://svc.example/graylane/status/status.json?x=1#frag';
  it('reads method, path without query, the combined Authorization and proxy headers', () => {
    const request = new Request(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(statusRequestFromFetch(request, '127.0.0.1', NONCE)).toEqual({
      method: 'GET',
      path: '/graylane/status/status.json',
      remoteAddress: '127.0.0.1',
      authorization: [`Bearer ${TOKEN}`],
      proxied: false,
      host: 'svc.example',
      nonce: NONCE,
    });
  });

  it.each(['forwarded', 'x-forwarded-for', 'x-real-ip', 'cf-connecting-ip', 'via'])(
    '%s marks the request as proxied',
    (name) => {
      expect(
        statusRequestFromFetch(new Request(url, { headers: { [name]: '1.2.3.4' } })).proxied,
      ).toBe(true);
    },
  );

  it('duplicated Authorization headers arrive combined and are refused', () => {
    const headers = new Headers();
    headers.append('authorization', `Bearer ${TOKEN}`);
    headers.append('authorization', `Bearer ${TOKEN}`);
    const answer = endpoint({ token: TOKEN }).handle(
      statusRequestFromFetch(new Request(url, { headers })),
    );
    expect(answer?.status).toBe(401);
  });

  it('without a known peer and without a token, nothing is served', () => {
    expect(
      endpoint().handle(statusRequestFromFetch(new Request('https://svc.example/graylane/status')))
        ?.status,
    ).toBe(404);
  });

  it('a headers object that throws never breaks it', () => {
    const request = {
      method: 'GET',
      url: 'not a url',
      headers: {
        get: () => {
          throw new Error('x');
        },
      },
    };
    expect(statusRequestFromFetch(request)).toMatchObject({
      path: '/',
      authorization: [],
      proxied: false,
    });
  });
});
