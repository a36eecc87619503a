import http from 'node:http';
import { coverageStats, installCoverage, runWithGray, withGray } from '@graylane/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger, startTarget, type Target } from './harness.js';

/*
 * I8 (review 53 D1): a call made with no lane bound while a request is in flight is logged as
 * `unbound` with its call site. With no lane there is no lane's allowlist: the host is named only
 * when `installCoverage`'s or `installGlobal`'s list allows it. Any other host may be request
 * input (a webhook URL taken from a body) and is never logged.
 */

const log = memoryLogger();
let a: Target; // allowlisted where a list is given
let b: Target; // never allowlisted: a host a request chose

beforeAll(async () => {
  [a, b] = await Promise.all([startTarget(), startTarget()]);
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
});

/** Coverage logs each call site once: every row starts from no site logged. */
function forgetLoggedSites(): void {
  const state = (globalThis as Record<symbol, { logged?: Set<string> }>)[
    Symbol.for('@graylane/node.coverage.v1')
  ];
  state?.logged?.clear();
}

type Client = (url: string) => Promise<unknown>;
const viaHttp: Client = (url) =>
  new Promise<void>((resolve, reject) => {
    http
      .request(url, { agent: false }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject)
      .end();
  });
const viaFetch: Client = (url) => fetch(url).then((r) => r.text());

type Source = 'installCoverage' | 'none' | 'withGray';
const SOURCES: Source[] = ['installCoverage', 'none', 'withGray'];
const CLIENTS: [string, Client][] = [
  ['fetch', viaFetch],
  ['http.request', viaHttp],
];
const ROWS = SOURCES.flatMap((source) =>
  (['allowlisted', 'request-chosen'] as const).flatMap((dest) =>
    CLIENTS.filter(([name]) => source !== 'withGray' || name === 'fetch').map(
      ([name, client]) => [source, dest, name, client] as const,
    ),
  ),
);

/**
 * Serves one request in lane beta whose work runs on a pool started outside any lane (its
 * context is lost): the pool's job makes the call with no lane bound, while the request waits.
 */
async function unboundCall(call: () => Promise<unknown>): Promise<void> {
  const jobs: (() => void)[] = [];
  const worker = setInterval(() => jobs.shift()?.(), 2);
  const server = http.createServer((req, res) => {
    void runWithGray(
      'beta',
      () =>
        new Promise<void>((done) => {
          jobs.push(() => void call().finally(done));
        }),
    ).then(() => res.end('served'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as { port: number };
    await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
  } finally {
    clearInterval(worker);
    server.closeAllConnections();
    server.close();
  }
}

describe('I8 an unbound call names its host only when allowlisted', () => {
  it.each(ROWS)('I8 list from %s, %s host, %s', async (source, dest, _name, client) => {
    const uninstall = installCoverage({
      logger: log.logger,
      ...(source === 'installCoverage' ? { allowHosts: [a.host] } : {}),
    });
    try {
      forgetLoggedSites();
      const target = dest === 'allowlisted' ? a : b;
      const url = `${target.origin}/hook?token=s3cr3t`;
      const send: Client =
        source === 'withGray' ? (u) => withGray(fetch, { allowHosts: [a.host] })(u) : client;
      const unboundBefore = coverageStats().unbound;
      const linesBefore = log.lines.length;
      await unboundCall(() => send(url));
      expect(coverageStats().unbound - unboundBefore).toBe(1);
      const lines = log.lines.slice(linesBefore).filter((l) => l.includes('no lane bound'));
      expect(lines).toHaveLength(1);
      const line = lines[0] as string;
      // withGray with no lane bound does nothing: its list is not known to the departure.
      const named = source === 'installCoverage' && dest === 'allowlisted';
      expect(line.includes(a.origin)).toBe(named);
      // The request-chosen host, its port, path and query never reach the log.
      expect(line).not.toContain(b.host.split(':')[1] as string);
      expect(line).not.toContain('s3cr3t');
      if (!named) expect(line).toContain('a host that is not allowlisted (unnamed)');
    } finally {
      uninstall();
    }
  });
});
