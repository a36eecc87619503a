import { commentEnd, isAlpha, rawTextEnd, readTag, scriptEnd, type Tag } from './html-tokens.js';

/** Inside `<template>` any element is content; these hold text (RCDATA, RAWTEXT), not markup. */
const RAW_TEXT = new Set([
  'title',
  'textarea',
  'style',
  'xmp',
  'iframe',
  'noembed',
  'noframes',
  'noscript',
]);
/** HTML elements that are never open: void, or ignored in template content. */
const NOT_PUSHED = new Set([
  'area',
  'base',
  'basefont',
  'bgsound',
  'br',
  'col',
  'embed',
  'frame',
  'hr',
  'image',
  'img',
  'input',
  'keygen',
  'link',
  'meta',
  'param',
  'source',
  'track',
  'wbr',
  'html',
  'head',
  'body',
  'frameset',
]);
/** Start tags that leave foreign content (HTML §13.2.6.5; `<font>` with color, face or size). */
const BREAKOUT = new Set(
  (
    'b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i img ' +
    'li listing menu meta nobr ol p pre ruby s small span strong strike sub sup table tt u ul var'
  ).split(' '),
);
/**
 * HTML elements the parser may close without their end tag (implied end tags; `<a>` and
 * `<nobr>` by another one): an end tag of one that would close foreign content is not modelled.
 */
const MAY_BE_CLOSED = new Set('a button dd dt li nobr optgroup option p rb rp rt rtc'.split(' '));
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
/** `</h2>` closes any open heading: they are one name on the stack. */
const stackName = (name: string): string => (HEADINGS.has(name) ? 'heading' : name);
const MATH_TEXT_POINTS = new Set(['mi', 'mo', 'mn', 'ms', 'mtext']);

/** A frame of the stack of open elements inside the template. */
const enum Kind {
  Template,
  Html,
  /** SVG or MathML, not an integration point. */
  Foreign,
  /** `foreignObject`, `desc`, `title` (SVG); `annotation-xml` for HTML: start tags are HTML. */
  HtmlPoint,
  /** `mi`, `mo`, `mn`, `ms`, `mtext`: start tags are HTML but `mglyph`, `malignmark`. */
  TextPoint,
}

/**
 * The stack of open elements from the head's `<template>` up, with what the walk asks of it in
 * O(1): the topmost element of a name, the topmost HTML element, the topmost scope boundary
 * (a template, an integration point), how many foreign and HTML elements lie below a point.
 */
class Stack {
  private readonly kinds: Kind[] = [];
  private readonly names: string[] = [];
  private readonly math: boolean[] = [];
  /** Index of the topmost HTML element (template included) at or below each frame. */
  private readonly lastHtml: number[] = [];
  /** Index of the topmost template or integration point at or below each frame. */
  private readonly lastBoundary: number[] = [];
  /** Foreign elements (integration points included) at or below each frame. */
  private readonly foreignCount: number[] = [];
  /** Open HTML elements (templates included) and foreign ones, by name. */
  private readonly htmlByName = new Map<string, number[]>();
  private readonly foreignByName = new Map<string, number[]>();

  get depth(): number {
    return this.kinds.length;
  }

  get top(): Kind {
    return this.kinds[this.kinds.length - 1] as Kind;
  }

  get topIsMath(): boolean {
    return this.math[this.math.length - 1] === true;
  }

  get topName(): string {
    return this.names[this.names.length - 1] as string;
  }

  push(kind: Kind, name: string, math = false): void {
    const i = this.kinds.length;
    const html = kind === Kind.Template || kind === Kind.Html;
    this.kinds.push(kind);
    this.names.push(name);
    this.math.push(math);
    this.lastHtml.push(html ? i : (this.lastHtml[i - 1] ?? -1));
    const boundary = !(kind === Kind.Html || kind === Kind.Foreign);
    this.lastBoundary.push(boundary ? i : (this.lastBoundary[i - 1] ?? -1));
    this.foreignCount.push((this.foreignCount[i - 1] ?? 0) + (html ? 0 : 1));
    const map = html ? this.htmlByName : this.foreignByName;
    const list = map.get(name);
    if (list) list.push(i);
    else map.set(name, [i]);
  }

