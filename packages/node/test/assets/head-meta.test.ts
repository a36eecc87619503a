/**
 * AST-23 one hand-off meta (review F10): when graylane injects `<meta name="graylane-version">`,
 * the head ends up with exactly that one — the page's own (an SSR app's, a template's
 * hard-coded one) replaced where it stands, any further one removed — and nothing that only
 * looks like one (in a comment, a script, a title, a template, an attribute value, the body) is
 * touched. Linear on hostile documents (I4). What a browser makes of the same documents is
 * head-meta-chromium.test.ts.
 */
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAssetLanes, type AssetLanesOptions } from '../../src/assets/index.js';
import { injectIntoHead } from '../../src/assets/inject.js';
import { HEAD_WALK_CHARS } from '../../src/assets/limits.js';
import { listen } from '../helpers.js';
import { rawRequest } from './raw.js';
import { SHAPES, TAG } from './head-shapes.js';
import { fastestInterleaved } from './timing.js';

const SCRIPT = '<script>window.__GRAYLANE__={"version":"beta"};</script>';

describe('AST-23 the served head holds exactly one graylane-version meta', () => {
  it.each(SHAPES.map((s) => [s.name, s] as const))('%s', (_name, shape) => {
    expect(injectIntoHead(shape.html, '', TAG)).toBe(shape.out.replace('|', TAG));
  });

  it.each(SHAPES.map((s) => [s.name, s] as const))(
    '%s, with the inline config script: the same meta, one script',
    (_name, shape) => {
      const out = injectIntoHead(shape.html, SCRIPT, TAG);
      expect(out.split(SCRIPT)).toHaveLength(2);
      expect(out.replace(SCRIPT, '')).toBe(shape.out.replace('|', TAG));
    },
  );

  it('without a meta to inject (meta: false) the page is left as it is, its own meta too', () => {
    for (const shape of SHAPES) {
      expect(injectIntoHead(shape.html, '', '')).toBe(shape.html);
      expect(injectIntoHead(shape.html, SCRIPT).replace(SCRIPT, '')).toBe(shape.html);
    }
  });
});

describe('AST-23 I4 the head walk is linear on hostile documents', () => {
  const STALE = '<meta name="graylane-version" content="stable">';
  it.each([
    ['many stale metas', (n: number) => `<head>${STALE.repeat(Math.ceil(n / STALE.length))}`],
    ['many comments', (n: number) => `<head>${'<!---->'.repeat(Math.ceil(n / 7))}`],
    ['dashes in a comment', (n: number) => `<head><!--${'-!'.repeat(Math.ceil(n / 2))}`],
    ['an unterminated quote', (n: number) => `<head><meta name="${'x'.repeat(n)}`],
    ['many attributes', (n: number) => `<head><meta ${'a=b '.repeat(Math.ceil(n / 4))}`],
    ['many </ in a style', (n: number) => `<head><style>${'</styl'.repeat(Math.ceil(n / 6))}`],
    [
      'script escape toggles',
      (n: number) => `<head><script>${'<!--<script></script>-->'.repeat(Math.ceil(n / 24))}`,
    ],
    ['nested templates', (n: number) => `<head>${'<template>'.repeat(Math.ceil(n / 10))}`],
    ['numeric references', (n: number) => `<head><meta name="${'&#0'.repeat(Math.ceil(n / 3))}">`],
    [
      'foreign elements, then end tags that match none',
      (n: number) => `<head><template><svg>${'<g>'.repeat(n / 6)}${'</x>'.repeat(n / 8)}`,
    ],
    [
      'HTML elements closing foreign content',
      (n: number) => `<head><template>${'<div><svg><g>'.repeat(n / 26)}${'</div>'.repeat(n / 12)}`,
    ],
    ['unterminated CDATA', (n: number) => `<head><template><svg><![CDATA[${']]'.repeat(n / 2)}`],
    ['NULs', (n: number) => `<head>${'\0'.repeat(n)}`],
  ])(
    '%s: the window costs about 8× an eighth of it, past the window nothing',
    (_n, make) => {
      const eighth = make(HEAD_WALK_CHARS / 8);
      const window = make(HEAD_WALK_CHARS);
      const huge = make(HEAD_WALK_CHARS * 8);
      const [tEighth = 0, tWindow = 0, tHuge = 0] = fastestInterleaved(
        [eighth, window, huge].map((html) => () => injectIntoHead(html, '', TAG)),
        5,
        1,
      );
      // Linear: 8× the input costs about 8×; a rescan per token would cost thousands of times
      // more. Wide margins for a loaded shared machine.
      expect(tWindow).toBeLessThan(tEighth * 40 + 20);
      // Past the window nothing is walked: 8× the input costs about the same (a walk of all of it
      // would cost 8× and more: 16 MiB of text no longer fits the caches the window does). Wide
      // margins for a loaded shared machine: it read 5.7× twice in loaded CI runs (GC of 16 MiB).
      expect(tHuge).toBeLessThan(tWindow * 6 + 40);
      expect(injectIntoHead(huge, '', TAG)).toContain(TAG);
      // 16 MiB inputs, walked several times: a loaded machine takes longer than the default 30 s.
    },
    120_000,
  );
});

describe('AST-23 through the gateway', () => {
  const PAGE =
    '<!doctype html><html><head><title>x</title><meta name="graylane-version" content="stable"></head><body></body></html>';
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'graylane-head-meta-'));
    mkdirSync(join(dir, 'beta'));
    writeFileSync(join(dir, 'beta', 'index.html'), PAGE);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const serve = async (options: Partial<AssetLanesOptions>): Promise<string> => {
    const assets = createAssetLanes({ root: dir, fallback: 'beta', ...options });
    const server = await listen(http.createServer((req, res) => assets(req, res)));
    try {
      return (await rawRequest(server.port, '/')).body;
    } finally {
      await server.close();
    }
  };

  it.each([
    [
      'the decided version replaces the page’s own',
      {},
      PAGE.replace('content="stable"', 'content="beta"'),
    ],
    [
      'with the inline config: the script after <head>, the meta where the page had it',
      { inlineConfig: true },
      PAGE.replace('content="stable"', 'content="beta"').replace('<head>', `<head>${SCRIPT}`),
    ],
    ['meta: false leaves the page’s own meta to the page', { meta: false }, PAGE],
    [
      'no decided version: nothing is injected, nothing removed',
      { version: () => undefined },
      PAGE,
    ],
  ] as const)('%s', async (_name, options, expected) => {
    expect(await serve({ version: () => 'beta', ...options })).toBe(expected);
  });
});
