/**
 * AST-24 which HTML documents graylane may decode as UTF-8 and stamp (review 137, D1): the bytes
 * are UTF-8, and the document declares UTF-8 or nothing — by its byte order mark, else by the
 * first meta charset as the WHATWG prescan (1024 bytes, markup read naively) and Blink's meta
 * charset parser (the whole head, script and title text skipped) find it. Anything else is sent
 * as it is. encodings-chromium.test.ts checks the same rows against Chromium.
 */
import { describe, expect, it } from 'vitest';
import { completeLength } from '../../src/assets/html-encoding.js';
import {
  declaredEncoding,
  isUtf8Html,
  type DeclaredEncoding,
} from '../../src/assets/meta-charset.js';

const BOM8 = Buffer.from([0xef, 0xbb, 0xbf]);
const u8 = (s: string) => Buffer.from(s, 'utf8');
const l1 = (s: string) => Buffer.from(s, 'latin1');
const doc = (head: string, body = '<p>Caf\u00e9</p>') =>
  `<!doctype html><html><head>${head}</head><body>${body}</body></html>`;

/** [row, bytes, what it declares, stamped]. */
const ROWS: readonly (readonly [string, Buffer, DeclaredEncoding, boolean])[] = [
  ['empty', Buffer.alloc(0), undefined, true],
  ['ASCII, nothing declared', u8(doc('<title>t</title>', '<p>x</p>')), undefined, true],
  ['UTF-8, nothing declared', u8(doc('<title>t</title>')), undefined, true],
  ['UTF-8 byte order mark', Buffer.concat([BOM8, u8(doc(''))]), 'utf-8', true],
  [
    'UTF-8 byte order mark over a shift_jis meta (the mark wins)',
    Buffer.concat([BOM8, u8(doc('<meta charset="shift_jis">'))]),
    'utf-8',
    true,
  ],
  [
    'UTF-16LE byte order mark',
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(doc(''), 'utf16le')]),
    'other',
    false,
  ],
  [
    'UTF-16BE byte order mark',
    Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(doc(''), 'utf16le').swap16()]),
    'other',
    false,
  ],
  ['UTF-16LE without a mark', Buffer.from(doc(''), 'utf16le'), 'other', false],
  ['UTF-16BE without a mark', Buffer.from(doc(''), 'utf16le').swap16(), 'other', false],
  ['windows-1252 bytes, nothing declared', l1(doc('')), undefined, false],
  ['windows-1252 bytes and meta', l1(doc('<meta charset="windows-1252">')), 'other', false],
  ['ASCII with a windows-1252 meta', u8(doc('<meta charset=windows-1252>', 'x')), 'other', false],
  ['UTF-8 bytes, a shift_jis meta', u8(doc('<meta charset="Shift_JIS">')), 'other', false],
  ['meta charset utf-8', u8(doc('<meta charset="utf-8">')), 'utf-8', true],
  ['meta charset UTF8 unquoted', u8(doc('<META CHARSET=UTF8>')), 'utf-8', true],
  ['meta charset with spaces', u8(doc('<meta charset=" utf-8 ">')), 'utf-8', true],
  ['a unicode-1-1-utf-8 label', u8(doc("<meta charset='unicode-1-1-utf-8'>")), 'utf-8', true],
  ['meta charset utf-16 means UTF-8', u8(doc('<meta charset="utf-16">')), 'utf-8', true],
  ['x-user-defined is windows-1252', u8(doc('<meta charset="x-user-defined">')), 'other', false],
  ['a label nobody knows', u8(doc('<meta charset="bogus">')), 'other', false],
  [
    'http-equiv ISO-8859-1',
    l1(doc('<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">')),
    'other',
    false,
  ],
  [
    "http-equiv charset='utf-8'",
    u8(doc(`<meta http-equiv=content-type content="text/html;charset='utf-8'">`)),
    'utf-8',
    true,
  ],
  [
    'content without http-equiv is no declaration',
    u8(doc('<meta content="text/html; charset=shift_jis">')),
    undefined,
    true,
  ],
  [
    'http-equiv without a charset',
    u8(doc('<meta http-equiv="content-type" content="text/html">')),
    undefined,
    true,
  ],
  [
    'two labels in one meta: the stricter',
    u8(doc('<meta charset="utf-8" http-equiv="content-type" content="x; charset=euc-jp">')),
    'other',
    false,
  ],
  [
    'the first meta wins',
    u8(doc('<meta charset="utf-8"><meta charset="shift_jis">')),
    'utf-8',
    true,
  ],
  ['in a comment', u8(doc('<!-- <meta charset="shift_jis"> -->')), undefined, true],
  [
    'in an early script string (the prescan reads it)',
    u8(doc(`<script>var s='<meta charset="windows-1252">'</script>`)),
    'other',
    false,
  ],
  [
    'in a late script string (Blink skips script text)',
    u8(doc(`<script>${'x'.repeat(1100)}'<meta charset="windows-1252">'</script>`)),
    undefined,
    true,
  ],
  [
    'in a late title (Blink skips title text)',
    u8(doc(`<title>${'t'.repeat(1100)}<meta charset="windows-1252"></title>`)),
    undefined,
    true,
  ],
  [
    'after a 3000-byte title, still in the head (Blink reads it)',
    u8(doc(`<title>${'t'.repeat(3000)}</title><meta charset="windows-1252">`)),
    'other',
    false,
  ],
  [
    'after 200 KB of style, still in the head',
    u8(doc(`<style>${'b{}'.repeat(70_000)}</style><meta charset="euc-kr">`)),
    'other',
    false,
  ],
  [
    'in the body after 1100 bytes: too late for both',
    u8(doc('', `<p>${'x'.repeat(1100)}</p><meta charset="windows-1252">`)),
    undefined,
    true,
  ],
  [
    'in the body within 1024 bytes',
    u8(doc('', '<p>x</p><meta charset="windows-1252">')),
    'other',
    false,
  ],
  [
    'after </head> and 1100 bytes of link tags',
    u8(`<html><head>${'<link rel=x href=y>'.repeat(60)}</head><meta charset="windows-1252"><p>x`),
    undefined,
    true,
  ],
  [
    'numeric reference in the label (Blink decodes it, the prescan does not)',
    u8(doc('<meta charset="utf&#45;8">')),
    'other',
    false,
  ],
  [
    'XML declaration ISO-8859-1',
    l1(`<?xml version="1.0" encoding="ISO-8859-1"?>${doc('')}`),
    'other',
    false,
  ],
  ['XML declaration UTF-8', u8(`<?xml version="1.0" encoding='UTF-8'?>${doc('')}`), 'utf-8', true],
  [
    'overlong UTF-8 (C0 AF)',
    Buffer.concat([u8(doc('')), Buffer.from([0xc0, 0xaf])]),
    undefined,
    false,
  ],
  [
    'a UTF-16 surrogate (ED A0 80)',
    Buffer.concat([u8(doc('')), Buffer.from([0xed, 0xa0, 0x80])]),
    undefined,
    false,
  ],
  [
    'a cut-off sequence at the end',
    Buffer.concat([u8(doc('')), Buffer.from([0xe2, 0x82])]),
    undefined,
    false,
  ],
  ['an unterminated comment', u8('<!doctype html><!-- <meta charset=shift_jis>'), undefined, true],
  ['an unterminated tag', u8('<html><head><meta charset="shift_jis'), undefined, true],
  ['a NUL in the text', u8(doc('', '<p>a\u0000b</p>')), undefined, true],
];

describe('AST-24 the documents graylane decodes and stamps', () => {
  it.each(ROWS)('%s', (_row, bytes, declared, stamped) => {
    expect(declaredEncoding(bytes)).toBe(declared);
    expect(isUtf8Html(bytes)).toBe(stamped);
  });

  it.each([
    [[0x61, 0x62], 2],
    [[0x61, 0xc3], 1],
    [[0x61, 0xc3, 0xa9], 3],
    [[0x61, 0xe2, 0x82], 1],
    [[0xe2, 0x82, 0xac], 3],
    [[0x61, 0xf0, 0x9f, 0x98], 1],
    [[0xf0, 0x9f, 0x98, 0x80], 4],
    [[0x80, 0x80, 0x80, 0x80], 4],
    [[0xff], 0],
    [[], 0],
  ])('a large document is checked in steps: %j keeps %i bytes for this step', (bytes, n) => {
    expect(completeLength(Uint8Array.from(bytes))).toBe(n);
  });
});
