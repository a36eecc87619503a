/**
 * Injection of the decided version into HTML (AST-05): where the tags go for every document
 * shape, escaping of the inline config, and a linear search on hostile documents (I4).
 */
import { describe, expect, it } from 'vitest';
import {
  injectIntoHead,
  inlineConfigScript,
  metaTag,
  scriptJson,
} from '../../src/assets/inject.js';
import { bodyEtag, fileEtag, notModified } from '../../src/assets/etag.js';
import { contentTypeFor } from '../../src/assets/content-type.js';
import { HASHED_NAME } from '../../src/assets/limits.js';
import { fastestInterleaved } from './timing.js';

const TAG = '<meta name="graylane-version" content="beta">';

describe('injectIntoHead', () => {
  it.each([
    [
      '<!doctype html><html><head><title>x</title></head></html>',
      '<!doctype html><html><head>|<title>',
    ],
    ['<!DOCTYPE html><HTML><HEAD><TITLE>x</TITLE></HEAD>', '<!DOCTYPE html><HTML><HEAD>|<TITLE>'],
    ['<html><head lang="en" data-x=">"><title>', '<html><head lang="en" data-x=">">|<title>'],
    ["<head data-x='a>b' class=c><title>", "<head data-x='a>b' class=c>|<title>"],
    ['<head\n  data-a=1\n><script src=a.js></script>', '<head\n  data-a=1\n>|<script'],
    ['<head/><script>', '<head/>|<script>'],
    // A <head> tag after body content is ignored by parsers: the meta must go before the content.
    ['<body><header>not head</header><head>late</head>', '|<body><header>'],
    ['<!doctype html><p>text</p><head>late', '<!doctype html>|<p>text'],
    // A <head> inside a comment, an attribute or a script is not the head start tag.
    ['<!-- <head> --><html><head><title>', '<!-- <head> --><html><head>|<title>'],
    ['<!doctype html><!-- build <head> --><head><title>', '<!-- build <head> --><head>|<title>'],
    ['<html data-x="<head>"><head><title>', '<html data-x="<head>"><head>|<title>'],
    ["<html data-x='<head>' lang=en><head>", "<html data-x='<head>' lang=en><head>|"],
    ['<!doctype html><script>var h="<head>"</script><head>', '<!doctype html>|<script>'],
    ['<!doctype html><style>a::before{content:"<head>"}</style><head>', '<!doctype html>|<style>'],
    [
      '<!DOCTYPE html>\n<!--[if IE]><html class="ie"><![endif]-->\n<!--[if !IE]><!--><html><!--<![endif]-->\n<head><title>',
      '<!--<![endif]-->\n<head>|<title>',
    ],
    ['<?xml version="1.0"?><!doctype html><html><head><title>', '<html><head>|<title>'],
    ['<!doctype html><html>\n  <head>\n<title>', '<head>|\n<title>'],
    ['<!doctype html><html><body>no head<head>', '<!doctype html><html>|<body>'],
    ['<!-- unterminated <head> comment', '|<!-- unterminated'],
    ['<!doctype html><title>no head</title>', '<!doctype html>|<title>'],
    ['  <!doctype html>\n<p>', '  <!doctype html>\n|<p>'],
    ['\ufeff<!doctype html><p>', '\ufeff<!doctype html>|<p>'],
    ['<p>fragment</p>', '|<p>fragment'],
    ['\ufeff<p>bom</p>', '\ufeff|<p>bom'],
    ['', '|'],
    // <headx> is an unknown element: content, so a later <head> is ignored by the parser.
    ['<headx><head>', '|<headx><head>'],
  ])('AST-05 %j', (html, expected) => {
    const out = injectIntoHead(html, TAG);
    expect(out.replace(TAG, '|')).toContain(expected);
    expect(out.split(TAG)).toHaveLength(2);
  });

  it('AST-05 the meta tag goes before any script, so initGray can read it', () => {
    const html =
      '<!doctype html><html><head><script type="module" src="/main-7QZ3X2AB.js"></script></head></html>';
    const out = injectIntoHead(html, TAG);
    expect(out.indexOf(TAG)).toBeLessThan(out.indexOf('<script'));
  });

  it.each([
    ['<head without >', (n: number) => '<head '.repeat(Math.ceil(n / 6))],
    ['quoted values', (n: number) => `<head a="${'"x"'.repeat(Math.ceil(n / 3))}`],
    ['almost <head', (n: number) => '<hea<headx'.repeat(Math.ceil(n / 10))],
  ])(
    'AST-05 I4 hostile document (%s): linear in the first 64 KiB, nothing after it',
    (_name, make) => {
      const small = make(8 * 1024);
      const window = make(64 * 1024);
      const huge = make(8 * 1024 * 1024);
      const [tSmall = 0, tWindow = 0, tHuge = 0] = fastestInterleaved(
        [small, window, huge].map((html) => () => injectIntoHead(html, TAG)),
      );
      // Linear: 8× the input costs about 8×; a rescan per candidate costs thousands of times
      // more (seconds). Wide margins for a loaded shared machine.
      expect(tWindow).toBeLessThan(tSmall * 40 + 10);
      // Past the window nothing is scanned: 128× the input costs about the same (an unbounded
      // scan would cost 128× and more).
      expect(tHuge).toBeLessThan(tWindow * 30 + 10);
      expect(injectIntoHead(huge, TAG).startsWith(TAG)).toBe(true);
    },
  );
});

