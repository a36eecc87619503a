// Review 127 D2 (CFG-11 class): a `host` or `method` rule that can never match must not load
// silently. Platforms deliver the host lower-cased without its port (`hostOnly`, a Fetch URL's
// `hostname`) and the method upper-case (Node's parser accepts nothing else), so literal values
// (`equals`, `in`, `prefix`, `suffix`) are compared that way — lower-/upper-cased at load — and a
// host with a port, an unbracketed IPv6 address or a method that is not a token is refused with
// INVALID_CONFIG naming the path. `explain` shows the value compared.
import { describe, expect, it } from 'vitest';
import { re2 } from '../../test/fixtures.js';
import { isGraylaneError } from '../errors.js';
import { hostOnly } from '../inbound/carrier.js';
import { decide } from '../rules/evaluate.js';
import { explain } from '../rules/explain.js';
import { parseConfig, validateConfig } from './parse.js';

const doc = (match: unknown) => ({
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [{ id: 'r', version: 'beta', match }],
});

/** [matcher, Host headers it must match, Host headers it must not] */
type Loads = readonly [matcher: object, hits: readonly string[], misses: readonly string[]];
const HOSTS_LOAD: readonly Loads[] = [
  [{ equals: 'API.Example.com' }, ['api.example.com', 'API.EXAMPLE.COM:8443'], ['example.com']],
  [{ equals: 'api.example.com' }, ['Api.Example.Com:80'], ['api.example.co']], // control
  [{ in: ['A.example', 'B.EXAMPLE'] }, ['a.example', 'b.example:8080'], ['c.example']],
  [{ prefix: 'API.' }, ['api.example.com', 'API.x:1'], ['www.api.x']],
  [{ suffix: '.Example.COM' }, ['api.example.com:443', 'WWW.EXAMPLE.COM'], ['example.org']],
  [{ equals: '[::1]' }, ['[::1]:8080', '[::1]'], ['127.0.0.1']], // control
  [{ equals: '[2001:DB8::1]' }, ['[2001:db8::1]:443'], ['[2001:db8::2]']],
  [{ prefix: '[2001:DB8' }, ['[2001:db8::7]:80'], ['[::1]']],
  [{ suffix: '::1]' }, ['[::1]:80'], ['[::2]']], // control
  [{ regex: '^api\\.' }, ['API.example.com:8443'], ['www.api.example']], // control: documented
  [{ exists: true }, ['x.example'], []], // control
];

/** [matcher, path of the error, words the message must have] */
type Refused = readonly [matcher: object, path: string, message: RegExp];
const P = '$.rules[0].match.host';
const HOSTS_REFUSED: readonly Refused[] = [
  [{ equals: 'api.example.com:8443' }, `${P}.equals`, /without its port/],
  [{ equals: 'API.Example.com:80' }, `${P}.equals`, /without its port/],
  [{ in: ['a.example', 'b.example:80'] }, `${P}.in[1]`, /without its port/],
  [{ equals: '[::1]:8080' }, `${P}.equals`, /without its port/],
  [{ equals: '::1' }, `${P}.equals`, /IPv6 in brackets/],
  [{ in: ['2001:db8::1'] }, `${P}.in[0]`, /IPv6 in brackets/],
  [{ prefix: 'api.example.com:' }, `${P}.prefix`, /without its port/],
  [{ suffix: ':8443' }, `${P}.suffix`, /without its port/],
  [{ suffix: ']:443' }, `${P}.suffix`, /without its port/],
];

const METHODS_LOAD: readonly Loads[] = [
  [{ equals: 'post' }, ['POST'], ['GET']],
  [{ equals: 'Post' }, ['POST'], ['PUT']],
  [{ equals: 'POST' }, ['POST'], ['post']], // control
  [{ in: ['get', 'head'] }, ['GET', 'HEAD'], ['POST']],
  [{ prefix: 'p' }, ['POST', 'PUT', 'PATCH'], ['GET']],
  [{ suffix: 'te' }, ['DELETE'], ['GET']],
  [{ equals: 'm-search' }, ['M-SEARCH'], ['GET']],
  [{ regex: '^P' }, ['POST'], ['GET']], // control
];

