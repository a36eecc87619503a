import type { ServerResponse } from 'node:http';
import { Transform, pipeline, type TransformCallback } from 'node:stream';
import type { LaneFile } from './files.js';

/**
 * Streams exactly `file.stat.size` bytes: the `Content-Length` already sent came from that
 * `fstat`. A file rewritten in place while it is streamed (a deploy copying over the build)
 * must not put more bytes on the wire than announced (the client would read the rest as the
 * next response on the keep-alive connection), nor fewer (it would wait for them, and the next
 * response would be read as this body): bytes past the size are never read, and a file that
 * ended early destroys the response, which closes the connection, instead of ending it.
 */
export function streamFile(file: LaneFile, res: ServerResponse): void {
  const size = file.stat.size;
  if (size === 0) {
    // `createReadStream({ end: -1 })` would read the whole file: nothing to read at all.
    void file.handle.close().catch(() => undefined);
    res.end();
    return;
  }
  const stream = file.handle.createReadStream({ start: 0, end: size - 1 });
  pipeline(stream, new ExactLength(size), res, () => {
    // pipeline destroys every stream on error (client gone, read error, short file): the
    // response is then cut off, never ended short.
  });
}

/** Passes bytes through and fails at the end when fewer than `size` went by. */
class ExactLength extends Transform {
  private seen = 0;
  constructor(private readonly size: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    done(
      this.seen === this.size
        ? null
        : new Error(`[graylane] file changed while streamed: ${this.seen} of ${this.size} bytes`),
    );
  }
}
