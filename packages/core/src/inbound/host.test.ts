// Review 134 D4: one host form everywhere. A Fetch `Request`'s `url.hostname` and the browser's
// `location.hostname` hold the WHATWG URL host parser's form (punycode, IPv4 dotted decimal, IPv6
// compressed, escapes decoded); Node's raw `Host` header, through `hostOnly`, held the bytes sent
// (`127.1`, `0x7f.0.0.1`, `shop%2eexample`, `[::ffff:127.0.0.1]`), so one host rule decided a
// request one way in Node and explain and the other in the Web engine and the page. `hostOnly`
// now gives the parser's form, through a cheap check for the plain spellings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostOnly } from './carrier.js';
import { canonicalHost, isCanonicalHost } from './host.js';

/** The oracle: what a Fetch runtime's `new URL('http://' + host).hostname` says. */
function urlHost(hostAndPort: string): string | undefined {
  try {
    return new URL(`http://${hostAndPort}/`).hostname;
  } catch {
    return undefined;
  }
}

/** [Host header as sent, what every engine must read] */
const SPELLINGS: readonly (readonly [string, string | undefined])[] = [
  ['shop.example', 'shop.example'], // control
  ['shop.example:8080', 'shop.example'], // control
  ['SHOP.Example:8080', 'shop.example'], // control (lower-cased before too)
  ['shop.example.', 'shop.example.'], // control: the trailing dot stays, as in a URL
  ['localhost:3000', 'localhost'], // control
  ['[::1]:8080', '[::1]'], // control
  ['127.0.0.1:3000', '127.0.0.1'], // control
  ['bücher.example', 'xn--bcher-kva.example'],
  ['BÜCHER.example:443', 'xn--bcher-kva.example'],
  ['xn--bcher-kva.example', 'xn--bcher-kva.example'], // control
  ['XN--BCHER-KVA.EXAMPLE', 'xn--bcher-kva.example'], // control
  ['faß.de', 'xn--fa-hia.de'],
  ['ＡＢＣ.example', 'abc.example'],
  ['\u212a.example', 'k.example'], // KELVIN SIGN lower-cases to ASCII `k`, as UTS 46 maps it
  ['127.1', '127.0.0.1'],
  ['127.1:80', '127.0.0.1'],
  ['0x7f.0.0.1', '127.0.0.1'],
  ['0x7F.1:8080', '127.0.0.1'],
  ['0177.0.0.1', '127.0.0.1'],
  ['2130706433', '127.0.0.1'],
  ['127.0.0.1.', '127.0.0.1'],
  ['127.000.0.1', '127.0.0.1'],
  ['0', '0.0.0.0'],
  ['shop%2eexample', 'shop.example'],
  ['shop%2Eexample:8080', 'shop.example'],
  ['%73hop.example', 'shop.example'],
  ['[::ffff:127.0.0.1]', '[::ffff:7f00:1]'],
  ['[::FFFF:7F00:1]:80', '[::ffff:7f00:1]'],
  ['[0:0:0:0:0:0:0:1]:8080', '[::1]'],
  ['[2001:DB8:0:0:1::1]', '[2001:db8::1:0:0:1]'],
  ['a_b.example', 'a_b.example'], // control: the URL parser allows `_`
  ['1e3', '1e3'], // control: not a number
  ['a.0x1g', 'a.0x1g'], // control: not a number
  // Refused by the URL host parser: no Fetch runtime or page ever has such a host.
  ['a.1', undefined],
  ['shop.example.123', undefined],
  ['256.0.0.1', undefined],
  ['1.2.3.4.5', undefined],
  ['09.1', undefined],
  ['shop%zz', undefined],
  ['shop%2fexample', undefined],
  ['xn--abc', undefined],
  ['xn--a.example', undefined],
  ['[::1', undefined],
  ['[::1]x', undefined],
  ['[zz::1]', undefined],
  ['user@shop.example', undefined],
  ['shop.example/x', undefined],
  ['shop.example?x', undefined],
  ['shop.example#x', undefined],
  ['shop\\example', undefined],
  ['shop example', undefined],
  ['shop\texample', undefined],
  [':8080', undefined],
  ['', undefined],
];

describe('review 134 D4: hostOnly gives the URL host parser form', () => {
  it.each(SPELLINGS)('Host %j → %j', (sent, expected) => {
    expect(hostOnly(sent)).toBe(expected);
  });

  it.each(SPELLINGS.filter(([sent]) => !/[\s/?#@\\]/.test(sent)))(
    'Host %j: what a Fetch URL says (%j)',
    (sent, expected) => {
      expect(urlHost(sent) ?? undefined).toBe(expected);
    },
  );

  it('the fast check never says "canonical" of a host the parser would change or refuse', () => {
    // Short strings over the characters that decide it: letters of both cases, digits, the
    // `x`/`n`/`-` of punycode, dots, hex, `%`, a non-ASCII letter.
    const alphabet = fc.constantFrom(...'aAbfgnxX019-._%üK\u212a'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 12 }), (name) => {
        const url = urlHost(name);
        if (isCanonicalHost(name)) expect(url, name).toBe(name);
        expect(canonicalHost(name), name).toBe(url);
      }),
      { numRuns: 20_000 },
    );
  });

  it('labels and numbers: every dotted form of digits and hex agrees with the parser', () => {
    const part = fc.constantFrom('0', '1', '09', '127', '255', '256', '0x', '0x7f', '0xg', 'a', '');
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
        const name = parts.join('.');
        expect(canonicalHost(name), name).toBe(urlHost(name));
        expect(hostOnly(`${name}:8080`), name).toBe(urlHost(name));
      }),
      { numRuns: 5_000 },
    );
  });

  it('IPv6 literals agree with the parser, with and without a port', () => {
    const group = fc.constantFrom('0', '1', 'ffff', 'FFFF', 'db8', '7f00', '127.0.0.1', '');
    fc.assert(
      fc.property(fc.array(group, { minLength: 1, maxLength: 9 }), (groups) => {
        const name = `[${groups.join(':')}]`;
        expect(hostOnly(name), name).toBe(urlHost(name));
        expect(hostOnly(`${name}:443`), name).toBe(urlHost(name));
      }),
      { numRuns: 5_000 },
    );
  });

  it('a repeated spelling is answered alike (the one-entry memo keeps no stale answer)', () => {
    const order = ['bücher.example', '127.1', 'bücher.example', 'a.1', 'a.1', '[::1]', '127.1'];
    expect(order.map((h) => hostOnly(h))).toEqual(order.map((h) => urlHost(h)));
  });

  it('never throws on junk', () => {
    for (const junk of [undefined, null, 42, {}, [], '\u0000', '['.repeat(1000), 'a'.repeat(20000)])
      expect(() => hostOnly(junk as never)).not.toThrow();
  });
});
