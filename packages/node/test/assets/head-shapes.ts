/**
 * HTML documents that already carry a `<meta name="graylane-version">` — or something that looks
 * like one and is not — and what graylane serves for each when it injects `beta`: `|` marks
 * graylane's meta. Shared by the unit table (exact output) and the Chromium table (what a real
 * parser makes of it: one head meta, `beta`, and nothing else changed).
 */

/** graylane's meta for `beta`. */
export const TAG = '<meta name="graylane-version" content="beta">';

/** A stale meta as an SSR app or a template may carry it. */
const STALE = '<meta name="graylane-version" content="stable">';

export interface Shape {
  readonly name: string;
  readonly html: string;
  /** What is served, `|` standing for {@link TAG}. */
  readonly out: string;
  /**
   * The head metas a browser finds in what is served, when not exactly one `beta`: a documented
   * limit (a meta past the walk's window is not seen).
   */
  readonly headMetas?: readonly string[];
  /** What the shape's head script {@link SEE} saw when it ran, when it has one. */
  readonly seen?: string;
}

/**
 * A head script that reads the hand-off meta when it runs, as `initGray()` in a classic script
 * does (review 156 D2): what it saw is left in `window.__seen`.
 */
export const SEE = `<script>window.__seen = document.querySelector('meta[name="graylane-version"]')?.content ?? 'none';</script>`;

const style = (chars: number): string => `<style>${'a{color:red}'.repeat(chars / 12)}</style>`;

/** An inline style larger than the 64 KiB where `<head>` is looked for. */
const BIG_STYLE = style(100 * 1024);