const M = '$.rules[0].match.method';
const METHODS_REFUSED: readonly Refused[] = [
  [{ equals: '' }, `${M}.equals`, /not a method/],
  [{ equals: 'GET ' }, `${M}.equals`, /not a method/],
  [{ equals: 'po st' }, `${M}.equals`, /not a method/],
  [{ in: ['GET', 'PO/ST'] }, `${M}.in[1]`, /not a method/],
  [{ prefix: 'P(' }, `${M}.prefix`, /not a method/],
  [{ suffix: 'ü' }, `${M}.suffix`, /not a method/],
];

function refusal(match: unknown): { path: string; message: string }[] {
  try {
    parseConfig(doc(match), { regex: re2 });
  } catch (err) {
    if (isGraylaneError(err) && err.code === 'INVALID_CONFIG') return [...err.issues];
    throw err;
  }
  return [];
}

describe('review 127 D2: host and method literals as the platforms deliver them', () => {
  it.each(HOSTS_LOAD)('host %j loads and matches the delivered host', (matcher, hits, misses) => {
    const config = parseConfig(doc({ host: matcher }), { regex: re2 });
    for (const raw of hits)
      expect(decide(config, { host: hostOnly(raw) }).version, raw).toBe('beta');
    for (const raw of misses)
      expect(decide(config, { host: hostOnly(raw) }).version, raw).toBe('stable');
  });

  it.each(HOSTS_REFUSED)('host %j is refused at %s', (matcher, path, message) => {
    const issues = refusal({ host: matcher });
    expect(issues.map((i) => i.path)).toEqual([path]);
    expect(issues[0]?.message).toMatch(message);
  });

  it.each(METHODS_LOAD)('method %j loads and matches the delivered method', (m, hits, misses) => {
    const config = parseConfig(doc({ method: m }), { regex: re2 });
    for (const method of hits) expect(decide(config, { method }).version, method).toBe('beta');
    for (const method of misses) expect(decide(config, { method }).version, method).toBe('stable');
  });

  it.each(METHODS_REFUSED)('method %j is refused at %s', (matcher, path, message) => {
    const issues = refusal({ method: matcher });
    expect(issues.map((i) => i.path)).toEqual([path]);
    expect(issues[0]?.message).toMatch(message);
  });

  it.each([
    [
      { host: { equals: 'API.Example.com' } },
      { host: 'api.example.com' },
      'equals "api.example.com"',
    ],
    [{ host: { in: ['A.x', 'b.x'] } }, { host: 'a.x' }, 'is one of "a.x", "b.x"'],
    [{ method: { equals: 'post' } }, { method: 'POST' }, 'equals "POST"'],
    [{ method: { prefix: 'p' } }, { method: 'PUT' }, 'starts with "P"'],
  ])('explain shows the value compared: %j', (match, request, shown) => {
    const config = parseConfig(doc(match), { regex: re2 });
    const out = explain(config, request);
    expect(out.decision.version).toBe('beta');
    expect(out.rules[0]?.details.join(' ')).toContain(shown);
  });

  it('a header named twice in different case loads with a warning (both must hold)', () => {
    const r = validateConfig(doc({ header: { 'X-A': { equals: '1' }, 'x-a': { equals: '2' } } }));
    expect(r.ok && r.warnings.map((w) => w.path)).toEqual(['$.rules[0].match.header.x-a']);
    const once = validateConfig(
      doc({ header: { 'X-A': { equals: '1' }, 'x-b': { equals: '2' } } }),
    );
    expect(once.ok && once.warnings).toEqual([]); // control
  });
});

