// Review 75 N1 (CFG-11 class): a `path` literal no request path can have loaded silently and
// never matched. Requests reach the rules percent-encoded (Node's parser refuses raw non-ASCII
// and spaces with a 400; a URL encodes them) and without their query or fragment, and the path
// the rules match is `rulePath`'s form (escaped unreserved characters decoded, `\` as `/`, dot
// segments removed). So an `equals`/`in` literal must be its own form, and an affix must hold
// nothing that form removes; otherwise INVALID_CONFIG names the rule's path and, where there is
// one, the spelling to write. Literals are refused, never rewritten.
import { describe, expect, it } from 'vitest';
import { re2 } from '../../test/fixtures.js';
import { isGraylaneError } from '../errors.js';
import { rulePath } from '../inbound/path.js';
import { decide } from '../rules/evaluate.js';
import { parseConfig, validateConfig } from './parse.js';

const doc = (path: unknown) => ({
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [{ id: 'r', version: 'beta', match: { path } }],
});

/** The error `parseConfig` throws for a path matcher, or undefined when it loads. */
function refusal(path: object): string | undefined {
  try {
    parseConfig(doc(path), { regex: re2 });
    return undefined;
  } catch (e) {
    if (!isGraylaneError(e) || e.code !== 'INVALID_CONFIG') throw e;
    return e.message;
  }
}

/** What a client sends for a path written as `p`, as the rules then see it. */
const sent = (p: string) => rulePath(new URL(p, 'http://x.test').pathname);

/** The lane a request to `path` gets under `matcher`. */
const lane = (matcher: object, path: string) =>
  decide(parseConfig(doc(matcher), { regex: re2 }), { path }).version;

// [label, op, literal, the spelling to write ('' for none)]
const REFUSED: ReadonlyArray<readonly [string, string, string, string]> = [
  ['non-ASCII', 'equals', '/über', '/%C3%BCber'],
  ['non-ASCII, CJK', 'equals', '/商品/1', '/%E5%95%86%E5%93%81/1'],
  ['an emoji', 'equals', '/🚀', '/%F0%9F%9A%80'],
  ['Latin-1', 'prefix', '/café/', '/caf%C3%A9/'],
  ['a space', 'equals', '/a b', '/a%20b'],
  // A control character is a typo, whatever a client would make of it (a URL drops a tab).
  ['a tab', 'prefix', '/a\tb', ''],
  ['a NUL', 'suffix', '/a\0', ''],
  ['a line feed', 'equals', '/a\nb', ''],
  ['DEL', 'equals', '/a\x7f', ''],
  ['a NBSP', 'suffix', '\u00a0.html', '%C2%A0.html'],
  ['non-ASCII in a list', 'in', '/ü', '/%C3%BC'],
  ['a query', 'equals', '/search?q=1', ''],
  ['a lone ?', 'suffix', '?', ''],
  ['a fragment', 'prefix', '/docs#intro', ''],
  ['a query and non-ASCII', 'equals', '/ü?x', ''],
  ['a lone surrogate', 'equals', '/a\ud800', ''],
  ['an escaped unreserved letter', 'equals', '/%61dmin', '/admin'],
  ['an escaped unreserved letter, lower-case hex', 'prefix', '/%7euser', '/~user'],
  ['an escaped digit', 'suffix', '/v%31', '/v1'],
  ['an escaped dash', 'in', '/a%2Db', '/a-b'],
  ['an escaped dot', 'equals', '/a%2Ejson', '/a.json'],
  ['a backslash', 'equals', '\\admin', '/admin'],
  ['a backslash inside', 'prefix', '/api\\v1', '/api/v1'],
  ['a dot segment', 'equals', '/x/../admin', '/admin'],
  ['a single-dot segment', 'equals', '/a/./b', '/a/b'],
  ['an escaped dot segment', 'equals', '/%2e%2e/admin', '/admin'],
  ['a trailing dot segment', 'equals', '/a/.', '/a/'],
  ['a dot segment in a prefix', 'prefix', '/x/../', ''],
  ['a dot segment in a suffix', 'suffix', '/./x', ''],
  ['a suffix ending in a dot segment', 'suffix', '/a/..', ''],
  ['a suffix ending in a single dot', 'suffix', '/.', ''],
];

