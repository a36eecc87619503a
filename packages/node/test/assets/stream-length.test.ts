/**
 * A file rewritten on disk while it is streamed (a deploy copying over the build in place),
 * behind real express and the real graylane middleware, on a raw keep-alive connection (found
 * by an outside-style review). `Content-Length` comes from the `fstat` of the open file; the
 * body was read to end of file. A file that grew put more bytes on the wire than announced (the
 * client read the rest as the next response: a smuggled `HTTP/1.1 200` from the file), one that
 * shrank fewer (the client waited for them and read the next response as this body). Now
 * exactly the announced bytes go out, or the connection is cut.
 *
 * The change is made when the head goes out: after the first read of the file, before the next.
 */
import http from 'node:http';
import net from 'node:net';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graylaneExpress } from '../../src/adapters/express.js';
import { createAssetLanes, MAX_HTML_BYTES } from '../../src/assets/index.js';
import { closeAll, listen, type Running } from '../helpers.js';

const CONFIG = { versions: ['stable', 'beta'], default: 'stable' };
/** What a response on the connection after a smuggled one would start with. */
const SMUGGLED = 'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nSMUGGLE';

type Change = (path: string, size: number) => void;
/** `shrinks`: ends before the announced length; `sameBytes`: the bytes read are the original's. */
const CHANGES: Record<string, { change: Change; shrinks: boolean; sameBytes: boolean }> = {
  'grows by 1 byte': { change: (p) => appendFileSync(p, 'x'), shrinks: false, sameBytes: true },
  'grows by a smuggled response': {
    change: (p) => appendFileSync(p, SMUGGLED),
    shrinks: false,
    sameBytes: true,
  },
  'grows by 1 MiB': {
    change: (p) => appendFileSync(p, Buffer.alloc(1 << 20, 0x62)),
    shrinks: false,
    sameBytes: true,
  },
  'is truncated to 0': { change: (p) => truncateSync(p, 0), shrinks: true, sameBytes: true },
  'loses its last byte': {
    change: (p, size) => truncateSync(p, size - 1),
    shrinks: true,
    sameBytes: true,
  },
  'is cut in half': {
    change: (p, size) => truncateSync(p, size >> 1),
    shrinks: true,
    sameBytes: true,
  },
  'is rewritten shorter in place': {
    change: (p) => writeFileSync(p, 'short'),
    shrinks: true,
    sameBytes: true,
  },
  'is rewritten longer in place': {
    change: (p, size) => writeFileSync(p, Buffer.alloc(size + 100, 0x63)),
    shrinks: false,
    // Past the first read, the new content: the right length, a mixed copy.
    sameBytes: false,
  },
  // An atomic deploy (a new file renamed over the old) or a removal: the open file is unchanged.
  'is replaced by rename': {
    change: (p) => {
      writeFileSync(`${p}.new`, SMUGGLED.repeat(3));
      renameSync(`${p}.new`, p);
    },
    shrinks: false,
    sameBytes: true,
  },
  'is unlinked': { change: (p) => unlinkSync(p), shrinks: false, sameBytes: true },
  'is not changed': { change: () => undefined, shrinks: false, sameBytes: true },
};

let dir: string;
let root: string;
let gw: Running;
/** Row id → the change to make when that response's head goes out. */
const pending = new Map<string, () => void>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-stream-'));
  root = join(dir, 'web');
  mkdirSync(join(root, 'stable/assets'), { recursive: true });
  mkdirSync(join(root, 'beta'), { recursive: true });
  writeFileSync(join(root, 'stable/index.html'), '<html><head></head></html>');
  writeFileSync(join(root, 'stable/robots.txt'), 'stable robots');
  const app = express();
  app.use(graylaneExpress({ config: CONFIG }));
  app.use((req: Request, res: Response, next: NextFunction) => {
    const change = pending.get(String(req.headers['x-row']));
    if (change) {
      const writeHead = res.writeHead as (...args: unknown[]) => Response;
      res.writeHead = function (this: Response, ...args: unknown[]) {
        change();
        return writeHead.apply(this, args);
      } as Response['writeHead'];
    }
    next();
  });
  app.use(createAssetLanes({ root, fallback: 'stable' }));
  gw = await listen(http.createServer(app));
});
afterAll(async () => {
  await closeAll();
  rmSync(dir, { recursive: true, force: true });
});

interface Exchange {
  readonly contentLength: number;
  /** Bytes after the head, up to the announced length. */
  readonly body: Buffer;
  /** What came after the announced body: the next response on the connection, if all is well. */
  readonly rest: string;
  /** The server closed the connection, unasked, before the announced body was complete. */
  readonly cutShort: boolean;
}

