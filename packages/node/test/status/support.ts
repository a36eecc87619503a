import http from 'node:http';
import { createRequire } from 'node:module';
import { STATUS_REPORT_SCHEMA } from '@graylane/core';
import { expect } from 'vitest';

/** A valid config document with the given rules. */
export function rulesDoc(rules: readonly { id: string; version: string }[] = []): string {
  return JSON.stringify({
    versions: ['stable', 'beta', 'canary'],
    default: 'stable',
    rules: rules.map((r) => ({ ...r, match: { path: { prefix: `/${r.id}` } } })),
  });
}

export const CONFIG = { versions: ['stable', 'beta', 'canary'], default: 'stable' } as const;

/** A bearer token the tests configure. */
export const TOKEN = 'Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtb2YtcmFuZG9t';

/** What one raw HTTP exchange returned. */
export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/**
 * One request with node:http, so header lines go on the wire exactly as given: an array value
 * sends the header twice (fetch would combine it into one line).
 */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string | string[]> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * ajv 8 (draft 2020-12) is a devDependency of @graylane/core; the hoisted root copy is ajv 6.
 * Resolve it from core until @graylane/node lists ajv itself.
 */
interface Validator {
  (data: unknown): boolean;
  errors?: unknown[] | null;
}
const { Ajv2020 } = createRequire(new URL('../../../core/package.json', import.meta.url))(
  'ajv/dist/2020.js',
) as { Ajv2020: new (options: object) => { compile(schema: object): Validator } };
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(STATUS_REPORT_SCHEMA);

/** Parses a JSON answer and checks it against the published schema. */
export function validReport(reply: Reply): ReturnType<typeof JSON.parse> {
  expect(reply.status).toBe(200);
  expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
  const report = JSON.parse(reply.body);
  validate(report);
  expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
  return report;
}

/** Polls until `check()` holds, or throws after `ms`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Strings that break out of HTML text, attributes, script or style when not escaped. */
export const HOSTILE: readonly string[] = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'><svg onload=alert(1)>",
  '</script><script>alert(2)</script>',
  '</style><style>body{display:none}</style>',
  '<iframe srcdoc="<script>alert(3)</script>">',
  '&lt;b&gt;already-escaped&lt;/b&gt;',
  '</title><h1>x',
];
