// Review 127 D2 on the Web engine: a Fetch `Request`'s URL gives the host lower-cased without its
// port and the method upper-cased (the standard ones), so a rule written `API.Example.com` or
// `post` matches, and a host with a port is refused at `createGraylane`.
import { describe, expect, it } from 'vitest';
import { createGraylane } from '../src/index.js';

const config = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    { id: 'host', match: { host: { equals: 'API.Example.com' } }, version: 'beta' },
    { id: 'method', match: { method: { equals: 'post' } }, version: 'canary' },
  ],
};

describe('review 127 D2 @graylane/web: host and method rules match what Fetch delivers', () => {
  it.each([
    ['https://api.example.com/', 'GET', 'beta'],
    ['https://API.EXAMPLE.COM:8443/x', 'GET', 'beta'],
    ['https://other.example/', 'post', 'canary'],
    ['https://other.example:8080/', 'POST', 'canary'],
    ['https://other.example/', 'GET', 'stable'], // control
  ])('%s %s → %s', async (url, method, version) => {
    const gray = createGraylane({ config });
    const outcome = await gray.decide(new Request(url, { method }));
    expect(outcome.decision.version).toBe(version);
  });

  it('createGraylane refuses a host with a port (INVALID_CONFIG, the path named)', () => {
    const bad = {
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [{ id: 'r', version: 'beta', match: { host: { equals: 'api.example.com:443' } } }],
    };
    expect(() => createGraylane({ config: bad })).toThrow(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        issues: [expect.objectContaining({ path: '$.rules[0].match.host.equals' })],
      }),
    );
  });
});