/**
 * GET `target` on a keep-alive connection; once its announced body is in (or the server closed,
 * or nothing more came), ask for `/robots.txt` on the same connection and read until it closes.
 */
function exchange(target: string, row: string): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = net.connect(gw.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let head = -1;
    let length = -1;
    let closed = false;
    let cutShort = false;
    let asked = false;
    const askNext = () => {
      if (asked || closed) return;
      asked = true;
      socket.write('GET /robots.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    };
    const idle = setTimeout(askNext, 1500);
    const done = () => {
      clearTimeout(idle);
      clearTimeout(guard);
      const body = head < 0 ? Buffer.alloc(0) : buf.subarray(head + 4, head + 4 + length);
      const rest = head < 0 ? '' : buf.subarray(head + 4 + length).toString('latin1');
      resolve({ contentLength: length, body, rest, cutShort });
    };
    const guard = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (head < 0) {
        head = buf.indexOf('\r\n\r\n');
        if (head >= 0)
          length = Number(/content-length: (\d+)/i.exec(buf.subarray(0, head).toString())?.[1]);
      }
      // The server answers the next request only after this response: extra bytes (a file
      // that grew) still come before it.
      if (head >= 0 && buf.length >= head + 4 + length) askNext();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      // Closed by the server on its own, not after answering the next request.
      cutShort = !asked && head >= 0 && buf.length < head + 4 + length;
      done();
    });
    socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nX-Gray-Id: stable\r\nX-Row: ${row}\r\n\r\n`);
  });
}

const SIZES = [1, 1000, 65_536, 65_537, 300_000];
const NAMES = [
  (i: number) => `s${i}.bin`, // a lane file: private, no-cache
  (i: number) => `assets/s${i}-7QZ3X2AB.js`, // content-hashed: immutable
];
const rows = Object.entries(CHANGES).flatMap(([what, c]) =>
  SIZES.flatMap((size) => NAMES.map((name) => [what, size, name, c] as const)),
);

describe('AST-21 a file changed while streamed: exactly the announced bytes, or the connection cut', () => {
  it.each(rows.map((r, i) => [r[0], r[1], r[2](i), r[3], i] as const))(
    'a file that %s (%i bytes, %s)',
    async (_what, size, rel, { change, shrinks, sameBytes }, i) => {
      const path = join(root, 'stable', rel);
      mkdirSync(dirname(path), { recursive: true });
      const original = Buffer.alloc(size, 0x61);
      original[size - 1] = 0x7a; // the last byte is `z`: a cut-off copy differs
      writeFileSync(path, original);
      pending.set(String(i), () => change(path, size));
      const r = await exchange(`/${rel}`, String(i));
      pending.delete(String(i));
      expect(r.contentLength).toBe(size);
      // The change was made after the first read (64 KiB): only a larger file can end short.
      if (shrinks && size > 65_536) {
        expect(r.cutShort).toBe(true);
        expect(r.rest).toBe('');
        return;
      }
      expect(r.cutShort).toBe(false);
      expect(r.body.length).toBe(size);
      if (sameBytes || size <= 65_536) expect(r.body.equals(original)).toBe(true);
      // The connection stays usable: the next bytes are the next response, nothing of the file.
      expect(r.rest.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
      expect(r.rest.endsWith('\r\n\r\nstable robots')).toBe(true);
      expect(r.rest).not.toContain('SMUGGLE');
    },
  );

  it('HTML over the injection cap is streamed the same way', async () => {
    const path = join(root, 'stable/big.html');
    const size = MAX_HTML_BYTES + 1;
    writeFileSync(path, Buffer.alloc(size, 0x20));
    for (const [row, change] of [
      ['big-grow', () => appendFileSync(path, SMUGGLED)],
      ['big-shrink', () => truncateSync(path, 100_000)],
    ] as const) {
      if (row === 'big-shrink') writeFileSync(path, Buffer.alloc(size, 0x20));
      pending.set(row, change);
      const r = await exchange('/big.html', row);
      pending.delete(row);
      expect(r.contentLength).toBe(size);
      if (row === 'big-grow') expect(r.rest.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
      else expect([r.cutShort, r.rest]).toEqual([true, '']);
    }
  });

  it('an empty file: no body, the connection stays usable', async () => {
    writeFileSync(join(root, 'stable/empty.js'), '');
    pending.set('empty', () => appendFileSync(join(root, 'stable/empty.js'), SMUGGLED));
    const r = await exchange('/empty.js', 'empty');
    expect([r.contentLength, r.body.length, r.cutShort]).toEqual([0, 0, false]);
    expect(r.rest.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
  });
});
