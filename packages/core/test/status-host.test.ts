import { describe, expect, it } from 'vitest';
import {
  createConfigStore,
  createStatusEndpoint,
  STATUS_PROXY_HEADERS,
  statusRequestFromFetch,
  type StatusRequest,
} from '../src/index.js';
import { isLoopbackHost } from '../src/status/auth.js';

/*
 * I8 for the status page: without a token it serves loopback only. A DNS-rebinding page
 * (`http://rebind.attacker.example:8080`, re-resolved to 127.0.0.1) reaches the loopback socket
 * with no proxy header, so the peer check alone lets it read the report; the Host it sends
 * still names the attacker. Rows: Host values served, Host values refused, proxy headers.
 */

const TOKEN = 'tok_0123456789abcdefABCDEF-._~+/';

function endpoint(token?: string) {
  return createStatusEndpoint({
    store: createConfigStore({ initial: { versions: ['stable', 'beta'], default: 'stable' } }),
    enabled: true,
    token,
    randomNonce: () => 'cmFuZG9tLW5vbmNlLTAwMQ==',
  });
}

const local = (host: string | undefined, path = '/graylane/status/status.json'): StatusRequest => ({
  method: 'GET',
  path,
  remoteAddress: '127.0.0.1',
  host,
  authorization: [],
  proxied: false,
});

const SERVED = [
  'localhost',
  'localhost:8080',
  'LOCALHOST:8080',
  'app.localhost',
  'status.app.localhost:3000',
  '127.0.0.1',
  '127.0.0.1:8080',
  '127.1.2.3:65535',
  '[::1]',
  '[::1]:8080',
  '[0:0:0:0:0:0:0:1]:80',
  '[::ffff:127.0.0.1]:8080',
  // IPv4-mapped loopback as a browser serialises it (WHATWG URL writes hex).
  '[::ffff:7f00:1]',
  '[::FFFF:7F00:1]:8080',
  '[::ffff:7f01:203]:80',
];

const REFUSED: readonly (string | undefined)[] = [
  'rebind.attacker.example',
  'rebind.attacker.example:8080',
  'localhost.attacker.example',
  'localhost.attacker.example:8080',
  '127.0.0.1.nip.io',
  '127.0.0.1.attacker.example:8080',
  'attacker-localhost',
  'notlocalhost',
  '.localhost',
  'a..localhost',
  '-x.localhost',
  'localhost.',
  '10.0.0.1:8080',
  '0.0.0.0:8080',
  '128.0.0.1',
  '127.0.0.256',
  '[::2]:8080',
  '[fe80::1]',
  '[::ffff:a00:1]',
  '[::ffff:8000:1]:8080',
  '[::ffff:7f00:1:2]',
  '::1',
  'user@localhost',
  'localhost:8080@attacker.example',
  'localhost:abc',
  'localhost:123456',
  'localhost/x',
  ' localhost',
  'localhost, attacker.example',
  '',
  undefined,
];

describe('I8 status page without a token: a non-loopback Host is refused (DNS rebinding)', () => {
  it.each(SERVED)('Host %j, loopback peer: served', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
    for (const path of ['/graylane/status', '/graylane/status/status.json']) {
      expect(endpoint().handle(local(host, path))?.status).toBe(200);
    }
  });

  it.each(REFUSED)('Host %j, loopback peer: 404, as if nothing were here', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
    for (const path of ['/graylane/status', '/graylane/status/status.json']) {
      const answer = endpoint().handle(local(host, path));
      expect(answer?.status).toBe(404);
      expect(answer?.body).not.toContain('graylane');
    }
  });

  it.each(REFUSED)('Host %j with the token: served (the token is the access check)', (host) => {
    const answer = endpoint(TOKEN).handle({ ...local(host), authorization: [`Bearer ${TOKEN}`] });
    expect(answer?.status).toBe(200);
  });

  it.each([
    ['Host header', { host: 'rebind.attacker.example:8080' }, 'http://127.0.0.1:8080', 404],
    ['URL authority, no Host header', {}, 'http://rebind.attacker.example:8080', 404],
    ['loopback Host header', { host: 'localhost:8080' }, 'http://127.0.0.1:8080', 200],
    ['loopback URL authority', {}, 'http://127.0.0.1:8080', 200],
  ])('Web Request, %s', (_n, headers, origin, status) => {
    const request = new Request(`${origin}/graylane/status/status.json`, { headers });
    expect(endpoint().handle(statusRequestFromFetch(request, '127.0.0.1'))?.status).toBe(status);
  });

  it('a request-like object with userinfo in its URL and no Host: refused', () => {
    const request = {
      method: 'GET',
      url: 'http://localhost@attacker.example/graylane/status/status.json',
      headers: new Headers(),
    };
    expect(endpoint().handle(statusRequestFromFetch(request, '127.0.0.1'))?.status).toBe(404);
  });
});

describe('I8 status page without a token: every forwarding header counts as a proxy', () => {
  const PROXY = [
    'forwarded',
    'x-forwarded-for',
    'x-forwarded-host',
    'x-forwarded-proto',
    'x-forwarded-port',
    'x-forwarded-server',
    'x-forwarded-prefix',
    'x-real-ip',
    'via',
  ];
  it.each(PROXY)('%s is in STATUS_PROXY_HEADERS and refuses a loopback request', (name) => {
    expect(STATUS_PROXY_HEADERS).toContain(name);
    const request = new Request('http://127.0.0.1:8080/graylane/status', {
      headers: { [name]: name === 'x-forwarded-port' ? '443' : 'https' },
    });
    const read = statusRequestFromFetch(request, '127.0.0.1');
    expect(read.proxied).toBe(true);
    expect(endpoint().handle(read)?.status).toBe(404);
  });
});