  /** Pops down to and including frame `i`. */
  popTo(i: number): void {
    while (this.kinds.length > i) {
      const k = this.kinds.length - 1;
      const kind = this.kinds[k];
      const map =
        kind === Kind.Template || kind === Kind.Html ? this.htmlByName : this.foreignByName;
      map.get(this.names[k] as string)?.pop();
      this.kinds.pop();
      this.names.pop();
      this.math.pop();
      this.lastHtml.pop();
      this.lastBoundary.pop();
      this.foreignCount.pop();
    }
  }

  /** The topmost frame: foreign ones by name, HTML ones by name, templates; -1 when none. */
  find(html: boolean, name: string): number {
    const list = (html ? this.htmlByName : this.foreignByName).get(name);
    return list?.[list.length - 1] ?? -1;
  }

  topHtml(): number {
    return this.lastHtml[this.lastHtml.length - 1] ?? -1;
  }

  topBoundary(): number {
    return this.lastBoundary[this.lastBoundary.length - 1] ?? -1;
  }

  /** Foreign elements above frame `i`. */
  foreignAbove(i: number): number {
    return (this.foreignCount[this.depth - 1] ?? 0) - (this.foreignCount[i] ?? 0);
  }

  /** HTML elements above frame `i`. */
  htmlAbove(i: number): number {
    return this.depth - 1 - i - this.foreignAbove(i);
  }
}

/**
 * Where the head's `<template>` whose content starts at `from` ends: the index after the
 * `</template>` that closes it, or -1 when that is not before `end` or not known. The content
 * is parsed as the HTML parser does (HTML §13.2.6.4.18 "in template" and §13.2.6.5 foreign
 * content): nested templates; `<title>`, `<textarea>`, `<style>`, `<script>`, `<noscript>`
 * and the other raw-text elements hold text; `<plaintext>` makes the rest of the document text;
 * in `<svg>` and `<math>` those are plain elements, `<![CDATA[…]]>` is text, a start tag such as
 * `<p>` or `<meta>` leaves foreign content, and an end tag closes the element of its name
 * (an SVG `<template>` too) or, past the foreign elements, acts as HTML; integration points
 * (`<foreignObject>`, `<desc>`, SVG `<title>`, `<mi>`…, `<annotation-xml encoding="text/html">`)
 * take HTML start tags. Not modelled, so -1 (the walk stops; a meta after it is not seen): an
 * end tag that would close foreign content from outside it past another HTML element
 * (`<span><div><svg></span>`), or for an element the parser may have closed on its own
 * (`<dd><dt><svg></dd>`, `</li>`, `</a>`). Every token is read once; every frame is pushed and
 * popped once.
 */
export function templateEnd(text: string, from: number, end: number): number {
  const stack = new Stack();
  stack.push(Kind.Template, 'template');
  let i = from;
  while (i < end) {
    const lt = text.indexOf('<', i);
    if (lt < 0 || lt >= end) return -1;
    i = lt;
    const next = text.charCodeAt(i + 1);
    const foreign = stack.top !== Kind.Template && stack.top !== Kind.Html;
    let to: number;
    if (next === 0x21 || next === 0x3f) {
      if (text.startsWith('<!--', i)) {
        const close = commentEnd(text, i + 4, end);
        to = close < 0 ? -1 : close + 1;
      } else if (foreign && text.startsWith('<![CDATA[', i)) {
        const close = text.indexOf(']]>', i + 9);
        to = close < 0 || close + 3 > end ? -1 : close + 3;
      } else {
        const close = text.indexOf('>', i + 2);
        to = close < 0 || close >= end ? -1 : close + 1;
      }
    } else if (next === 0x2f && isAlpha(text.charCodeAt(i + 2))) {
      const tag = readTag(text, i + 2, end);
      if (tag === undefined) return -1;
      const closed = endTag(stack, tag.name);
      if (closed === STOP) return -1;
      if (stack.depth === 0) return tag.end;
      to = tag.end;
    } else if (next === 0x2f) {
      const close = text.charCodeAt(i + 2) === 0x3e ? i + 2 : text.indexOf('>', i + 2);
      to = close < 0 || close >= end ? -1 : close + 1;
    } else if (isAlpha(next)) {
      const tag = readTag(text, i + 1, end);
      if (tag === undefined) return -1;
      to = startTag(stack, text, tag, end);
    } else {
      to = i + 1;
    }
    if (to < 0) return -1;
    i = to;
  }
  return -1;
}

