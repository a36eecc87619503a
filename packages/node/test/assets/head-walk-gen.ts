/**
 * Generated head shapes for the walk of `<head>` (head-metas.ts, template-content.ts): templates
 * in templates, foreign content (`<svg>`, `<math>`, integration points), comments, CDATA, the
 * raw-text elements, `<plaintext>`, character references, NULs, `>` in quoted attributes, upper
 * case, unclosed tags at the end. Every `<meta name="graylane-version">` carries its own
 * content (`m0`, `m1`…), so what the walk finds in the head can be compared with what Chromium
 * puts there, meta for meta.
 */

/** A meta with its own content: `@` in a pattern. */
const meta = (n: number): string => `<meta name="graylane-version" content="m${n}">`;

/** Where the head's content starts in every generated document. */
export const PREFIX = '<!doctype html><html><head>';

/** `@` becomes a numbered meta. */
function number(pattern: string): string {
  let n = 0;
  return pattern.replace(/@/g, () => meta(n++));
}

/** Templates and foreign content around `X`, in the head. */
const WRAPPERS = [
  '<template>X</template>',
  '<template><template>X</template></template>',
  '<template><svg>X</svg></template>',
  '<template><math>X</math></template>',
  '<template><svg><foreignObject>X</foreignObject></svg></template>',
  '<template><math><mi>X</mi></math></template>',
  '<template><math><annotation-xml encoding="text/html">X</annotation-xml></math></template>',
  '<template><math><annotation-xml>X</annotation-xml></math></template>',
  '<template><div><svg>X</div></template>',
  '<TEMPLATE><SVG>X</SVG></TEMPLATE>',
  '<template><svg><template>X</template></svg></template>',
  '<template><table>X</table></template>',
  '<template><select>X</select></template>',
  '<template><svg><desc>X</desc></svg></template>',
  '<template shadowrootmode="open">X</template>',
  '<template><svg><g>X</template>',
];

/** What goes in `X`; `P` is a payload that would end the template early if read as markup. */
const FILLERS = [
  '<style>P</style>',
  '<title>P</title>',
  '<script>P</script>',
  '<noscript>P</noscript>',
  '<textarea>P</textarea>',
  '<xmp>P</xmp>',
  '<iframe>P</iframe>',
  '<noembed>P</noembed>',
  '<noframes>P</noframes>',
  '<![CDATA[P]]>',
  '<!--P-->',
  '<plaintext>P',
  '<p>P',
  '<svg/>P',
  '<math/>P',
  '\0P',
  '&lt;P',
  '<b>P',
  '<font color=red>P',
  '<font>P',
  '<a title="</template>">P',
  '<svg><style>P</style></svg>',
  '<script><!--<script>P</script>--></script>',
  '<STYLE>P</STYLE>',
  '<math><mglyph>P',
  '<svg><foreignObject><style>P</style></foreignObject></svg>',
  '<svg><title>P</title></svg>',
  '<svg><template>P</template></svg>',
  '<table><tr><td>P',
  '<math><annotation-xml encoding="application/xhtml+xml"><style>P</style></annotation-xml></math>',
];

/** The payload: a `</template>`, then a meta (in the template, or in the head when it ended). */
const PAYLOAD = '</template>@';

/** Every wrapper with every filler: a meta before, a meta after, one in the body. */
export function crossShapes(): string[] {
  const out: string[] = [];
  for (const w of WRAPPERS) {
    for (const f of FILLERS) {
      out.push(
        number(`${PREFIX}@${w.replace('X', f.replace('P', PAYLOAD))}@</head><body>@</body>`),
      );
    }
  }
  return out;
}

/**
 * End tags that close foreign content from outside it, stale elements the parser closed on its
 * own, the adoption agency, `<font>`: where the walk's stack could drift from the parser's.
 */
