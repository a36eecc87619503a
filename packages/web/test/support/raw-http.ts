import { connect } from 'node:net';

/** What a raw HTTP/1.1 exchange answered. */
export interface RawAnswer {
  readonly status: number;
  /** Header lines, `name: value`, as sent. */
  readonly headers: readonly string[];
  readonly body: string;
}

/**
 * Sends one request as written (`target` byte for byte, `lines` as header lines) over TCP
 * (`{ port }` on 127.0.0.1) or a Unix domain socket (`{ path }`), `Connection: close`, and reads
 * the whole answer. A chunked body is joined.
 */
export function rawRequest(
  to: { readonly port: number } | { readonly path: string },
  target: string,
  lines: readonly string[],
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = 'port' in to ? connect(to.port, '127.0.0.1') : connect(to.path);
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to ${target}`)));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = text.slice(0, end).split('\r\n');
      const headers = head.slice(1);
      let body = text.slice(end + 4);
      if (headers.some((h) => /^transfer-encoding:\s*chunked/i.test(h))) body = unchunk(body);
      resolve({ status: Number(head[0]?.split(' ')[1]), headers, body });
    });
    socket.write(
      `GET ${target} HTTP/1.1\r\nHost: app.example\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`,
    );
  });
}

function unchunk(body: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    const size = parseInt(body.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += body.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

/** The `Set-Cookie` values of an answer. */
export function setCookies(answer: RawAnswer): string[] {
  return answer.headers
    .filter((h) => /^set-cookie:/i.test(h))
    .map((h) => h.slice(h.indexOf(':') + 1).trim());
}
