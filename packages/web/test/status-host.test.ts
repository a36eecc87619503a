import { describe, expect, it } from 'vitest';
import { createGraylane, createStatusHandler } from '../src/index.js';

/*
 * I8, DNS rebinding against the Web status handler's loopback-only mode (a `remoteAddress`
 * that says loopback, no token — Deno or Bun on a developer machine): the Host a browser sends
 * names the attacker's page, so it is refused; forwarding headers count as a proxy.
 */

const gray = createGraylane({
  config: { versions: ['stable', 'beta'], default: 'stable', rules: [] },
});
const status = createStatusHandler({
  graylane: gray,
  enabled: true,
  remoteAddress: () => '127.0.0.1',
});
const json = (origin: string, headers: Record<string, string> = {}) =>
  status.handle(new Request(`${origin}/graylane/status/status.json`, { headers }))?.status;

describe('I8 Web status handler, loopback-only', () => {
  it.each([
    [
      'Host of the attacker',
      404,
      'http://127.0.0.1:8000',
      { host: 'rebind.attacker.example:8000' },
    ],
    ['URL of the attacker, no Host', 404, 'http://rebind.attacker.example:8000', {}],
    ['localhost.attacker.example', 404, 'http://localhost.attacker.example:8000', {}],
    ['X-Forwarded-Proto', 404, 'http://127.0.0.1:8000', { 'x-forwarded-proto': 'https' }],
    ['X-Forwarded-Port', 404, 'http://127.0.0.1:8000', { 'x-forwarded-port': '443' }],
    ['X-Forwarded-Server', 404, 'http://127.0.0.1:8000', { 'x-forwarded-server': 'edge' }],
    ['X-Forwarded-Prefix', 404, 'http://127.0.0.1:8000', { 'x-forwarded-prefix': '/ops' }],
    ['loopback Host', 200, 'http://127.0.0.1:8000', { host: 'localhost:8000' }],
    ['loopback URL', 200, 'http://[::1]:8000', {}],
    ['localhost URL', 200, 'http://app.localhost:8000', {}],
  ] as const)('%s → %i', (_n, expected, origin, headers) => {
    expect(json(origin, headers)).toBe(expected);
  });
});