describe('review 75 N1: a path literal no request has is INVALID_CONFIG', () => {
  it.each(REFUSED)('%s: %s %j', (_label, op, literal, fix) => {
    const matcher = { [op]: op === 'in' ? ['/ok', literal] : literal };
    const message = refusal(matcher);
    const at = `$.rules[0].match.path.${op}${op === 'in' ? '[1]' : ''}`;
    expect(message).toContain(`${at}: ${JSON.stringify(literal)} never matches`);
    if (fix) expect(message).toContain(`write ${JSON.stringify(fix)}`);
    else expect(message).not.toContain('write');
  });

  // The premise, read from the URL parser as clients send: no request has the whole literal.
  it.each(REFUSED.filter(([, op]) => op === 'equals' || op === 'in'))(
    'premise %s: a client asking for %j sends another path',
    (_label, _op, literal) => {
      let path: string;
      try {
        path = sent(literal);
      } catch {
        return; // no URL at all (a lone surrogate is replaced)
      }
      expect(path).not.toBe(literal);
    },
  );

  // The spelling offered is what that client's request carries, and it matches.
  it.each(REFUSED.filter(([, op, , fix]) => fix !== '' && (op === 'equals' || op === 'in')))(
    'the spelling offered for %s matches the request a client sends',
    (_label, _op, literal, fix) => {
      expect(sent(literal)).toBe(fix);
      expect(lane({ equals: fix }, sent(literal))).toBe('beta');
    },
  );

  it.each(REFUSED.filter(([, op, , fix]) => fix !== '' && (op === 'prefix' || op === 'suffix')))(
    'the affix offered for %s matches the request a client sends',
    (_label, op, literal, fix) => {
      const whole = op === 'prefix' ? `${literal}x` : `/p${literal}`;
      expect(lane({ [op]: fix }, sent(whole))).toBe('beta');
    },
  );

  it('every refused literal of a document is named, and nothing else', () => {
    const message = refusal({ in: ['/ok', '/ü', '/a b', '/fine', '/%61'] }) ?? '';
    expect(message.match(/never matches/g)).toHaveLength(3);
    for (const i of [1, 2, 4]) expect(message).toContain(`$.rules[0].match.path.in[${i}]`);
  });
});

// [label, matcher, a request path (as the rules see it) it matches]
const LOADS: ReadonlyArray<readonly [string, object, string]> = [
  ['plain', { equals: '/admin' }, '/admin'],
  ['percent-encoded UTF-8', { equals: '/%C3%BCber' }, sent('/über')],
  ['lower-case hex of a reserved escape', { equals: '/a%2fb' }, '/a%2fb'],
  ['an encoded slash', { prefix: '/a%2F' }, '/a%2Fb'],
  ['an encoded space', { suffix: '%20' }, '/a%20'],
  ['an encoded ?', { equals: '/a%3Fb' }, sent('/a%3Fb')],
  ['an encoded #', { equals: '/a%23b' }, sent('/a%23b')],
  ['a dot file', { prefix: '/.well-known/' }, '/.well-known/x'],
  ['dots inside a segment', { equals: '/a..b/c.d' }, '/a..b/c.d'],
  ['a segment starting with dots', { equals: '/..x' }, sent('/..x')],
  ['a prefix ending in a dot', { prefix: '/a/.' }, '/a/.env'],
  ['a prefix ending in two dots', { prefix: '/a/..' }, '/a/..b'],
  ['a suffix starting with a dot', { suffix: './x' }, '/a./x'],
  ['a trailing slash', { equals: '/a/' }, '/a/'],
  ['a lone %', { suffix: '%' }, '/a%'],
  ['a bad escape', { equals: '/%zz' }, '/%zz'],
  ['every other printable ASCII', { equals: "/!$&'()*+,;=:@-._~" }, "/!$&'()*+,;=:@-._~"],
  ['an empty prefix', { prefix: '' }, '/'],
  ['an asterisk (OPTIONS *)', { equals: '*' }, '*'],
  ['a regex is not judged', { regex: '^/ü' }, '/ü'],
];

describe('review 75 N1: literals a request path can have still load and match', () => {
  it.each(LOADS)('%s', (_label, matcher, path) => {
    expect(refusal(matcher)).toBeUndefined();
    expect(lane(matcher, path)).toBe('beta');
  });
});

// Review 78 N1: `"`, `<`, `>`, `` ` ``, `{`, `}` reach a Node server raw, but fetch, browsers and a
// page's `location` send them percent-encoded (the URL path percent-encode set): such a literal
// loads, with a warning naming the encoded spelling.
describe('review 78 N1: a path literal with characters a URL encodes loads with a warning', () => {
  it.each([
    ['equals', '/files/{id}', '/files/%7Bid%7D'],
    ['prefix', '/q/"x"', '/q/%22x%22'],
    ['suffix', '<b>', '%3Cb%3E'],
    ['in', '/a`b', '/a%60b'],
  ])('%s %j → warns, naming %j', (op, literal, encoded) => {
    const result = validateConfig(doc({ [op]: op === 'in' ? [literal] : literal }), { regex: re2 });
    expect(result.ok).toBe(true);
    const warnings = result.warnings.map((w) => `${w.path}: ${w.message}`).join('\n');
    expect(warnings).toContain(`send it encoded, ${JSON.stringify(encoded)}`);
    // The premise: a URL client sends the encoded spelling, which the literal misses.
    const path = sent(op === 'suffix' ? `/x${literal}` : op === 'prefix' ? `${literal}y` : literal);
    expect(lane({ [op]: op === 'in' ? [literal] : literal }, path)).toBe('stable');
    expect(lane({ [op]: op === 'in' ? [encoded] : encoded }, path)).toBe('beta');
  });

  it('review 79 N2: `^` warns too (a recent URL parser encodes it: Node 24, browsers)', () => {
    const result = validateConfig(doc({ equals: '/a^b' }), { regex: re2 });
    expect(result.ok && result.warnings.map((w) => w.message).join()).toContain('"/a%5Eb"');
  });

  it('(control) a literal without them has no such warning', () => {
    const result = validateConfig(doc({ equals: '/files/%7Bid%7D' }), { regex: re2 });
    expect(result.ok && result.warnings).toEqual([]);
  });
});