const STOP = -3;

/** A start tag in template content: where the walk goes on, or -1 (text to the end). */
function startTag(stack: Stack, text: string, tag: Tag, end: number): number {
  const { name } = tag;
  const top = stack.top;
  const html =
    top === Kind.Template ||
    top === Kind.Html ||
    top === Kind.HtmlPoint ||
    (top === Kind.TextPoint && name !== 'mglyph' && name !== 'malignmark') ||
    (name === 'svg' && stack.topIsMath && stack.topName === 'annotation-xml');
  if (!html) {
    if (BREAKOUT.has(name) || (name === 'font' && tag.fontAttribute)) {
      // Leaves foreign content: pop to an HTML element or an integration point, then as HTML.
      while (stack.top === Kind.Foreign) stack.popTo(stack.depth - 1);
      return htmlStartTag(stack, text, tag, end);
    }
    if (!tag.selfClosing) pushForeign(stack, tag, stack.topIsMath);
    return tag.end;
  }
  return htmlStartTag(stack, text, tag, end);
}

function htmlStartTag(stack: Stack, text: string, tag: Tag, end: number): number {
  const { name } = tag;
  if (name === 'template') stack.push(Kind.Template, 'template');
  else if (name === 'svg' || name === 'math') {
    if (!tag.selfClosing) pushForeign(stack, tag, name === 'math');
  } else if (name === 'script') return scriptEnd(text, tag.end, end);
  else if (RAW_TEXT.has(name)) return rawTextEnd(text, tag.end, name, end);
  else if (name === 'plaintext') return -1;
  else if (!NOT_PUSHED.has(name)) {
    // A heading in a heading closes it.
    if (HEADINGS.has(name) && stack.top === Kind.Html && stack.topName === 'heading')
      stack.popTo(stack.depth - 1);
    stack.push(Kind.Html, stackName(name));
  }
  return tag.end;
}

function pushForeign(stack: Stack, tag: Tag, math: boolean): void {
  const { name } = tag;
  let kind = Kind.Foreign;
  if (math) {
    if (MATH_TEXT_POINTS.has(name)) kind = Kind.TextPoint;
    else if (name === 'annotation-xml') {
      const encoding = tag.encoding?.toLowerCase();
      if (encoding === 'text/html' || encoding === 'application/xhtml+xml') kind = Kind.HtmlPoint;
    }
  } else if (name === 'foreignobject' || name === 'desc' || name === 'title') kind = Kind.HtmlPoint;
  stack.push(kind, name, math);
}

/** An end tag in template content; {@link STOP} where the walk cannot tell what it closes. */
function endTag(stack: Stack, name: string): number {
  const top = stack.top;
  if (top !== Kind.Template && top !== Kind.Html) {
    if (name === 'p' || name === 'br') {
      // Leaves foreign content, then as HTML.
      while (stack.top === Kind.Foreign) stack.popTo(stack.depth - 1);
    } else {
      // The element of that name (ASCII case-insensitive), down to the first HTML element.
      const own = stack.find(false, name);
      if (own >= 0 && own > stack.topHtml()) {
        stack.popTo(own);
        return 0;
      }
    }
  }
  return htmlEndTag(stack, name);
}

function htmlEndTag(stack: Stack, name: string): number {
  if (name === 'template') {
    // Closes the innermost template, whatever is open in it.
    stack.popTo(stack.find(true, 'template'));
    return 0;
  }
  const key = stackName(name);
  const at = stack.find(true, key);
  if (at < 0) return 0;
  // The current node: closed, whatever its kind.
  if (at === stack.depth - 1) {
    stack.popTo(at);
    return 0;
  }
  // Not in scope past a template or an integration point: ignored.
  if (stack.topBoundary() > at) return 0;
  if (stack.foreignAbove(at) > 0) {
    // Between them, an HTML element (special or not, a furthest block for the adoption agency)
    // or a stale one: not modelled.
    if (MAY_BE_CLOSED.has(key) || stack.htmlAbove(at) > 0) return STOP;
  }
  stack.popTo(at);
  return 0;
}
