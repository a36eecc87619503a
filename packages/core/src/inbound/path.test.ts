import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyBudget, propertyTimeout } from '../../../../tools/fc-budget.js';
import { rulePath } from './path.js';

describe('REQ-03 the path the rules match', () => {
  it.each([
    // Unchanged: nothing to do.
    ['/', '/'],
    ['/admin', '/admin'],
    ['/admin/', '/admin/'],
    ['/ADMIN', '/ADMIN'],
    ['/app.js', '/app.js'],
    ['/a..b/c.', '/a..b/c.'],
    ['*', '*'],
    ['', ''],
    // Unreserved characters percent-encoded, either hex case.
    ['/%61dmin', '/admin'],
    ['/%61%64%6D%69%6e', '/admin'],
    ['/adm%49n', '/admIn'],
    ['/%7Euser/%2Dx%5F%2E', '/~user/-x_.'],
    ['/a%30b', '/a0b'],
    // Other escapes stay as they came.
    ['/a%2Fb', '/a%2Fb'],
    ['/a%2fb', '/a%2fb'],
    ['/a%20b', '/a%20b'],
    ['/caf%C3%A9', '/caf%C3%A9'],
    ['/%25', '/%25'],
    ['/%2', '/%2'],
    ['/%zz', '/%zz'],
    ['/%%61', '/%a'],
    // Dot segments, literal and encoded.
    ['/./admin', '/admin'],
    ['/x/../admin', '/admin'],
    ['/../admin', '/admin'],
    ['/../../../admin', '/admin'],
    ['/a/b/../../admin/./users', '/admin/users'],
    ['/%2e/admin', '/admin'],
    ['/%2E%2E/admin', '/admin'],
    ['/x/.%2e/admin', '/admin'],
    ['/admin/.', '/admin/'],
    ['/admin/..', '/'],
    ['/a//../b', '/a/b'],
    ['/a/.b/..', '/a/'],
    ['//.a/../', '//'],
    ['/..', '/'],
    ['/.', '/'],
    // A backslash is a slash, as the WHATWG URL parser reads http(s) paths.
    ['/x\\..\\admin', '/admin'],
    ['\\admin', '/admin'],
    ['/admin\\users', '/admin/users'],
  ])('REQ-03 %j matches as %j', (path, want) => {
    expect(rulePath(path)).toBe(want);
  });

  // One property (one time box): any mix of unreserved characters, their escapes in either hex
  // case, slashes, backslashes, dot segments literal and encoded, and escapes that stay.
  const unreserved = fc.constantFrom(...'abcXYZ019-._~');
  const hex = (c: string) => c.charCodeAt(0).toString(16);
  const part = fc.oneof(
    unreserved,
    unreserved.map((c) => `%${hex(c)}`),
    unreserved.map((c) => `%${hex(c).toUpperCase()}`),
    fc.constantFrom('/', '\\', '.', '..', '/./', '/../', '%2e', '%2E', '%2F', '%20', '//'),
  );
  const SPEC_URL = new URL('http://h/a/.b/..').pathname === '/a/';
  const decodeUnreserved = (p: string) =>
    p.replace(/%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])/g, (_, h: string) =>
      String.fromCharCode(parseInt(h, 16)),
    );
  it(
    'REQ-03 idempotent; a WHATWG-parsed or unreserved-decoded spelling matches as the same path',
    () => {
      fc.assert(
        fc.property(fc.array(part, { maxLength: 16 }), (parts) => {
          const p = `/${parts.join('')}`;
          const once = rulePath(p);
          expect(rulePath(once)).toBe(once);
          // What hono, Next.js and Workers route on (the WHATWG URL's path) matches the same rules.
          expect(rulePath(new URL(`http://h${p}`).pathname)).toBe(once);
          expect(rulePath(decodeUnreserved(p))).toBe(once);
          // Only dot segments and backslashes to remove: exactly the WHATWG URL's path, where the
          // runtime's parser follows the standard (Node 20's ada leaves `..` after a segment
          // that starts with a dot: `/a/.b/..`; Node 24's does not).
          if (SPEC_URL && !p.includes('%')) expect(once).toBe(new URL(`http://h${p}`).pathname);
        }),
        propertyBudget(),
      );
    },
    propertyTimeout(),
  );
});
