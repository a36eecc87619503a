/**
 * AST-24 every document of encoding-rows.ts renders in Chromium through the gateway exactly as
 * from a plain server that sends the same bytes with its type and no charset (the document's own
 * byte order mark or meta decides), graylane's meta aside: the same encoding, title, text and
 * DOM. Stamped rows carry the hand-off meta in their head, the others none. The review's
 * UTF-16 page showed "��<�!doctype html>…" through the gateway.
 */
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launch } from '../../../browser/test/chromium/harness.js';
import { createAssetLanes } from '../../src/assets/index.js';
import { createGraylane } from '../../src/index.js';
import { listen, type Running } from '../helpers.js';
import { ROWS } from './encoding-rows.js';

/** Run in the page: what a reader sees, with graylane's meta taken out of the DOM. */
const READ = `(() => {
  const metas = [...document.querySelectorAll('head > meta[name="graylane-version"]')];
  const clone = document.documentElement.cloneNode(true);
  for (const m of clone.querySelectorAll('meta[name="graylane-version"]')) m.remove();
  return {
    charset: document.characterSet,
    title: document.title,
    text: document.getElementById('p')?.textContent ?? null,
    dom: clone.outerHTML,
    metas: metas.map((m) => m.getAttribute('content')),
  };
})()`;

interface Read {
  charset: string;
  title: string;
  text: string | null;
  dom: string;
  metas: string[];
}

describe.skipIf(!chromiumAvailable())(
  'AST-24 Chromium reads every document as without graylane',
  () => {
    let dir: string;
    let gateway: Running;
    let plain: Running;
    let browser: Browser;
    let page: Page;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'graylane-encodings-chromium-'));
      mkdirSync(join(dir, 'beta'));
      for (const row of ROWS) writeFileSync(join(dir, 'beta', row.file), row.bytes);
      const gray = createGraylane({ config: { versions: ['stable', 'beta'], default: 'stable' } });
      const assets = createAssetLanes({ root: dir, fallback: 'beta' });
      gateway = await listen(
        http.createServer((req, res) => gray.handle(req, res, () => assets(req, res))),
      );
      plain = await listen(
        http.createServer((req, res) => {
          const row = ROWS.find((r) => `/${r.file}` === req.url);
          if (!row) return void res.writeHead(404).end();
          res.setHeader('Content-Type', row.baseline ?? row.type.split(';')[0] ?? '');
          res.end(row.bytes);
        }),
      );
      browser = await launch();
      page = await browser.newPage({ extraHTTPHeaders: { 'X-Gray-Id': 'beta' } });
    });

    afterAll(async () => {
      await browser?.close();
      await gateway?.close();
      await plain?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const read = async (origin: string, file: string): Promise<Read> => {
      await page.goto(`${origin}/${file}`);
      return (await page.evaluate(READ)) as Read;
    };

    it.each(ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
      const through = await read(gateway.url, row.file);
      const without = await read(plain.url, row.file);
      expect({ ...through, metas: [] }).toEqual({ ...without, metas: [] });
      expect(through.metas).toEqual(row.stamped ? ['beta'] : []);
      if (row.text !== undefined) expect(through.text).toBe(row.text);
    });
  },
);