describe('meta tag and inline config', () => {
  it('AST-05 the meta tag names the version', () => {
    expect(metaTag('beta')).toBe(TAG);
    expect(metaTag('a"><script>')).toBe(
      '<meta name="graylane-version" content="a&#34;&#62;&#60;script&#62;">',
    );
  });

  it.each([
    [{ version: 'beta', note: '</script><script>alert(1)</script>' }, '</script'],
    [{ note: '<!-- x -->' }, '<!--'],
    [{ note: 'a\u2028b\u2029c' }, '\u2028'],
    [{ note: '& > <' }, '<'],
  ])('AST-06 inline config %j cannot end the script element', (value, forbidden) => {
    const json = scriptJson(value);
    expect(json).toBeDefined();
    expect(json).not.toContain(forbidden);
    expect(JSON.parse(json as string)).toEqual(value);
  });

  it('AST-06 unserializable or oversized configs are refused, not thrown', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(scriptJson(cyclic)).toBeUndefined();
    expect(scriptJson({ n: 10n })).toBeUndefined();
    expect(
      scriptJson({
        toJSON() {
          throw new Error('boom');
        },
      }),
    ).toBeUndefined();
    expect(scriptJson({ big: 'x'.repeat(20_000) })).toBeUndefined();
    expect(scriptJson(undefined)).toBeUndefined();
  });

  it('AST-06 the nonce goes on the script element, escaped', () => {
    expect(inlineConfigScript('{"version":"beta"}', 'abc123DEF456')).toBe(
      '<script nonce="abc123DEF456">window.__GRAYLANE__={"version":"beta"};</script>',
    );
    expect(inlineConfigScript('{}', undefined)).toBe('<script>window.__GRAYLANE__={};</script>');
  });
});

describe('validators and types', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['"abc"', true],
    ['W/"abc"', true],
    ['"x", "abc"', true],
    ['"x",W/"abc" , "y"', true],
    ['*', true],
    ['abc', false],
    ['"abc', false],
    ['"ABC"', false],
    [['"x"', '"abc"'], true],
    [`${'"x", '.repeat(1000)}"abc"`, false], // over 4 KiB: ignored, full response
  ] as const)('AST-07 If-None-Match %j → 304 %s', (header, expected) => {
    expect(notModified(header, '"abc"')).toBe(expected);
    expect(notModified(header, 'W/"abc"')).toBe(expected);
  });

  it('AST-07 validators: weak from stat, strong from the exact body', () => {
    expect(fileEtag({ size: 255, mtimeMs: 4096.7 })).toBe('W/"ff-1000"');
    expect(bodyEtag('a')).toBe(bodyEtag('a'));
    expect(bodyEtag('a')).not.toBe(bodyEtag('b'));
    expect(bodyEtag('a')).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
  });

  it.each([
    ['index.html', 'text/html; charset=utf-8'],
    ['INDEX.HTM', 'text/html; charset=utf-8'],
    ['main-7QZ3X2AB.js', 'text/javascript; charset=utf-8'],
    ['chunk.mjs', 'text/javascript; charset=utf-8'],
    ['style.css', 'text/css; charset=utf-8'],
    ['main.js.map', 'application/json; charset=utf-8'],
    ['site.webmanifest', 'application/manifest+json; charset=utf-8'],
    ['logo.svg', 'image/svg+xml'],
    ['font.woff2', 'font/woff2'],
    ['app.wasm', 'application/wasm'],
    ['README', 'application/octet-stream'],
    ['.hidden', 'application/octet-stream'],
    ['x.__proto__', 'application/octet-stream'],
    ['x.constructor', 'application/octet-stream'],
    ['evil.html.exe', 'application/octet-stream'],
  ])('AST-08 Content-Type of %s is %s', (name, type) => {
    expect(contentTypeFor(name)).toBe(type);
  });

  it.each([
    ['main-7QZ3X2AB.js', true],
    ['assets/index-BdK3kF9a.js', true],
    ['index.3f9a1c0b2d.css', true],
    ['chunk.a1b2c3d4e5f60718.js', true],
    ['logo-1a2b3c4d.svg', true],
    ['main.js', false],
    ['index.html', false],
    ['my-component-library.js', false], // a name, not a hash: no digit
    ['robots.txt', false],
    ['favicon.ico', false],
    ['a-1234567.js', false], // 7 characters
    ['client-QSEEFRRA.js', true], // esbuild base32 without a digit
    ['main-EJWAPSN4.js.map', true], // its source map
    ['main.js.map', false],
    ['main-EJWAPSN4.a.b.c.d', false], // four extensions (CRA's .chunk.js.map is three)
    ['app-document.js', false],
    ['app-Document.js', false],
  ])('AST-09 %s is content-hashed: %s', (name, hashed) => {
    expect(HASHED_NAME.test(name)).toBe(hashed);
  });
});
