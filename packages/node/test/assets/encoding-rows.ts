/**
 * HTML documents in the encodings sites ship (review 137, D1), as bytes, for encodings.test.ts
 * (what the gateway sends) and encodings-chromium.test.ts (what Chromium shows). Each row says
 * whether graylane stamps it (UTF-8 and declared UTF-8 or nothing) and, where the author's text
 * is readable, the text `#p` must show. Rows named `(control)` were right before review 137 too.
 */
import { MAX_HTML_BYTES } from '../../src/assets/limits.js';

export interface EncodingRow {
  readonly name: string;
  /** The file name in the lane (`.html` unless said). */
  readonly file: string;
  readonly bytes: Buffer;
  /** graylane decodes it and injects the meta. */
  readonly stamped: boolean;
  /** What `#p` shows when the document is read as its author meant, if it can be. */
  readonly text?: string;
  /** The `Content-Type` graylane sends. */
  readonly type: string;
  /**
   * The `Content-Type` of the plain server it is compared with in Chromium: the type without a
   * charset (the document's own declaration decides), except where graylane says more than the
   * document: a document that declares nothing and is UTF-8 (ASCII too) is sent as UTF-8, as
   * before and as express.static does (Chromium would otherwise read it as windows-1252).
   */
  readonly baseline?: string;
}

const BOM8 = Buffer.from([0xef, 0xbb, 0xbf]);
const ascii = (s: string) => Buffer.from(s, 'latin1');
const cat = (...parts: (Buffer | string)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? ascii(p) : p)));
const utf16le = (s: string) =>
  Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]);
const utf16be = (s: string) =>
  Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(s, 'utf16le').swap16()]);
const page = (head: string, p: Buffer | string, before = '') =>
  cat(
    `${before}<!doctype html><html><head>${head}<title>T</title></head><body><p id=p>`,
    p,
    '</p></body></html>',
  );

/** A comment that makes a document larger than graylane stamps (`MAX_HTML_BYTES`). */
const PAD = `<!--${'x'.repeat(MAX_HTML_BYTES)}-->`;
const CAFE = 'Caf\u00e9 \u2713 \u65e5\u672c';
const HTML = 'text/html';
const XHTML_TYPE = 'application/xhtml+xml';
const XHTML = (p: string) =>
  `<html xmlns="http://www.w3.org/1999/xhtml"><head><title>T</title></head><body><p id="p">${p}</p></body></html>`;
const UTF8 = 'text/html; charset=utf-8';

/** Text in legacy encodings, as their encoders write it (checked against TextDecoder). */
const LEGACY = {
  'windows-1252': [
    Buffer.from([0x93, 0x43, 0x61, 0x66, 0xe9, 0x94, 0x20, 0x96, 0x20, 0x80]),
    '\u201cCaf\u00e9\u201d \u2013 \u20ac',
  ],
  shift_jis: [Buffer.from([0x93, 0xfa, 0x96, 0x7b, 0x8c, 0xea]), '\u65e5\u672c\u8a9e'],
  'euc-jp': [Buffer.from([0xc6, 0xfc, 0xcb, 0xdc, 0xb8, 0xec]), '\u65e5\u672c\u8a9e'],
  gbk: [Buffer.from([0xd6, 0xd0, 0xce, 0xc4]), '\u4e2d\u6587'],
  'euc-kr': [Buffer.from([0xc7, 0xd1, 0xb1, 0xb9, 0xbe, 0xee]), '\ud55c\uad6d\uc5b4'],
  'windows-1251': [
    Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]),
    '\u041f\u0440\u0438\u0432\u0435\u0442',
  ],
} as const;

const legacy = Object.entries(LEGACY).map(([label, [bytes, text]]): EncodingRow => ({
  name: `${label} bytes, <meta charset="${label}">`,
  file: `${label}.html`,
  bytes: page(`<meta charset="${label}">`, bytes),
  stamped: false,
  text,
  type: HTML,
}));

