import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from './auth.js';

/**
 * Review 58: docs/status-page.md lists the `Host` spellings the loopback-only status page
 * accepts; these rows hold the code to that list (nothing is widened: other spellings of a
 * 127/8 address fail closed).
 */
describe('the Host spellings docs/status-page.md lists', () => {
  it.each([
    'localhost',
    'LOCALHOST:8080',
    'app.localhost',
    'a-b.c.localhost:1',
    '127.0.0.1',
    '127.1.2.3:65535',
    '127.000.000.001',
    '127.255.255.255:80',
    '[::1]',
    '[::1]:8080',
    '[0:0:0:0:0:0:0:1]',
    '[::ffff:127.0.0.1]',
    '[::FFFF:7F00:1]:9',
  ])('accepts %s', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each([
    '127.1',
    '0x7f.0.0.1',
    '0177.0.0.1',
    '2130706433',
    '127.0.0.256',
    '127.0.0.1.',
    'localhost.',
    'localhost:',
    '127.0.0.1:123456',
    '[0::1]',
    '[::0:1]',
    '-a.localhost',
    '.localhost',
    '128.0.0.1',
    'user@localhost',
    '',
  ])('refuses %s', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});
