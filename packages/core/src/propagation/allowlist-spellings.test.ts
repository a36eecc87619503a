import { describe, expect, it } from 'vitest';
import { GraylaneError } from '../errors.js';
import { createAllowlist } from './allowlist.js';

/**
 * I8 (helper 140's finding): allowlist entries are compared with the origin and host of the URLs
 * a marker would go to, which the URL parser writes in one form (punycode, dotted-decimal IPv4,
 * compressed IPv6, lower case, no leading zeros in a port). An entry spelled another way —
 * `[::ffff:127.0.0.1]:8080`, `127.1:8080`, `bücher.example`, `http://[0::1]:8080` — matched no
 * URL at all (the lane silently stopped at that hop) or was refused as "not a bare origin". Each
 * spelling must now allow exactly what its canonical form allows.
 */

/** [an entry as someone may write it, the same entry in the URL parser's form] */
const SAME: [string, string][] = [
  ['[::ffff:127.0.0.1]:8080', '[::ffff:7f00:1]:8080'],
  ['[::FFFF:7F00:1]:8080', '[::ffff:7f00:1]:8080'],
  ['[0:0:0:0:0:0:0:1]:8080', '[::1]:8080'],
  ['[0::1]', '[::1]'],
  ['127.1:8080', '127.0.0.1:8080'],
  ['0x7f.1:8080', '127.0.0.1:8080'],
  ['0177.0.0.1:8080', '127.0.0.1:8080'],
  ['2130706433:8080', '127.0.0.1:8080'],
  ['Orders.INTERNAL:8080', 'orders.internal:8080'],
  ['orders.internal:08080', 'orders.internal:8080'],
  ['ORDERS.internal', 'orders.internal'],
  ['bücher.example', 'xn--bcher-kva.example'],
  ['BÜCHER.example:443', 'xn--bcher-kva.example:443'],
  ['shop%2eexample', 'shop.example'],
  ['http://[0::1]:8080', 'http://[::1]:8080'],
  ['http://[::ffff:127.0.0.1]:8080/', 'http://[::ffff:7f00:1]:8080'],
  ['http://127.1:8080', 'http://127.0.0.1:8080'],
  ['http://0x7f.0.0.1', 'http://127.0.0.1'],
  ['HTTPS://Bücher.Example', 'https://xn--bcher-kva.example'],
  ['https://api.example:0443/', 'https://api.example'],
  ['https://api.example:443', 'https://api.example'],
  ['http://orders.internal:80/', 'http://orders.internal'],
];

/** Where a marker may be asked to go: every canonical target above, spelled both ways, and near misses. */
const URLS = [
  'http://[::ffff:7f00:1]:8080/x',
  'http://[::ffff:127.0.0.1]:8080/x',
  'https://[::ffff:7f00:1]:8080/x',
  'http://[::1]:8080/',
  'http://[::1]/',
  'http://[::2]:8080/',
  'http://127.0.0.1:8080/',
  'http://127.1:8080/',
  'http://127.0.0.2:8080/',
  'http://127.0.0.1:8081/',
  'http://127.0.0.1/',
  'http://orders.internal:8080/',
  'https://orders.internal:8080/',
  'http://orders.internal/',
  'http://xn--bcher-kva.example/',
  'https://bücher.example/',
  'https://bücher.example:443/',
  'https://xn--bcher-kva.example:8443/',
  'https://api.example/v1',
  'http://api.example/',
  'http://shop.example/',
  'https://shop.example.evil/',
];

describe('I8 an allowlist entry in any spelling allows what its canonical form allows', () => {
  it.each(SAME)('%s allows what %s allows', (spelled, canonical) => {
    const a = createAllowlist({ allow: [spelled] });
    const b = createAllowlist({ allow: [canonical] });
    const verdicts = URLS.map((u) => b.allows(u));
    expect(verdicts.some(Boolean), `${canonical} allows some URL (the row is not vacuous)`).toBe(
      true,
    );
    expect(URLS.map((u) => a.allows(u))).toEqual(verdicts);
  });

  it.each(SAME)('%s: the canonical form %s is a fixed point (control)', (_spelled, canonical) => {
    const a = createAllowlist({ allow: [canonical] });
    expect(URLS.filter((u) => a.allows(u)).length).toBeGreaterThan(0);
  });
});

/** Entries that name no host or origin: refused at construction, never a silent no-match. */
const REFUSED = [
  'a.1',
  'h:99999',
  'h:',
  'h:-1',
  '[::1',
  '[zz]:80',
  '[::1]x',
  'user@h',
  'h/x',
  'h?x',
  'h#x',
  'bücher .example',
  'sho p.example',
  '',
  'http://user:pw@h',
  'http://user@h',
  'http://h/x',
  'http://h?x',
  'http://h#x',
  'http://h/./x',
  'http://h\\x',
  'ftp://h',
  'javascript://h',
  'http://',
  'http://api.example.com ',
  ' http://api.example.com',
  'http://api.example.com\t',
  'http://api.example.com\n',
  'http://api.example.com/ ',
];

describe('I8 an entry that is no host or origin is refused', () => {
  it.each(REFUSED)('%j → INVALID_OPTIONS', (entry) => {
    let thrown: unknown;
    try {
      createAllowlist({ allow: [entry] });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(GraylaneError);
    expect((thrown as GraylaneError).code).toBe('INVALID_OPTIONS');
  });
});
