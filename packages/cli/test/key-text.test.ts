import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGraylaneError } from '@graylane/core';
import { createGraylane, getGrayVersion, signMarker, verifyMarker } from '@graylane/node';
import { runCli } from '../src/index.js';

/*
 * Review 133 D1: security.md has you make a key with `openssl rand -base64 32 > gray.key` and
 * sign with `graylane sign beta --key-file gray.key`. The CLI trims the file; a server given the
 * file's text as read (`readFileSync('gray.key', 'utf8')`, newline and all) used the newline as
 * key bytes and refused every token as `bad_signature`, silently. Key text is trimmed wherever
 * graylane compiles a key, so the file works as read, on either side, in any spelling of the
 * white space around it.
 */
const KID = '2026-11';
const BASE = 'k3Y9bW9yZS10aGFuLTE2LWJ5dGVzLW9mLWtleQ==';
const AROUND: readonly [string, string][] = [
  ['a trailing newline (openssl > file)', `${BASE}\n`],
  ['CRLF (a file saved on Windows)', `${BASE}\r\n`],
  ['two newlines', `${BASE}\n\n`],
  ['a trailing space', `${BASE} `],
  ['a tab and a newline', `${BASE}\t\n`],
  ['a leading space', ` ${BASE}`],
  ['a leading newline and a trailing one', `\n${BASE}\n`],
  ['none (control)', BASE],
];
const CONFIG = { versions: ['stable', 'beta'], default: 'stable' };

let dir: string;
let server: http.Server | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-key-text-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cliSign(keyFile: string): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['sign', 'beta', '--key-file', keyFile, '--kid', KID, '--ttl', '2h'], {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    color: false,
  });
  expect(code, err.join('\n')).toBe(0);
  return out.join('').trim();
}

/** What a signed server reading `key` as given decides for `token` over HTTP. */
async function served(key: string, token: string): Promise<string> {
  const gray = createGraylane({ config: CONFIG, trust: 'signed', keys: { [KID]: key } });
  server = http.createServer((req, res) => gray.handle(req, res, () => res.end(getGrayVersion())));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-gray-id': token } });
    return await res.text();
  } finally {
    await new Promise<void>((r) => server!.close(() => r()));
  }
}

describe('review 133 D1: a key file read with its white space signs and verifies as the CLI reads it', () => {
  it.each(AROUND)(
    '%s: the CLI token is served beta by a server given the file as read',
    async (_n, text) => {
      const file = join(dir, `key-${AROUND.findIndex(([, t]) => t === text)}`);
      writeFileSync(file, text);
      const token = await cliSign(file);
      expect(await served(readFileSync(file, 'utf8'), token)).toBe('beta');
    },
  );

  it.each(AROUND)(
    '%s: signMarker and verifyMarker agree with the trimmed key both ways',
    (_n, text) => {
      const fromRaw = signMarker('beta', { key: text, kid: KID });
      const fromBase = signMarker('beta', { key: BASE, kid: KID });
      expect(verifyMarker(fromRaw, { keys: { [KID]: BASE } })).toMatchObject({
        ok: true,
        version: 'beta',
      });
      expect(verifyMarker(fromBase, { keys: { [KID]: text } })).toMatchObject({
        ok: true,
        version: 'beta',
      });
    },
  );

  it.each([
    ['white space only', ' \n\t '],
    ['15 characters and a newline', `${'k'.repeat(15)}\n`],
    ['15 characters between spaces', `   ${'k'.repeat(15)}   `],
  ])('%s: too short once trimmed is INVALID_OPTIONS at construction', (_n, text) => {
    let error: unknown;
    try {
      createGraylane({ config: CONFIG, trust: 'signed', keys: { [KID]: text } });
    } catch (e) {
      error = e;
    }
    expect(isGraylaneError(error) && error.code).toBe('INVALID_OPTIONS');
  });

  it('(control) a different key is still refused: trimming never widens what verifies', () => {
    const token = signMarker('beta', { key: `${BASE}x`, kid: KID });
    expect(verifyMarker(token, { keys: { [KID]: `${BASE}\n` } })).toMatchObject({ ok: false });
  });
});
