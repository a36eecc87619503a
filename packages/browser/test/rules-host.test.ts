// @vitest-environment happy-dom
// Review 127 D2 in the page: `rulesFromConfig` matches the host as servers do — lower-case,
// without the port (`location.hostname`, not `location.host`) — so one rule decides alike on
// the server and in a page on a dev port or behind an explicit port.
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '@graylane/core';
import { rulesFromConfig } from '../src/index.js';
import { at } from './page.js';

afterEach(() => at('http://localhost:3000/'));

const rules = (host: object) =>
  rulesFromConfig(
    parseConfig({
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [{ id: 'h', match: { host }, version: 'beta' }],
    }),
  );

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
