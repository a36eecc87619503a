import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyBudget, propertyTimeout } from '../../../../tools/fc-budget.js';
import { compileTrustedProxies } from './peers.js';

describe('GW-04 compileTrustedProxies', () => {
  const rows: [string[], string, boolean][] = [
    [['10.1.2.3'], '10.1.2.3', true],
    [['10.1.2.3'], '::ffff:10.1.2.3', true],
    [['::ffff:10.1.2.3'], '10.1.2.3', true],
    [['::ffff:a01:203'], '10.1.2.3', true],
    [['10.0.0.0/8'], '::ffff:10.255.0.1', true],
    [['10.0.0.0/8'], '11.0.0.0', false],
    [['192.168.1.0/24'], '192.168.1.255', true],
    [['192.168.1.0/24'], '192.168.2.0', false],
    [['192.168.1.128/25'], '192.168.1.127', false],
    [['0.0.0.0/0'], '203.0.113.9', true],
    [['0.0.0.0/0'], '::1', false],
    [['::/0'], '::1', true],
    [['::/0'], '10.0.0.1', true],
    [['fd00::/8'], 'fd12:3456::1', true],
    [['fd00::/8'], 'fe80::1', false],
    [['fe80::/10'], 'fe80::1%eth0', true],
    [['2001:db8::1'], '2001:0db8:0000:0000:0000:0000:0000:0001', true],
    [['2001:db8::1'], '2001:DB8::1', true],
    [['::1'], '::ffff:127.0.0.1', false],
    [['127.0.0.1'], '::1', false],
    [['127.0.0.1'], 'localhost', false],
    [['127.0.0.1'], '', false],
    // A mapped network written with a mapped prefix (96 + the IPv4 bits).
    [['::ffff:10.0.0.0/104'], '10.1.2.3', true],
    [['::ffff:10.0.0.0/104'], '::ffff:10.1.2.3', true],
    [['::ffff:10.0.0.0/104'], '11.0.0.1', false],
    [['::ffff:10.0.0.0/104'], '::1', false],
    [['::ffff:0:0/96'], '203.0.113.9', true],
    [['::ffff:0:0/96'], '::1', false],
    [['::ffff:10.0.0.0/128'], '10.0.0.0', true],
    [['::ffff:10.0.0.0/128'], '10.0.0.1', false],
    [['1:2:3:4:5:6:1.2.3.4'], '1:2:3:4:5:6:102:304', true],
    [['::1.2.3.4'], '::102:304', true],
    // 'unix': the peer of a Unix domain socket, which has no address; never an IP peer.
    [['unix'], 'unix', true],
    [['10.0.0.0/8', 'unix'], 'unix', true],
    [['unix'], '127.0.0.1', false],
    [['unix'], '::1', false],
    [['unix'], '', false],
    [['0.0.0.0/0', '::/0'], 'unix', false],
    [['127.0.0.1', '::1'], 'unix', false],
  ];
  it.each(rows)('GW-04 %j trusts %j: %s', (list, peer, expected) => {
    expect(compileTrustedProxies(list)(peer)).toBe(expected);
  });

  it('GW-04 no list, an empty list or an absent peer trust nobody', () => {
    expect(compileTrustedProxies(undefined)('10.0.0.1')).toBe(false);
    expect(compileTrustedProxies([])('10.0.0.1')).toBe(false);
    expect(compileTrustedProxies(['10.0.0.0/8'])(undefined)).toBe(false);
  });

  it.each([
    'localhost',
    '10.0.0.256',
    '10.0.0.1/',
    '10.0.0.1/x',
    '::g',
    'a'.repeat(70),
    '1.2.3.4 ',
    // Mapped addresses under a prefix shorter than 96: `::ffff:10.0.0.0/8` is `::/8` (every
    // IPv4 peer and `::1`), not the IPv4 /8 it reads as.
    '::ffff:10.0.0.0/8',
    '::ffff:10.0.0.0/0',
    '::ffff:10.0.0.0/95',
    '::ffff:a00:0/8',
    '::FFFF:192.168.0.0/16',
    '0:0:0:0:0:ffff:10.0.0.0/24',
    // An embedded IPv4 anywhere but at the end.
    '1.2.3.4::',
    '1.2.3.4::1',
    '::1.2.3.4:1',
    '1:1.2.3.4::',
    '1.2.3.4:1:2:3:4:5:6',
  ])('GW-04 %j is refused at construction', (entry) => {
    expect(() => compileTrustedProxies([entry])).toThrow(/INVALID|not an IP address/);
  });

  it(
    'GW-04 an IPv4 address matches itself in both spellings, and only itself, for any address',
    () => {
      const octet = fc.integer({ min: 0, max: 255 });
      const addr = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
      fc.assert(
        fc.property(addr, addr, (a, b) => {
          const trusted = compileTrustedProxies([a]);
          expect(trusted(a)).toBe(true);
          expect(trusted(`::ffff:${a}`)).toBe(true);
          expect(trusted(b)).toBe(a === b);
        }),
        propertyBudget(),
      );
    },
    propertyTimeout(),
  );
});
