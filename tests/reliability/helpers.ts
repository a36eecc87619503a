import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** A loopback server that `closeAll` stops (connections included). */
export interface Listening {
  readonly server: http.Server;
  readonly port: number;
  readonly url: string;
}

const open: http.Server[] = [];

/** Listens on 127.0.0.1:0 and registers the server for {@link closeAll}. */
export async function listen(server: http.Server): Promise<Listening> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push(server);
  const { port } = server.address() as AddressInfo;
  return { server, port, url: `http://127.0.0.1:${port}` };
}

/** Closes every server opened by {@link listen}, dropping idle and active keep-alive sockets. */
export async function closeAll(): Promise<void> {
  await Promise.all(
    open.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    ),
  );
}

/**
 * One `GET` written byte for byte over a socket, so a test controls what no client API lets it:
 * the case of a name, the same header on several lines. Resolves to the response body (chunked
 * framing removed); an empty string when the server closed or sent nothing in 5 s.
 */
export function rawGet(port: number, lines: readonly string[], path = '/p'): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let got = '';
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      const body = got.slice(got.indexOf('\r\n\r\n') + 4);
      resolve(
        /transfer-encoding: chunked/i.test(got)
          ? body.replace(/^[0-9a-f]+\r\n/, '').replace(/\r\n0\r\n\r\n$/, '')
          : body,
      );
    };
    const timer = setTimeout(done, 5_000);
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (got += d));
    sock.on('error', done);
    sock.on('close', done);
    sock.write(
      `GET ${path} HTTP/1.1\r\nHost: x\r\n${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`,
    );
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `check()` holds, or throws after `ms` (generous: the machine is shared). */
export async function waitFor(
  check: () => boolean,
  ms = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** One response of {@link keepAliveLoad}. */
export interface LoadSample {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
  readonly tag: string;
}

/** What {@link keepAliveLoad} measured. */
export interface LoadResult {
  readonly samples: LoadSample[];
  readonly errors: number;
  readonly elapsedMs: number;
  readonly rps: number;
}

/**
 * A simple closed-loop keep-alive client: `connections` workers each send requests back to back
 * until `total` requests were sent or `durationMs` passed. `build(i)` returns the headers and a
 * tag for request i. Errors are counted, never thrown.
 */
export async function keepAliveLoad(options: {
  url: string;
  connections: number;
  total?: number;
  durationMs?: number;
  build: (i: number) => { headers: Record<string, string>; tag: string; path?: string };
  keepBodies?: boolean;
  onSample?: (s: LoadSample) => void;
  /** Stops early when this returns true (checked before each request). */
  until?: () => boolean;
}): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const samples: LoadSample[] = [];
  let errors = 0;
  let next = 0;
  const total = options.total ?? Number.POSITIVE_INFINITY;
  const t0 = performance.now();
  const deadline = options.durationMs === undefined ? Infinity : t0 + options.durationMs;
  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const { headers, tag, path } = options.build(i);
      const start = performance.now();
      const req = http.get(`${options.url}${path ?? '/'}`, { agent, headers }, (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          const s = { status: res.statusCode ?? 0, body, ms: performance.now() - start, tag };
          if (options.keepBodies !== false) samples.push(s);
          options.onSample?.(s);
          resolve();
        });
        res.on('error', () => {
          errors++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
    });
  const worker = async (): Promise<void> => {
    while (next < total && performance.now() < deadline && !options.until?.()) await one(next++);
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  const elapsedMs = performance.now() - t0;
  agent.destroy();
  return { samples, errors, elapsedMs, rps: (next / elapsedMs) * 1000 };
}

/** The p-th percentile (0–100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
