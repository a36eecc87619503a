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