// Review 134 D4: an `equals`/`in` host literal is brought to the URL host parser's form (what
// `hostOnly`, a Fetch URL's `hostname` and `location.hostname` deliver), or refused when that
// parser refuses it; a `prefix`/`suffix` holding what no such host has is refused, with the
// spelling to write. Before, `bücher.example` or `[::ffff:127.0.0.1]` loaded and never matched
// where a browser or Fetch delivered the host.
const CANONICAL_LOAD: readonly (readonly [matcher: object, shown: string, hits: string[]])[] = [
  [{ equals: 'bücher.example' }, 'xn--bcher-kva.example', ['xn--bcher-kva.example:8080']],
  [{ equals: 'BÜCHER.example' }, 'xn--bcher-kva.example', ['XN--BCHER-KVA.example']],
  [{ equals: 'xn--bcher-kva.example' }, 'xn--bcher-kva.example', ['bücher.example']], // control
  [{ in: ['a.example', 'faß.de'] }, 'xn--fa-hia.de', ['xn--fa-hia.de']],
  [{ equals: '[::ffff:127.0.0.1]' }, '[::ffff:7f00:1]', ['[::ffff:7f00:1]:80']],
  [{ equals: '[::FFFF:7F00:1]' }, '[::ffff:7f00:1]', ['[::ffff:127.0.0.1]']],
  [{ equals: '[0:0:0:0:0:0:0:1]' }, '[::1]', ['[::1]:5173']],
  [{ equals: '127.1' }, '127.0.0.1', ['127.0.0.1:3000', '0x7f.1']],
  [{ equals: '0x7f.0.0.1' }, '127.0.0.1', ['127.0.0.1']],
  [{ in: ['2130706433'] }, '127.0.0.1', ['127.0.0.1']],
  [{ equals: 'shop%2eexample' }, 'shop.example', ['shop.example']],
  [{ equals: 'Shop.Example.' }, 'shop.example.', ['shop.example.:8080']], // control
  [{ prefix: 'xn--bcher' }, 'xn--bcher', ['bücher.example']],
  [{ suffix: '.xn--bcher-kva.example' }, '.xn--bcher-kva.example', ['www.bücher.example']],
  [{ prefix: '127.' }, '127.', ['0x7f.1', '2130706433:80']],
  [{ suffix: '.Example' }, '.example', ['WWW.example']], // control
];

const NEVER = /never matches: the host is matched as a URL's hostname/;
const CANONICAL_REFUSED: readonly (readonly [matcher: object, path: string, message: RegExp])[] = [
  [{ equals: 'a.1' }, `${P}.equals`, NEVER],
  [{ equals: 'shop.example.123' }, `${P}.equals`, NEVER],
  [{ equals: '256.0.0.1' }, `${P}.equals`, NEVER],
  [{ equals: 'shop%zz' }, `${P}.equals`, NEVER],
  [{ equals: 'xn--abc' }, `${P}.equals`, NEVER],
  [{ equals: 'shop example' }, `${P}.equals`, NEVER],
  [{ equals: ' shop.example' }, `${P}.equals`, NEVER],
  [{ equals: 'user@shop.example' }, `${P}.equals`, NEVER],
  [{ equals: 'shop.example/x' }, `${P}.equals`, NEVER],
  [{ equals: '[::1' }, `${P}.equals`, NEVER],
  [{ equals: '[zz::1]' }, `${P}.equals`, NEVER],
  [{ equals: '' }, `${P}.equals`, NEVER],
  [{ in: ['a.example', 'b%2f.example'] }, `${P}.in[1]`, NEVER],
  [{ suffix: '.bücher.example' }, `${P}.suffix`, /write "\.xn--bcher-kva\.example"/],
  [{ prefix: 'bücher.' }, `${P}.prefix`, /write "xn--bcher-kva\."/],
  [{ suffix: '%2eexample' }, `${P}.suffix`, /write "\.example"/],
  [{ prefix: 'shop ' }, `${P}.prefix`, /never matches: .*\("\[::1\]"\)$/],
  [{ prefix: '[::ffff:127.' }, `${P}.prefix`, /IPv6 in brackets and hex/],
  [{ suffix: '.0.0.1]' }, `${P}.suffix`, /IPv6 in brackets and hex/],
];

describe('review 134 D4: host literals in the URL host form', () => {
  it.each(CANONICAL_LOAD)('host %j loads as %j and matches', (matcher, shown, hits) => {
    const config = parseConfig(doc({ host: matcher }), { regex: re2 });
    const out = explain(config, { host: hostOnly(hits[0]) });
    expect(out.rules[0]?.details.join(' ')).toContain(JSON.stringify(shown));
    for (const raw of hits)
      expect(decide(config, { host: hostOnly(raw) }).version, raw).toBe('beta');
    // Whatever a Fetch URL gives for that Host decides alike (the Web engine's host).
    for (const raw of hits)
      expect(decide(config, { host: new URL(`http://${raw}/`).hostname }).version, raw).toBe(
        'beta',
      );
  });

  it.each(CANONICAL_REFUSED)('host %j is refused at %s', (matcher, path, message) => {
    const issues = refusal({ host: matcher });
    expect(issues.map((i) => i.path)).toEqual([path]);
    expect(issues[0]?.message).toMatch(message);
  });
});