const DRIFT = [
  '<div><svg><g></div><style>P</style>',
  '<span><svg></span><style>P</style>',
  '<span><div><svg></span><style>P</style>',
  '<b><svg></b><style>P</style>',
  '<b><div><svg></b><style>P</style>',
  '<p><svg></p><style>P</style>',
  '<li><svg><li><style>P</style>',
  '<dd><dt><svg><g></dd><style>P</style>',
  '<h1><svg></h2><style>P</style>',
  '<h1><h2></h2><svg></h1><style>P</style>',
  '<a><svg><a><style>P</style>',
  '<svg><foreignObject><div><svg><g></div><style>P</style>',
  '<svg><foreignObject><div></foreignObject><style>P</style>',
  '<svg><foreignObject></foreignObject><style>P</style>',
  '<table><svg></table><style>P</style>',
  '<svg><font color=red><style>P</style>',
  '<svg><font><style>P</style>',
  '<math><mi><svg></mi><style>P</style>',
  '<math><annotation-xml><svg><style>P</style>',
  '<math><svg><style>P</style>',
  '<svg><desc><math></desc><style>P</style>',
  '<select><svg><style>P</style>',
  '<object><svg></object><style>P</style>',
  '<svg><g/><style>P</style>',
  '<svg></svg><svg/><style>P</style>',
];

/**
 * Drift shapes the walk does not model (template-content.ts): it stops there, so it sees a
 * prefix of Chromium's head metas, and the served head may hold two.
 */
export const NOT_MODELLED = new Set([
  '<span><div><svg></span><style>P</style>',
  '<dd><dt><svg><g></dd><style>P</style>',
  '<b><div><svg></b><style>P</style>',
]);

/** The drift shapes in a template, the payload in a style that is raw text or an element. */
export function driftShapes(): string[] {
  return DRIFT.filter((d) => !NOT_MODELLED.has(d)).map(drift);
}

/** A drift shape as a document. */
export function drift(d: string): string {
  return number(`${PREFIX}@<template>${d.replace('P', PAYLOAD)}</template>@</head><body>@`);
}

/** Tokens the random shapes are made of. */
const TOKENS = [
  '<template>',
  '</template>',
  '<template>',
  '</template>',
  '<svg>',
  '</svg>',
  '<math>',
  '</math>',
  '<mi>',
  '<foreignObject>',
  '</foreignObject>',
  '<desc>',
  '<style>',
  '</style>',
  '<title>',
  '</title>',
  '<script>',
  '</script>',
  '<noscript>',
  '</noscript>',
  '<textarea>',
  '</textarea>',
  '<!--',
  '-->',
  '<![CDATA[',
  ']]>',
  '<p>',
  '</p>',
  '<div>',
  '</div>',
  '<b>',
  '</b>',
  '<g>',
  '</g>',
  '\0',
  ' ',
  '\n',
  'x',
  '&#32;',
  '&amp;',
  '@',
  '@',
  '@',
  '<META NAME=graylane-version CONTENT=up>',
  '<link rel=x href=">">',
  "<a title='>@'>",
  '</head>',
  '<body>',
  '<br>',
  '</br>',
  '<svg/>',
  '<plaintext>',
  '<table>',
  '<select>',
  '<title>',
  '<base>',
];

/** A small seeded generator (mulberry32): the same shapes on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` random heads of 2 to 11 tokens, from a template most of the time. */
export function randomShapes(count: number, seed = 106): string[] {
  const next = random(seed);
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    const length = 2 + Math.floor(next() * 10);
    let body = next() < 0.8 ? '<template>' : '';
    for (let t = 0; t < length; t++) body += TOKENS[Math.floor(next() * TOKENS.length)] ?? '';
    // Unclosed at the end, half the time: the document ends in the middle of the head.
    const tail = next() < 0.5 ? '@</head><body>@' : '';
    out.push(number(`${PREFIX}@${body}${tail}`));
  }
  return out;
}

/** The contents of the metas in `html` at the walk's ranges. */
export function contentsAt(html: string, ranges: readonly (readonly [number, number])[]): string[] {
  return ranges.map(([a, b]) => /content=("?)([^"\s>]*)\1/i.exec(html.slice(a, b))?.[2] ?? '?');
}
