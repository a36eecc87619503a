// @vitest-environment happy-dom
// Review 127 D2 in the page: `rulesFromConfig` matches the host as servers do — lower-case,
// without the port (`location.hostname`, not `location.host`) — so one rule decides alike on
// the server and in a page on a dev port or behind an explicit port.
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '@graylane/core';
import { rulesFromConfig } from '../src/index.js';
import { at } from './page.js';

afterEach(() => at('http://localhost:3000/'));

/** The page's rules for one rule matching `match`. */
const rulesFor = (match: object) =>
  rulesFromConfig(
    parseConfig({
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [{ id: 'r', match, version: 'beta' }],
    }),
  );
const rules = (host: object) => rulesFor({ host });

describe('review 127 D2 browser: host rules see the host without its port', () => {
  it.each([
    [{ equals: 'localhost' }, 'http://localhost:3000/', 'beta'],
    [{ equals: 'App.Example.com' }, 'https://app.example.com:8443/p', 'beta'],
    [{ suffix: '.example.com' }, 'https://www.example.com:444/', 'beta'],
    [{ equals: '[::1]' }, 'http://[::1]:5173/', 'beta'],
    [{ equals: 'app.example.com' }, 'https://app.example.com/', 'beta'], // control
    [{ equals: 'other.example' }, 'https://app.example.com:8443/', 'stable'], // control
  ])('%j at %s → %s', (host, url, version) => {
    at(url);
    expect(rules(host)({ anonymousId: '', defaultVersion: 'stable' })?.version).toBe(version);
  });
});

// Review 75 N1 in the page: `rulesFromConfig` matches the path as servers do (core `rulePath`):
// an escaped unreserved character is that character, `\` and dot segments as a URL reads them.
// A page at `/%61dmin` got the `/admin` rule's lane on the server and not in the page.
const pathRules = (path: object) => rulesFor({ path });

describe('review 75 N1 browser: path rules see the path as servers do', () => {
  it.each([
    [{ equals: '/admin' }, 'http://localhost/%61dmin', 'beta'],
    [{ equals: '/admin' }, 'http://localhost/%61%64%6D%69%6E', 'beta'],
    [{ prefix: '/~user/' }, 'http://localhost/%7Euser/x', 'beta'],
    [{ equals: '/a-b.c_d' }, 'http://localhost/a%2Db%2Ec%5Fd', 'beta'],
    [{ equals: '/admin' }, 'http://localhost/x/%2e%2e/admin', 'beta'],
    [{ equals: '/%C3%BCber' }, 'http://localhost/über', 'beta'],
    [{ equals: '/a%2Fb' }, 'http://localhost/a%2Fb', 'beta'], // a reserved escape stays
    [{ equals: '/admin' }, 'http://localhost/a%2Fb', 'stable'], // control
    [{ equals: '/admin' }, 'http://localhost/Admin', 'stable'], // case is matched as sent
  ])('%j at %s → %s', (path, url, version) => {
    at(url);
    expect(pathRules(path)({ anonymousId: '', defaultVersion: 'stable' })?.version).toBe(version);
  });
});
