import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../src/io.js';
import { parseLocation, registerUrlSecrets } from '../src/location.js';
import { redact } from '../src/secrets.js';
import { findUserinfo, fold } from '../src/url-like.js';
import { propertyBudget, propertyTimeout } from '../../../tools/fc-budget.js';

/**
 * MISC-03, review 134: how the CLI finds a URL's userinfo whatever way it was typed. `fold` reads
 * each character as NFKC and the confusables list give it, keeping every index; `findUserinfo`
 * finds the whole userinfo on that reading. A property row builds URLs from every start, every
 * separator spelling and random passwords, and checks that neither the location's own message
 * nor a diagnostic echoing the argument ever holds the password.
 */
beforeEach(() => {
  // One CLI run per process: the registry starts empty for each row.
  delete (globalThis as Record<symbol, unknown>)[Symbol.for('@graylane/cli.secrets.v2')];
});

describe('MISC-03 fold reads look-alikes as what they look like, keeping every index', () => {
  it.each([
    [
      'fullwidth colon, slashes, @',
      'etcd\uFF1A\uFF0F\uFF0Fops\uFF1Apw\uFF20h/k',
      'etcd://ops:pw@h/k',
    ],
    ['small and vertical forms', 'a\uFE55b\uFE13c\uFE6Bd\uFE68e', 'a:b:c@d\\e'],
    ['fullwidth letters and percent', '\uFF45\uFF54\uFF43\uFF44\uFF053A', 'etcd%3A'],
    ['ratio, modifier colons, Armenian full stop', '\u2236\uA789\u02D0\u02F8\u0589', ':::::'],
    ['division, fraction slash, big solidus', '\u2215\u2044\u29F8', '///'],
    ['set minus, reverse solidus operator', '\u2216\u29F5', '\\\\'],
    ['fullwidth semicolon, comma, Greek question mark', '\uFF1B\uFF0C\u037E', ';,;'],
    ['(control) CJK letters that look like a slash are letters', '\u30CE\u4E3F', '\u30CE\u4E3F'],
    ['(control) ASCII', 'etcd://ops:pw@h/k', 'etcd://ops:pw@h/k'],
    ['(control) a character whose NFKC is longer is kept', '\u3302x', '\u3302x'],
  ])('%s', (_n, text, folded) => {
    expect(fold(text)).toBe(folded);
  });

  it('has the length of its input, for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (text) => {
        expect(fold(text)).toHaveLength(text.length);
      }),
    );
  });
});

describe('MISC-03 findUserinfo: the whole userinfo, wherever the URL starts', () => {
  it.each([
    ['etcd://ops:pw@h/k', 'etcd://', 'ops:pw', true],
    ['etcd/ops;pw@h/k', 'etcd/', 'ops;pw', true],
    ['etcd/opspw@h/k (no separator)', 'etcd/', 'opspw', true],
    ['etcd：//ops:pw＠h/k', 'etcd：//', 'ops:pw', true],
    ['dir/ops∶pw@h/k', '', 'ops∶pw', true],
    ['ops%3Bpw%40h/k', '', 'ops%3Bpw', true],
    ['Referer: https://u:p@x', 'https://', 'u:p', true],
    ['(control) team@prod.json', undefined, undefined, false],
    ['(control) C:\\Users\\me\\team@prod.json', 'C:\\', 'Users\\me\\team', false],
    ['(control) configs//team@prod.json', 'configs//', 'team', false],
  ])('%s', (text, start, userinfo, urlLike) => {
    const input = text.replace(/ \(.*\)$/, '').replace(/^\(control\) /, '');
    const found = findUserinfo(input);
    if (start === undefined) {
      expect(found?.urlLike ?? false).toBe(false);
      return;
    }
    expect(found).toBeDefined();
    expect(input.slice(found!.start, found!.from)).toBe(start);
    expect(input.slice(found!.from, found!.at)).toBe(userinfo);
    expect(found!.urlLike).toBe(urlLike);
  });
});

/** How a URL is started when typed by hand (and mistyped). */
const STARTS = [
  'etcd://',
  'etcds://',
  'etcd:/',
  'etcd:',
  'etcd/',
  'etcd//',
  'etcd\\',
  'ETCD:\\\\',
  'etcd\uFF1A//',
  'etcd:\uFF0F\uFF0F',
  '\uFF45tcd://',
  'etcd%3A//',
  'http://',
  ' etcd://',
  'dir/',
  '',
];
/** What is typed between user and password (`''`: nothing, the password typed into the user). */
const SEPARATORS = [':', ';', ',', '%3A', '%3B', '\uFF1A', '\uFE55', '\u2236', '\uFF1B', ''];
const ENDS = ['@', '\uFF20', '\uFE6B', '%40'];
/** Passwords: the marker `Zq7` among characters a URL mangles and look-alikes. */
const password = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...'ab/:;,@%4 "\\\uFF20\uFF1A-'), maxLength: 4 }),
    fc.string({ unit: fc.constantFrom(...'cd/:@%0 "\\\uFF0F-'), maxLength: 4 }),
  )
  .map(([a, b]) => `${a}Zq7${b}`);

/**
 * False for the spellings no reader can tell from another reading: a password holding ':' with no
 * scheme and no separator before it (`opsp:/w@h` is the scheme `opsp`); on `etcd://`, a '%40'
 * typed for the '@' after a password
 * holding an '@' or a '/' or no separator (`etcd://ops:p/w%40db/k` is also host `ops:p` with the
 * key `w@db/k`; `etcd://opspw/%40db/k` host `opspw`): a key may hold '%40'.
 */
function decidable(start: string, separator: string, end: string, pw: string): boolean {
  // No scheme and no separator: `opsp:/w@h` is the scheme `opsp` and the userinfo `w`.
  if ((start === '' || start === 'dir/') && separator === '' && /[:;,\uFF1A\uFE55\u2236]/.test(pw))
    return false;
  if (!/^etcds?:\/\//.test(start)) return true;
  return !(end === '%40' && (separator === '' || /[@\uFF20\uFE6B/]/.test(pw)));
}

describe('MISC-03 any spelling, any password: never in the message, never in an echo', () => {
  it(
    'property: parseLocation and a diagnostic echoing the argument',
    () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...STARTS),
          fc.constantFrom(...SEPARATORS),
          fc.constantFrom(...ENDS),
          password,
          (start, separator, end, pw) => {
            delete (globalThis as Record<symbol, unknown>)[Symbol.for('@graylane/cli.secrets.v2')];
            const text = `${start}ops${separator}${pw}${end}127.0.0.1:9/graylane/config`;
            fc.pre(decidable(start, separator, end, pw));
            registerUrlSecrets(text, {});
            let message = '';
            try {
              const location = parseLocation(text, {});
              message = location.display;
            } catch (err) {
              expect(err).toBeInstanceOf(CliError);
              message = (err as CliError).message;
            }
            expect(message, text).not.toContain('Zq7');
            for (const echo of [text, `unknown command ${JSON.stringify(text)}`, `--from=${text}`])
              expect(redact(echo), text).not.toContain('Zq7');
          },
        ),
        propertyBudget(),
      );
    },
    propertyTimeout(),
  );
});