export const ROWS: readonly EncodingRow[] = [
  {
    name: 'UTF-16LE with a byte order mark (the review)',
    file: 'u16.html',
    bytes: utf16le(
      `<!doctype html><html><head><title>T</title></head><body><p id=p>${CAFE}</p></body></html>`,
    ),
    stamped: false,
    text: CAFE,
    type: HTML,
  },
  {
    name: 'UTF-16BE with a byte order mark',
    file: 'u16be.htm',
    bytes: utf16be(
      `<!doctype html><html><head><title>T</title></head><body><p id=p>${CAFE}</p></body></html>`,
    ),
    stamped: false,
    text: CAFE,
    type: HTML,
  },
  {
    name: 'UTF-16LE with a byte order mark, over 2 MiB (control)',
    file: 'u16-large.html',
    bytes: utf16le(
      `<!doctype html><html><head><title>T</title></head><body><p id=p>${CAFE}</p>${PAD}</body></html>`,
    ),
    stamped: false,
    text: CAFE,
    type: HTML,
  },
  ...legacy,
  {
    name: 'windows-1252 bytes, http-equiv ISO-8859-1 (.shtml)',
    file: 'latin1.shtml',
    bytes: page(
      '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">',
      Buffer.from('Caf\u00e9 na\u00efve', 'latin1'),
    ),
    stamped: false,
    text: 'Caf\u00e9 na\u00efve',
    type: HTML,
  },
  {
    name: 'windows-1252 bytes, nothing declared (the browser default)',
    file: 'undeclared-1252.html',
    bytes: page('', LEGACY['windows-1252'][0]),
    stamped: false,
    text: LEGACY['windows-1252'][1],
    type: HTML,
  },
  {
    name: 'windows-1252 bytes and meta, over 2 MiB',
    file: 'w1252-large.html',
    bytes: cat(page('<meta charset="windows-1252">', LEGACY['windows-1252'][0]), PAD),
    stamped: false,
    text: LEGACY['windows-1252'][1],
    type: HTML,
  },
  {
    name: 'x-user-defined meta (windows-1252 to browsers)',
    file: 'x-user-defined.html',
    bytes: page('<meta charset="x-user-defined">', Buffer.from('Caf\u00e9', 'latin1')),
    stamped: false,
    text: 'Caf\u00e9',
    type: HTML,
  },
  {
    name: 'UTF-8 bytes under a windows-1252 meta (as the author wrote it: mojibake)',
    file: 'utf8-says-1252.html',
    bytes: page('<meta charset="windows-1252">', Buffer.from(CAFE)),
    stamped: false,
    type: HTML,
  },
  {
    name: 'UTF-8 bytes, a windows-1252 meta after a 3000-byte title (Blink reads it)',
    file: 'late-meta.html',
    bytes: cat(
      `<!doctype html><html><head><title>${'t'.repeat(3000)}</title><meta charset="windows-1252"></head><body><p id=p>`,
      Buffer.from(CAFE),
      '</p></body></html>',
    ),
    stamped: false,
    type: HTML,
  },
  {
    name: 'UTF-8 bytes, a windows-1252 meta in an early script string',
    file: 'script-meta.html',
    bytes: page(`<script>var s = '<meta charset="windows-1252">';</script>`, Buffer.from(CAFE)),
    stamped: false,
    type: HTML,
  },
  {
    name: 'UTF-16LE without a byte order mark',
    file: 'u16-nobom.html',
    bytes: Buffer.from(
      `<html><head><title>T</title></head><body><p id=p>${CAFE}</p></body></html>`,
      'utf16le',
    ),
    stamped: false,
    type: HTML,
  },
  {
    name: 'UTF-8 byte order mark over a shift_jis meta (the mark wins) (control)',
    file: 'bom-over-meta.html',
    bytes: cat(BOM8, page('<meta charset="shift_jis">', Buffer.from(CAFE))),
    stamped: true,
    text: CAFE,
    type: UTF8,
  },
  {
    name: 'UTF-8 byte order mark and meta (control)',
    file: 'bom.html',
    bytes: cat(BOM8, page('<meta charset="utf-8">', Buffer.from(CAFE))),
    stamped: true,
    text: CAFE,
    type: UTF8,
  },
  {
    name: 'UTF-8 and meta charset (control)',
    file: 'utf8.html',
    bytes: page('<meta charset="utf-8">', Buffer.from(CAFE)),
    stamped: true,
    text: CAFE,
    type: UTF8,
  },
  {
    name: 'UTF-8 and http-equiv (control)',
    file: 'utf8-equiv.htm',
    bytes: page(
      '<meta http-equiv="content-type" content="text/html; charset=UTF-8">',
      Buffer.from(CAFE),
    ),
    stamped: true,
    text: CAFE,
    type: UTF8,
  },
  {
    name: 'UTF-8 and meta charset utf-16 (UTF-8 to browsers) (control)',
    file: 'utf16-label.html',
    bytes: page('<meta charset="utf-16">', Buffer.from(CAFE)),
    stamped: true,
    text: CAFE,
    type: UTF8,
  },
  {
    name: 'ASCII with character references, nothing declared (control)',
    file: 'ascii.html',
    bytes: page('', 'Caf&eacute; &#x2713; &#26085;&#26412;'),
    stamped: true,
    text: CAFE,
    type: UTF8,
    baseline: UTF8,
  },
  {
    name: 'UTF-8, nothing declared (graylane declares it) (control)',
    file: 'undeclared-utf8.html',
    bytes: page('', Buffer.from(CAFE)),
    stamped: true,
    text: CAFE,
    type: UTF8,
    baseline: UTF8,
  },
  {
    name: 'UTF-8, meta charset, over 2 MiB (control)',
    file: 'utf8-large.html',
    bytes: cat(page('<meta charset="utf-8">', Buffer.from(CAFE)), PAD),
    stamped: false,
    text: CAFE,
    type: UTF8,
  },
  {
    name: 'UTF-8, nothing declared, over 2 MiB (graylane declares it) (control)',
    file: 'undeclared-utf8-large.html',
    bytes: cat(page('', Buffer.from(CAFE)), PAD),
    stamped: false,
    text: CAFE,
    type: UTF8,
    baseline: UTF8,
  },
  {
    name: 'XHTML, ISO-8859-1 by its XML declaration (no charset: XML says its own)',
    file: 'latin1.xhtml',
    bytes: Buffer.from(
      `<?xml version="1.0" encoding="ISO-8859-1"?>\n${XHTML('Caf\u00e9 na\u00efve')}`,
      'latin1',
    ),
    stamped: false,
    text: 'Caf\u00e9 na\u00efve',
    type: XHTML_TYPE,
  },
  {
    name: 'XHTML, UTF-16LE with a byte order mark (control)',
    file: 'u16.xhtml',
    bytes: utf16le(`<?xml version="1.0" encoding="UTF-16"?>\n${XHTML(CAFE)}`),
    stamped: false,
    text: CAFE,
    type: XHTML_TYPE,
  },
  {
    name: 'UTF-8, nothing declared, over 2 MiB, one windows-1252 byte at the very end',
    file: 'late-1252-large.html',
    bytes: cat(page('', 'Cafe'), PAD, Buffer.from([0xe9])),
    stamped: false,
    text: 'Cafe',
    type: HTML,
  },
];
