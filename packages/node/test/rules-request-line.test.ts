// Review 127 D2 over a real node:http server: a `host` rule written with upper case
// (`API.Example.com`) and a `method` rule written lower-case (`post`) match what Node delivers —
// the Host header lower-cased without its port, the method upper-case — and a host with a port
// is refused when the server is created (INVALID_CONFIG naming the path), never loaded dead.
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { createGraylane, getGrayDecision } from '../src/index.js';
import { closeAll, listen, rawBody, rawRequest } from './helpers.js';

afterEach(closeAll);

const config = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    { id: 'host', match: { host: { equals: 'API.Example.com' } }, version: 'beta' },
    { id: 'suffix', match: { host: { suffix: '.Internal.EXAMPLE' } }, version: 'beta' },
    { id: 'method', match: { method: { in: ['post', 'Delete'] } }, version: 'canary' },
  ],
};

async function decision(port: number, method: string, host: string) {
  const raw = await rawRequest(
    port,
    `${method} / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
  );
  return rawBody(raw) as { version: string; ruleId?: string };
}

describe('review 127 D2 node:http: host and method rules match what Node delivers', () => {
  it.each([
    ['GET', 'api.example.com', 'beta', 'host'],
    ['GET', 'API.EXAMPLE.COM:8443', 'beta', 'host'],
    ['GET', 'Api.Example.Com:80', 'beta', 'host'],
    ['GET', 'svc.internal.example:9000', 'beta', 'suffix'],
    ['POST', 'other.example', 'canary', 'method'],
    ['DELETE', 'other.example:8080', 'canary', 'method'],
    ['GET', 'other.example', 'stable', undefined], // control
    ['PUT', 'example.com', 'stable', undefined], // control
  ])('%s with Host %s → %s', async (method, host, version, ruleId) => {
    const gray = createGraylane({ config });
    const server = http.createServer((req, res) =>
      gray.handle(req, res, () => res.end(JSON.stringify(getGrayDecision()))),
    );
    const s = await listen(server);
    const d = await decision(s.port, method, host);
    expect(d.version).toBe(version);
    expect(d.ruleId).toBe(ruleId);
  });

  it.each([
    [{ host: { equals: 'api.example.com:8443' } }, '$.rules[0].match.host.equals'],
    [{ host: { in: ['a.example', '[::1]:80'] } }, '$.rules[0].match.host.in[1]'],
    [{ method: { equals: 'GET ' } }, '$.rules[0].match.method.equals'],
  ])('createGraylane refuses %j with INVALID_CONFIG at %s', (match, path) => {
    const bad = {
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [{ id: 'r', version: 'beta', match }],
    };
    expect(() => createGraylane({ config: bad })).toThrow(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        issues: [expect.objectContaining({ path })],
      }),
    );
  });
});
