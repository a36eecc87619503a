import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createGraylane, getGrayDecision, type GraylaneOptions } from '../src/index.js';

/** A running server on 127.0.0.1 with an idempotent close that also drops keep-alive sockets. */
export interface Running {
  readonly port: number;
  readonly url: string;
  readonly server: http.Server;
  close(): Promise<void>;
}

const open = new Set<Running>();

/** Starts `server` on 127.0.0.1:0; `closeAll()` in afterEach stops everything a test started. */
export async function listen(server: http.Server | net.Server): Promise<Running> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  const running: Running = {
    port,
    url: `http://127.0.0.1:${port}`,
    server: server as http.Server,
    close() {
      closed ??= new Promise<void>((resolve) => {
        (server as http.Server).closeAllConnections?.();
        server.close(() => resolve());
      });
      open.delete(running);
      return closed;
    },
  };
  open.add(running);
  return running;
}

export async function closeAll(): Promise<void> {
  await Promise.all([...open].map((r) => r.close()));
}

export const CONFIG = { versions: ['stable', 'beta', 'canary'], default: 'stable' } as const;

/**
 * A `stable`/`beta` config whose one rule, `ramp`, sends `betaWeight` in 100 subjects to `beta`
 * and the rest to `stable`, bucketed by `bucketBy` (`cookie:gid`, `header:x-user`).
 */
export function splitConfig(betaWeight: number, bucketBy: string) {
  return {
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [
      {
        id: 'ramp',
        split: [
          { version: 'beta', weight: betaWeight },
          { version: 'stable', weight: 100 - betaWeight },
        ],
        bucketBy,
      },
    ],
  };
}

/** A node:http server whose handler answers the decision as JSON. */
export async function decisionServer(
  options: Partial<GraylaneOptions> = {},
): Promise<Running & { gray: ReturnType<typeof createGraylane> }> {
  const gray = createGraylane({ config: CONFIG, ...options });
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) =>
    gray.handle(req, res, () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(getGrayDecision() ?? null));
    }),
  );
  return Object.assign(await listen(server), { gray });
}

/** Sends raw bytes and resolves with the whole response text (the server closes or `timeoutMs` passes). */
export function rawRequest(port: number, raw: string | Buffer, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const text = Buffer.concat(chunks).toString('latin1');
      if (
        /\r\n\r\n/.test(text) &&
        (/content-length: 0\r\n/i.test(text) || text.endsWith('}') || text.endsWith('null'))
      )
        socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.write(raw);
  });
}

/** The JSON body of a raw HTTP response. */
export function rawBody(response: string): unknown {
  const body = response.slice(response.indexOf('\r\n\r\n') + 4);
  return JSON.parse(body) as unknown;
}

/** GET with headers through undici fetch, returning the decision. */
export async function decisionFor(
  url: string,
  headers: Record<string, string> = {},
): Promise<{
  version: string;
  reason: string;
  source: string;
  ruleId?: string;
  rejected?: { source: string; reason: string };
}> {
  const res = await fetch(url, { headers });
  return (await res.json()) as never;
}

/** An upstream that echoes the headers it received. */
export async function echoServer(): Promise<Running & { seen: IncomingMessage['headers'][] }> {
  const seen: IncomingMessage['headers'][] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ headers: req.headers, raw: req.rawHeaders }));
  });
  return Object.assign(await listen(server), { seen });
}

/** A GET of `/p` over h2c to 127.0.0.1:`port` with `headers`; its body, read as JSON. */
export function h2Json<T>(port: number, headers: http2.OutgoingHttpHeaders): Promise<T> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', reject);
    const req = client.request({ ':path': '/p', ...headers });
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      client.close();
      try {
        resolve(JSON.parse(body) as T);
      } catch (err) {
        reject(err as Error);
      }
    });
    req.on('error', reject);
    req.end();
  });
}