export const SHAPES: readonly Shape[] = [
  // A head script before the page's meta (initGray in it) runs before the parser reaches that
  // meta: graylane's goes first instead (review 156 D2). A script after it changes nothing.
  ...(
    [
      [
        'a classic script, then the stale meta',
        `<head>${SEE}${STALE}</head>`,
        '<head>|' + SEE + '</head>',
      ],
      [
        'a title, a script, the stale meta',
        `<!doctype html><html><head><title>x</title>${SEE}${STALE}</head><body></body></html>`,
        '<!doctype html><html><head>|<title>x</title>' + SEE + '</head><body></body></html>',
      ],
      [
        'an upper-case SCRIPT with a nonce, then the stale meta',
        `<head>${SEE.replace('<script>', '<SCRIPT nonce="n">')}${STALE}</head>`,
        '<head>|' + SEE.replace('<script>', '<SCRIPT nonce="n">') + '</head>',
      ],
      [
        'no <head> tag: a script, then the stale meta (implied head)',
        `<!doctype html>${SEE}${STALE}<p>x</p>`,
        '<!doctype html>|' + SEE + '<p>x</p>',
      ],
      [
        'after </head>: a script, then the stale meta (both back in the head)',
        `<html><head><title>x</title></head>${SEE}${STALE}<body></body></html>`,
        '<html><head>|<title>x</title></head>' + SEE + '<body></body></html>',
      ],
      [
        'a script between two stale metas: the first is replaced where it stands',
        `<head>${STALE}${SEE}${STALE}</head>`,
        '<head>|' + SEE + '</head>',
      ],
      [
        'the stale meta, then the script: replaced where it stands',
        `<head><title>x</title>${STALE}${SEE}</head>`,
        '<head><title>x</title>|' + SEE + '</head>',
      ],
      [
        'a module script, then the stale meta (moved too)',
        `<head><script type="module">var m = 1;</script>${SEE}${STALE}</head>`,
        '<head>|<script type="module">var m = 1;</script>' + SEE + '</head>',
      ],
      [
        'a script in a comment, then the stale meta (no script: in place)',
        `<head><!--${SEE}-->${STALE}</head>`,
        `<head><!--${SEE}-->|</head>`,
      ],
    ] as const
  ).map(([name, html, out]): Shape =>
    // A script in a comment runs nothing.
    html.includes('<!--<script') ? { name, html, out } : { name, html, out, seen: 'beta' },
  ),
  // The page's own meta in the head: replaced where it stands.
  {
    name: 'after the title (an SSR head)',
    html: `<!doctype html><html><head><title>x</title>${STALE}</head><body><p>x</p></body></html>`,
    out: '<!doctype html><html><head><title>x</title>|</head><body><p>x</p></body></html>',
  },
  {
    name: 'first in the head',
    html: `<!doctype html><html><head>${STALE}<title>x</title></head><body></body></html>`,
    out: '<!doctype html><html><head>|<title>x</title></head><body></body></html>',
  },
  {
    name: 'content before name',
    html: '<head><meta content="stable" name="graylane-version"><title>x</title>',
    out: '<head>|<title>x</title>',
  },
  {
    name: 'single quotes',
    html: "<head><meta name='graylane-version' content='stable'><title>x</title>",
    out: '<head>|<title>x</title>',
  },
  {
    name: 'unquoted values',
    html: '<head><meta name=graylane-version content=stable><title>x</title>',
    out: '<head>|<title>x</title>',
  },
  {
    name: 'upper-case tag and attribute names',
    html: '<HTML><HEAD><META NAME="graylane-version" CONTENT="stable"><TITLE>x</TITLE></HEAD>',
    out: '<HTML><HEAD>|<TITLE>x</TITLE></HEAD>',
  },
  {
    name: 'mixed case',
    html: '<Head><mEtA nAmE=graylane-version Content=stable></Head><body>',
    out: '<Head>|</Head><body>',
  },
  {
    name: 'self-closing (React renders meta/>)',
    html: '<head><meta name="graylane-version" content="stable"/><title>x</title>',
    out: '<head>|<title>x</title>',
  },
  {
    name: 'self-closing with a space',
    html: '<head><meta name="graylane-version" content="stable" /></head>',
    out: '<head>|</head>',
  },
  {
    name: 'whitespace and newlines inside the tag',
    html: '<head>\n  <meta\n\tname = "graylane-version"\r\n  content="stable"\n  >\n</head>',
    out: '<head>\n  |\n</head>',
  },
  {
    name: 'slashes between attributes',
    html: '<head><meta/name="graylane-version"/content="stable"/><title>x</title>',
    out: '<head>|<title>x</title>',
  },
  {
    name: 'a > inside a quoted value',
    html: '<head><meta content="a>b" name="graylane-version" data-x=\'<meta>\'><title>x</title>',
    out: '<head>|<title>x</title>',
  },
  {
    name: 'extra attributes (id, data-*)',
    html: '<head><meta id="gv" name="graylane-version" data-source="ssr" content="stable"></head>',
    out: '<head>|</head>',
  },
  {
    name: 'name written with numeric references',
    html: '<head><meta name="graylane&#45;version" content="stable"><meta name="graylane&#x2D;version" content="x"></head>',
    out: '<head>|</head>',
  },
  {
    name: 'content equal to the decided version',
    html: '<head><meta name="graylane-version" content="beta"><title>x</title>',
    out: '<head>|<title>x</title>',
  },
  {
    name: 'several metas that disagree',
    html: `<head>${STALE}<title>x</title><meta name="graylane-version" content="canary">${STALE}</head>`,
    out: '<head>|<title>x</title></head>',
  },
  {
    name: 'two that agree',
    html: `<head>${STALE}${STALE}</head><body>`,
    out: '<head>|</head><body>',
  },
  {
    name: 'empty content',
    html: '<head><meta name="graylane-version" content=""><meta name="graylane-version"></head>',
    out: '<head>|</head>',
  },
  {
    name: 'after other head elements (base, link, style, noscript)',
    html: `<head><base href="/"><link rel="icon" href="/i.png"><style>p{}</style><noscript><p>js</p></noscript>${STALE}</head>`,
    out: '<head><base href="/"><link rel="icon" href="/i.png"><style>p{}</style><noscript><p>js</p></noscript>|</head>',
  },
  {
    name: 'after other head elements and a script (moved first: the script may read it)',
    html: `<head><base href="/"><link rel="icon" href="/i.png"><script>var a = 1;</script><style>p{}</style><noscript><p>js</p></noscript>${STALE}</head>`,
    out: '<head>|<base href="/"><link rel="icon" href="/i.png"><script>var a = 1;</script><style>p{}</style><noscript><p>js</p></noscript></head>',
  },
  {
    name: 'after a stray end tag (ignored by the parser)',
    html: `<head></p></div>${STALE}</head>`,
    out: '<head></p></div>|</head>',
  },
  {
    name: 'after </head>, before <body> (the parser puts it in the head)',
    html: `<html><head><title>x</title></head>\n${STALE}\n<body><p>x</p></body></html>`,
    out: '<html><head><title>x</title></head>\n|\n<body><p>x</p></body></html>',
  },
  {
    name: 'no <head> tag: the implied head',
    html: `<!doctype html><meta charset="utf-8">${STALE}<title>x</title><p>x</p>`,
    out: '<!doctype html><meta charset="utf-8">|<title>x</title><p>x</p>',
  },
  {
    name: 'BOM and doctype',
    html: `\ufeff<!DOCTYPE html>\n<html lang="en">\n<head>\n  ${STALE}\n</head>\n<body></body>\n</html>`,
    out: '\ufeff<!DOCTYPE html>\n<html lang="en">\n<head>\n  |\n</head>\n<body></body>\n</html>',
  },
  {
    name: 'after a comment closed by --!>',
    html: `<head><!-- build --!>${STALE}</head>`,
    out: '<head><!-- build --!>|</head>',
  },
  {
    name: 'after an abruptly closed comment <!-->',
    html: `<head><!-->${STALE}</head>`,
    out: '<head><!-->|</head>',
  },
  {
    name: 'after an escaped script that ends',
    html: `<head><script><!-- var a = "--"; --></script>${STALE}</head>`,
    out: '<head>|<script><!-- var a = "--"; --></script></head>',
  },
  {
    name: 'after a </SCRIPT > end tag with odd case and space',
    html: `<head><script>var a = 1;</SCRIPT >${STALE}</head>`,
    out: '<head>|<script>var a = 1;</SCRIPT ></head>',
  },
  {
    name: 'after a template',
    html: `<head><template><p>x</p><meta name="graylane-version" content="t"></template>${STALE}</head>`,
    out: '<head><template><p>x</p><meta name="graylane-version" content="t"></template>|</head>',
  },
  {
    name: 'after a large inline style (React 19 puts <style data-precedence> first)',
    html: `<!doctype html><html><head><meta charSet="utf-8"/>${BIG_STYLE}<title>x</title>${STALE}</head><body></body></html>`,
    out: `<!doctype html><html><head><meta charSet="utf-8"/>${BIG_STYLE}<title>x</title>|</head><body></body></html>`,
  },

  // Not the page's own hand-off: left as they are; graylane's meta is inserted.
  {
    name: 'in a comment',
    html: `<head><!-- ${STALE} --><title>x</title>`,
    out: `<head>|<!-- ${STALE} --><title>x</title>`,
  },
  {
    name: 'in an unterminated comment',
    html: `<head><!-- ${STALE}`,
    out: `<head>|<!-- ${STALE}`,
  },
  {
    name: 'in a script string',
    html: `<head><script>var s = '${STALE}';</script></head>`,
    out: `<head>|<script>var s = '${STALE}';</script></head>`,
  },
  {
    name: 'in a double-escaped script (<!--<script> keeps </script> inside)',
    html: `<head><script><!--<script></script>${STALE}</script><title>x</title></head>`,
    out: `<head>|<script><!--<script></script>${STALE}</script><title>x</title></head>`,
  },
  {
    name: 'in a title',
    html: `<head><title>${STALE}</title></head>`,
    out: `<head>|<title>${STALE}</title></head>`,
  },
  {
    name: 'in a style',
    html: `<head><style>/* ${STALE} */</style></head>`,
    out: `<head>|<style>/* ${STALE} */</style></head>`,
  },
  {
    name: 'in a noscript (raw text where scripts run)',
    html: `<head><noscript>${STALE}</noscript></head>`,
    out: `<head>|<noscript>${STALE}</noscript></head>`,
  },
  {
    name: 'in a template',
    html: `<head><template>${STALE}</template></head>`,
    out: `<head>|<template>${STALE}</template></head>`,
  },
  {
    name: 'in a nested template',
    html: `<head><template><template></template>${STALE}</template></head>`,
    out: `<head>|<template><template></template>${STALE}</template></head>`,
  },
  {
    name: 'in an attribute value',
    html: `<head><link rel="x" href="${STALE.replace(/"/g, '')}"><title>x</title>`,
    out: `<head>|<link rel="x" href="${STALE.replace(/"/g, '')}"><title>x</title>`,
  },
  {
    name: 'in an attribute of <html>',
    html: `<html data-x='${STALE}'><head></head>`,
    out: `<html data-x='${STALE}'><head>|</head>`,
  },
  {
    name: 'in a CDATA section (a bogus comment in HTML)',
    html: `<head><![CDATA[${STALE}]]></head>`,
    out: `<head>|<![CDATA[${STALE}]]></head>`,
  },
  {
    name: '< followed by a space is text',
    html: '<head>< meta name=graylane-version content=stable></head>',
    out: '<head>|< meta name=graylane-version content=stable></head>',
  },
  {
    name: 'unterminated tag at the end',
    html: '<head><meta name="graylane-version" content="stable"',
    out: '<head>|<meta name="graylane-version" content="stable"',
  },
  {
    name: 'another name (case differs)',
    html: '<head><meta name="Graylane-Version" content="stable"></head>',
    out: '<head>|<meta name="Graylane-Version" content="stable"></head>',
  },
  {
    name: 'another name (spaces)',
    html: '<head><meta name=" graylane-version" content="stable"></head>',
    out: '<head>|<meta name=" graylane-version" content="stable"></head>',
  },
  {
    name: 'another name (suffix)',
    html: '<head><meta name="graylane-version-x" content="stable"></head>',
    out: '<head>|<meta name="graylane-version-x" content="stable"></head>',
  },
  {
    name: 'property, not name',
    html: '<head><meta property="graylane-version" content="stable"></head>',
    out: '<head>|<meta property="graylane-version" content="stable"></head>',
  },
  {
    name: 'an unquoted value that swallows the slash',
    html: '<head><meta name=graylane-version/content=stable></head>',
    out: '<head>|<meta name=graylane-version/content=stable></head>',
  },
  {
    name: 'a duplicate name attribute (the first wins)',
    html: '<head><meta name="description" name="graylane-version" content="stable"></head>',
    out: '<head>|<meta name="description" name="graylane-version" content="stable"></head>',
  },

  // In the body: user content the page may echo. Never read, never rewritten.
  {
    name: 'in the body',
    html: `<html><head><title>x</title></head><body><p>${STALE}</p></body></html>`,
    out: `<html><head>|<title>x</title></head><body><p>${STALE}</p></body></html>`,
  },
  {
    name: 'after text that opens the body',
    html: `<head><title>x</title>hello ${STALE}</head>`,
    out: `<head>|<title>x</title>hello ${STALE}</head>`,
  },
  {
    name: 'after an element that opens the body',
    html: `<head><div></div>${STALE}</head>`,
    out: `<head>|<div></div>${STALE}</head>`,
  },
  {
    name: 'after </br> (opens the body)',
    html: `<head></br>${STALE}</head>`,
    out: `<head>|</br>${STALE}</head>`,
  },
  {
    name: 'in a textarea (opens the body)',
    html: `<head></head><textarea>${STALE}</textarea>`,
    out: `<head>|</head><textarea>${STALE}</textarea>`,
  },
  {
    name: 'in an svg in the body',
    html: `<head></head><body><svg>${STALE}</svg></body>`,
    out: `<head>|</head><body><svg>${STALE}</svg></body>`,
  },
  {
    name: 'a fragment (no head at all)',
    html: `<p>hello</p>${STALE}`,
    out: `|<p>hello</p>${STALE}`,
  },
  {
    name: 'head and body metas: only the head one is replaced',
    html: `<head>${STALE}</head><body>${STALE}</body>`,
    out: `<head>|</head><body>${STALE}</body>`,
  },

  // After `</head>` a <noscript> opens the body (review 106): what follows is the body's.
  {
    name: 'a noscript after </head>, then a meta (the body)',
    html: `<head><title>t</title></head><noscript>x</noscript>${STALE}<body>b`,
    out: `<head>|<title>t</title></head><noscript>x</noscript>${STALE}<body>b`,
  },
  {
    name: 'a head meta, </head>, a noscript, then a meta (the body one stays)',
    html: `<head>${STALE}</head><noscript></noscript>${STALE}<body>`,
    out: `<head>|</head><noscript></noscript>${STALE}<body>`,
  },
  {
    name: 'a noscript in the head (scripting on: raw text), then a meta',
    html: `<head><noscript>${STALE}</noscript>${STALE}</head>`,
    out: `<head><noscript>${STALE}</noscript>|</head>`,
  },
  // Whitespace written as a character reference is whitespace to the parser: still the head.
  ...(
    [
      ['&#32;', 'a decimal space'],
      ['&#0000000032;', 'a space with leading zeros'],
      ['&#x9', 'a hex tab without ;'],
      ['&#X0000000D;', 'a hex CR with leading zeros'],
      ['&Tab;', '&Tab;'],
      ['&NewLine;&#10; ', '&NewLine; and more'],
    ] as const
  ).map(([ref, what]): Shape => ({
    name: `${what} before the meta`,
    html: `<head>${ref}${STALE}</head>`,
    out: `<head>${ref}|</head>`,
  })),
  {
    name: 'a reference that is not whitespace (&amp;) opens the body',
    html: `<head>&amp;${STALE}</head>`,
    out: `<head>|&amp;${STALE}</head>`,
  },
  {
    name: 'a NUL reference (U+FFFD) opens the body',
    html: `<head>&#0;${STALE}</head>`,
    out: `<head>|&#0;${STALE}</head>`,
  },
  // The name written with references, leading zeros and all: still graylane's.
  ...['graylane&#00000000045;version', 'graylane&#x00000002d;version', 'graylane&#45version'].map(
    (name): Shape => ({
      name: `name="${name}"`,
      html: `<head><meta name="${name}" content="stable"><title>t</title></head>`,
      out: `<head>|<title>t</title></head>`,
    }),
  ),

  // A template's content ends at its `</template>` (review 107): foreign content, nested and
  // SVG templates, CDATA and `<plaintext>` in it are parsed as the parser does.
  ...(
    [
      ['an svg', '<svg><path d="M0 0"/><g></g></svg>'],
      ['a math', '<math><mi>x</mi><mo>+</mo></math>'],
      ['an unclosed svg', '<svg><g>'],
      ['an svg <style> (an element: </template> ends it)', '<svg><style>'],
      ['an svg <plaintext> (an element)', '<svg><plaintext>'],
      ['an svg <script> (an element)', '<svg><script>'],
      ['<p> leaving an svg', '<svg><p>'],
      ['an upper-case SVG', '<SVG><G></G></SVG>'],
      ['a <div> that closes an svg', '<div><svg><g></div><style>p{}</style>'],
      ['an svg <template>', '<svg><template></template></svg>'],
      ['a nested template with an svg', '<template><svg></template>'],
      ['a NUL', '\0'],
    ] as const
  ).map(([what, content]): Shape => ({
    name: `after a template holding ${what}`,
    html: `<head><template>${content}</template>${STALE}</head>`,
    out: `<head><template>${content}</template>|</head>`,
  })),
  ...(
    [
      ['CDATA in an svg', '<svg><![CDATA[', ']]></svg>'],
      ['CDATA in a foreignObject', '<svg><foreignObject><![CDATA[', ']]></foreignObject></svg>'],
      [
        'a style in a foreignObject',
        '<svg><foreignObject><style>',
        '</style></foreignObject></svg>',
      ],
      ['a style in an <mi>', '<math><mi><style>', '</style></mi></math>'],
      [
        'a style in an HTML annotation-xml',
        '<math><annotation-xml encoding="Text/HTML"><style>',
        '</style></annotation-xml></math>',
      ],
      ['a textarea', '<textarea>', '</textarea>'],
      ['a select title', '<select><title>', '</title></select>'],
      ['an svg <template>', '<svg><template>', '</template></svg>'],
      ['a nested template', '<template>', ''],
    ] as const
  ).map(([what, open, close]): Shape => ({
    name: `</template> inside ${what} is not the end`,
    html: `<head><template>${open}</template>${STALE}${close}</template>${STALE}</head>`,
    out: `<head><template>${open}</template>${STALE}${close}</template>|</head>`,
  })),
  {
    name: 'a template with <plaintext>: the rest is its text',
    html: `<head><template><plaintext></template>${STALE}</head>`,
    out: `<head>|<template><plaintext></template>${STALE}</head>`,
  },
  {
    name: 'a template closed at EOF inside an svg',
    html: `<head>${STALE}<template><svg><g>${STALE}`,
    out: `<head>|<template><svg><g>${STALE}`,
  },
  // A NUL in the head's text is dropped by the parser (Chromium's tokenizer skips it).
  {
    name: 'a NUL before the meta',
    html: `<head>\0${STALE}</head>`,
    out: '<head>\0|</head>',
  },
  {
    name: 'a NUL after </head>, then a meta',
    html: `<head><title>t</title></head>\0 \0${STALE}<body>`,
    out: '<head><title>t</title></head>\0 \0|<body>',
  },

  // A documented limit: past the walk's window (HEAD_WALK_CHARS, 2 MiB), nothing is looked at.
  {
    name: 'past the 2 MiB window',
    html: `<head>${style(2 * 1024 * 1024 + 1200)}${STALE}</head>`,
    out: `<head>|${style(2 * 1024 * 1024 + 1200)}${STALE}</head>`,
    headMetas: ['beta', 'stable'],
  },
];
