/**
 * A lower bound of a re2js program's size, read off a pattern's syntax in linear time (RX-06): a
 * pattern surely over `MAX_REGEX_PROGRAM_SIZE` is refused before re2js builds its program.
 */

/**
 * One parsed piece of a pattern, as {@link programSizeAtLeast} sees it. re2js parses a pattern,
 * simplifies it (a counted repetition becomes that many copies of its operand: `x{2,5}` is
 * `xx(x(x(x)?)?)?`) and compiles each node of the result to instructions: one per rune, class,
 * dot or assertion, two per capture, one per alternative or optional copy.
 */
interface Piece {
  /** Instructions it compiles to at least; 0 when it may compile to none. */
  readonly lb: number;
  /** It may be an empty class, which re2js's simplifier turns into no match with all around it. */
  readonly fail: boolean;
  /** The product of the counted repetitions nested in it: re2js refuses over 1,000. */
  readonly prod: number;
  /**
   * What re2js compares when it factors alternatives (`ab|ac` is `a[bc]`): pieces with one key
   * may merge; `''` may merge with any piece; undefined (a capture, `*`, `x{1,2}`…) never merges.
   */
  readonly key?: string | undefined;
  /** One rune, class or dot: alternatives of one such merge into a single class. */
  readonly single?: boolean;
  /** Compiles to nothing (`(?:)`, `x{0}`). */
  readonly none?: boolean;
  /** Alternatives that may all begin alike: factoring may reach into them, so the bound stops there. */
  readonly cut?: boolean;
  /** A non-capturing group's pieces: spliced into its concatenation unless repeated. */
  readonly cat?: readonly Piece[];
  /** A non-capturing group's alternatives: spliced into an alternation it is a whole branch of. */
  readonly alt?: readonly (readonly Piece[])[];
  /** Alternatives that all begin alike, as factoring leaves them in a concatenation. */
  readonly peeled?: readonly Piece[] | undefined;
}

type Branch = readonly Piece[];

/** re2js's own limits, past which it refuses the pattern itself (`repeatIsValid`, `MAX_HEIGHT`). */
const MAX_REPEAT = 1000;
const MAX_NESTING = 1000;
/** Pieces the bound copies while it spreads nested alternatives out: linear work in a rule's length. */
const MAX_SPREAD = 1 << 16;
/** Pieces a common lead may have: a rule's length. */
const MAX_PEEL = 256;
/** Code points no case folding reaches, found in no other \p table than these (RX-06). */
const PRIVATE_USE = 0xe000;
const LAST_RUNE = 0x10ffff;
const HAS_PRIVATE_USE = /^(?:Any|Assigned|C|Co|Unknown)$/;
const HAS_LAST_RUNE = /^(?:Any|C|Cn|Unknown)$/;
const POSIX =
  /^\^?(?:alnum|alpha|ascii|blank|cntrl|digit|graph|lower|print|punct|space|upper|word|xdigit)$/;
const NAME = /^\w+$/;
const HEX = /^[0-9A-Fa-f]+$/;
const SIMPLE_ESCAPES: Readonly<Record<string, number>> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
/** Thrown inside the bound: a pattern re2js refuses itself, cheaply, while parsing. */
const UNREAD: unique symbol = /* @__PURE__ */ Symbol('unread');

const saturate = (n: number) => Math.min(n, 1e9);
const sum = (pieces: Branch) => saturate(pieces.reduce((n, p) => n + p.lb, 0));
const fails = (pieces: Branch) => pieces.some((p) => p.fail);
const prodOf = (pieces: Branch) => pieces.reduce((n, p) => Math.max(n, p.prod), 1);
const NONE: Piece = { lb: 0, fail: false, prod: 1, none: true };
const ASSERTION: Piece = { lb: 1, fail: false, prod: 1 };
const classPiece = (empty: boolean, many: boolean): Piece => ({
  lb: empty ? 0 : 1,
  fail: empty,
  prod: 1,
  // A class of one rune, or of a rune and its other case, is a literal to re2js.
  key: many ? '#' : '',
  single: true,
});

/**
 * A lower bound of the instructions re2js (2.x, as `RE2JS.compile(pattern)` with no flags)
 * compiles `pattern` to, read off its syntax in time linear in its length; `undefined` for a
 * pattern re2js refuses while parsing (cheaply, before it builds anything). It never exceeds the
 * program's real size (RX-06: the verdict stays re2js's), so a pattern may be refused for it
 * before re2js builds a program, which costs in proportion to the program (Go's regexp/syntax
 * refuses in the same way, `calcSize`, but from an upper estimate).
 *
 * It mirrors re2js's parser and simplifier where they shrink programs: alternatives with a common
 * prefix are factored (`abc|abd` is `ab[cd]`) and one-rune alternatives merge into a class, so an
 * alternation counts the prefix tree of its alternatives' leading runes and classes once, and what
 * follows in each alternative apart; an empty class (`[^\x00-\x{10FFFF}]`) makes nothing of the
 * concatenation around it, so a class counts only when a rune it surely holds is known.
 */
export function programSizeAtLeast(pattern: string): number | undefined {
  let at = 0;
  let fold = false;
  let depth = 0;
  const unread = (): never => {
    throw UNREAD;
  };
  const peek = () => pattern.charAt(at);
  const rune = (): number => {
    const c = pattern.codePointAt(at) ?? unread();
    at += c > 0xffff ? 2 : 1;
    return c;
  };
  const literal = (c: number): Piece => ({
    lb: 1,
    fail: false,
    prod: 1,
    // Folded, re2js keeps a rune's smallest case: ASCII letters fold to upper case; other runes
    // fold in ways the bound does not know (K, k and the Kelvin sign are one), so they may merge.
    key: !fold ? `r${c}` : c >= 0x80 ? '' : `r${c >= 97 && c <= 122 ? c - 32 : c}`,
    single: true,
  });

  /** re2js's `parseEscape`: the rune of an escape, `at` past the backslash. */
  const escaped = (): number => {
    const c = rune();
    if (c >= 0x30 && c <= 0x37) {
      const octal = () => /[0-7]/.test(peek());
      // \1 to \7 alone are backreferences, not RE2.
      if (c !== 0x30 && !octal()) unread();
      let r = c - 0x30;
      for (let i = 1; i < 3 && octal(); i++) r = r * 8 + rune() - 0x30;
      return r;
    }
    if (c === 0x78) {
      const braced = peek() === '{';
      const end = braced ? pattern.indexOf('}', at) : at + 2;
      const hex = pattern.slice(braced ? at + 1 : at, end);
      if (end < 0 || !HEX.test(hex) || (!braced && hex.length < 2)) unread();
      const r = parseInt(hex, 16);
      if (r > LAST_RUNE) unread();
      at = braced ? end + 1 : end;
      return r;
    }
    const char = c < 0x80 ? String.fromCharCode(c) : '0';
    const simple = SIMPLE_ESCAPES[char];
    if (simple !== undefined) return simple;
    // Punctuation stands for itself; other letters and digits are not RE2.
    if (/[0-9A-Za-z]/.test(char)) unread();
    return c;
  };

  /** `\pN`, `\p{Name}`, `\P…`, `\p{^…}`, `at` on the backslash: what it holds of the witnesses. */
  const unicode = () => {
    let positive = pattern.charAt(at + 1) === 'p';
    at += 2;
    let name: string;
    if (peek() === '{') {
      const end = pattern.indexOf('}', at);
      if (end < 0) unread();
      name = pattern.slice(at + 1, end);
      at = end + 1;
    } else name = String.fromCodePoint(rune());
    if (name.startsWith('^')) {
      positive = !positive;
      name = name.slice(1);
    }
    // Every table holds some rune; one without a witness leaves it to its complement.
    const privateUse = HAS_PRIVATE_USE.test(name);
    const last = HAS_LAST_RUNE.test(name);
    return {
      any: positive || !(privateUse && last),
      privateUse: positive === privateUse,
      last: positive === last,
    };
  };

  /** `[…]`, `at` on the bracket (re2js's `parseClass`). */
  const bracket = (): Piece => {
    at++;
    const negated = peek() === '^';
    if (negated) at++;
    let any = false;
    let many = false;
    let privateUse = false;
    let last = false;
    const runes = new Set<number>();
    for (let first = true; first || peek() !== ']'; first = false) {
      if (at >= pattern.length) unread();
      const end = pattern.startsWith('[:', at) ? pattern.indexOf(':]', at) : -1;
      if (end >= 0) {
        const name = pattern.slice(at + 2, end);
        if (!POSIX.test(name)) unread();
        at = end + 2;
        any = many = true;
        if (name.startsWith('^')) privateUse = last = true;
        continue;
      }
      const escape = peek() === '\\' ? pattern.charAt(at + 1) : '';
      if (escape === 'p' || escape === 'P') {
        const u = unicode();
        any ||= u.any;
        privateUse ||= u.privateUse;
        last ||= u.last;
        continue;
      }
      if (/^[dswDSW]$/.test(escape)) {
        at += 2;
        any = many = true;
        if (escape >= 'A' && escape <= 'Z') privateUse = last = true;
        continue;
      }
      const char = () => (peek() === '\\' ? (at++, escaped()) : rune());
      const lo = char();
      let hi = lo;
      if (peek() === '-' && pattern.charAt(at + 1) !== ']') {
        at++;
        hi = char();
        if (hi < lo) unread();
      }
      any = true;
      if (hi - lo >= 2) many = true;
      runes.add(lo).add(hi);
      privateUse ||= lo <= PRIVATE_USE && PRIVATE_USE <= hi;
      last ||= hi === LAST_RUNE;
    }
    at++;
    // Folding adds only runes that have cases; the witnesses have none.
    return classPiece(negated ? privateUse && last : !any, !negated && (many || runes.size >= 3));
  };

  /** `(…)`, `(?:…)`, `(?flags:…)`, `(?P<name>…)`; undefined for `(?flags)`. */
  const group = (): Piece | undefined => {
    at++;
    const outer = fold;
    let capture = true;
    if (peek() === '?') {
      const named = pattern.startsWith('?P<', at) ? 3 : pattern.startsWith('?<', at) ? 2 : 0;
      if (named > 0) {
        const end = pattern.indexOf('>', at);
        if (end < 0 || !NAME.test(pattern.slice(at + named, end))) unread();
        at = end + 1;
      } else {
        at++;
        let on = true;
        let saw = false;
        for (let c = pattern.charAt(at++); c !== ':' && c !== ')'; c = pattern.charAt(at++)) {
          if (c === '-' && on) {
            on = saw = false;
            continue;
          }
          if (c === 'i') fold = on;
          else if (c !== 'm' && c !== 's' && c !== 'U') unread();
          saw = true;
        }
        // `(?i-)` is refused; `(?i)` sets flags for the rest of its group.
        if (!on && !saw) unread();
        if (pattern.charAt(at - 1) === ')') return undefined;
        capture = false;
      }
    }
    if (++depth > MAX_NESTING) unread();
    const branches = alternation();
    depth--;
    if (peek() !== ')') unread();
    at++;
    fold = outer;
    if (capture) {
      const inner = branches.length === 1 ? branches[0]! : [alternationPiece(branches)];
      return {
        lb: saturate(2 + (fails(inner) ? 0 : sum(inner))),
        fail: false,
        prod: prodOf(inner),
      };
    }
    if (branches.length > 1) return alternationPiece(branches);
    const only = branches[0]!;
    if (only.length === 0) return NONE;
    if (only.length === 1) return only[0];
    return { lb: fails(only) ? 0 : sum(only), fail: fails(only), prod: prodOf(only), cat: only };
  };

  /** One atom; several runes for `\Q…\E`; undefined for what pushes nothing (`(?i)`, `\Q\E`). */
  const atom = (): Piece | Piece[] | undefined => {
    const c = peek();
    if (c === '(') return group();
    if (c === '[') return bracket();
    if (c === '.') return (at++, classPiece(false, true));
    if (c === '^' || c === '$') return (at++, ASSERTION);
    if (c !== '\\') return literal(rune());
    const e = pattern.charAt(at + 1);
    if (e === 'p' || e === 'P') return classPiece(!unicode().any, false);
    at += 2;
    if ('AzbB'.includes(e) && e !== '') return ASSERTION;
    if (/^[dswDSW]$/.test(e)) return classPiece(false, true);
    if (e === 'Q') {
      let end = pattern.indexOf('\\E', at);
      if (end < 0) end = pattern.length;
      const runes: Piece[] = [];
      while (at < end) runes.push(literal(rune()));
      at = Math.min(end + 2, pattern.length);
      return runes.length > 0 ? runes : undefined;
    }
    if (e === '' || e === 'C') unread();
    at--;
    return literal(escaped());
  };

  /** `{n}`, `{n,}`, `{n,m}` at `at`, or undefined where re2js reads a literal `{`. */
  const counts = (): [number, number] | undefined => {
    const m = /\{(\d+)(,(\d*))?\}/y;
    m.lastIndex = at;
    const found = m.exec(pattern);
    if (found === null) return undefined;
    const [whole, lo = '', comma, hi = ''] = found;
    const bad = (d: string) => d.length > 1 && d.startsWith('0');
    if (bad(lo) || bad(hi)) return undefined;
    const min = lo.length > 8 ? Infinity : Number(lo);
    const max = comma === undefined ? min : hi === '' ? -1 : hi.length > 8 ? Infinity : Number(hi);
    if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) unread();
    at += whole.length;
    return [min, max];
  };

  /** `x` repeated n to m times (m = -1: unbounded), as re2js's `simplifyRepeat` spells it out. */
  const repeat = (x: Piece, n: number, m: number, counted: boolean): Piece => {
    const times = m < 0 ? Math.max(n, 1) : m;
    const prod = counted ? (m === 0 ? 1 : times * x.prod) : x.prod;
    if (counted && (n >= 2 || m >= 2) && prod > MAX_REPEAT) unread();
    if (x.none || m === 0) return NONE;
    const fail = n >= 1 && x.fail;
    const copies = x.fail ? 0 : times * x.lb;
    // x{2,5}: the optional copies nest, each in one more alternation instruction.
    const optional = m > n + 1 && x.lb >= 1 && !x.fail ? m - n - 1 : 0;
    const fixed = counted && n === m && x.single === true;
    return {
      lb: saturate(copies + optional),
      fail,
      prod,
      key: fixed ? (x.key === '' ? '' : `x${n}${x.key}`) : undefined,
    };
  };

  const branch = (): Branch => {
    const out: Piece[] = [];
    let last: Piece | undefined;
    let repeated = false;
    const commit = () => {
      if (last !== undefined && last.none !== true) out.push(...(last.cat ?? [last]));
      last = undefined;
    };
    for (let c = peek(); c !== '' && c !== '|' && c !== ')'; c = peek()) {
      const star = c === '*' ? [0, -1] : c === '+' ? [1, -1] : c === '?' ? [0, 1] : undefined;
      const n = star ?? (c === '{' ? counts() : undefined);
      if (n !== undefined) {
        if (star !== undefined) at++;
        // Nothing to repeat, or a repetition repeated: re2js refuses it.
        if (last === undefined || repeated) unread();
        if (peek() === '?') at++;
        last = repeat(last!, n[0]!, n[1]!, star === undefined);
        repeated = true;
        continue;
      }
      repeated = false;
      const next = c === '{' ? literal(rune()) : atom();
      if (next === undefined) continue;
      commit();
      if (Array.isArray(next)) {
        last = next.pop();
        out.push(...next);
      } else last = next;
    }
    commit();
    // A whole branch of alternatives joins the enclosing ones; in a concatenation, factoring
    // turns `(?:ab|ac)` into `a[bc]`, pieces as any other.
    return out.length === 1 ? out : out.flatMap((p) => p.peeled ?? [p]);
  };

  const alternation = (): Branch[] => {
    const outer = fold;
    const branches: Branch[] = [];
    for (;;) {
      const b = branch();
      if (b.length === 1 && b[0]!.alt !== undefined) branches.push(...b[0]!.alt);
      else branches.push(b);
      if (peek() !== '|') break;
      at++;
    }
    fold = outer;
    return branches;
  };

  try {
    const branches = alternation();
    // A `)` no group opened.
    if (at < pattern.length) return undefined;
    // Every program starts with a fail instruction and ends in a match.
    return alternationLowerBound(branches) + 2;
  } catch (err) {
    if (err === UNREAD) return undefined;
    throw err;
  }
}

function alternationPiece(branches: readonly Branch[]): Piece {
  const single = branches.every((b) => b.length === 1 && b[0]!.single === true);
  // Factoring leaves two alternatives or more, which nothing outside can reach into, unless
  // every alternative may begin with the same rune or class.
  const leads = new Set(branches.map((b) => b[0]?.key));
  const merges = !leads.has(undefined) && (leads.size === 1 || leads.has(''));
  const peeled = merges && !single ? peel(branches) : undefined;
  return {
    lb: alternationLowerBound(branches),
    fail: branches.every(fails),
    prod: branches.reduce((n, b) => Math.max(n, prodOf(b)), 1),
    // One-rune alternatives merge into a class, which factors like one.
    key: single ? '' : undefined,
    single,
    cut: peeled !== undefined && peeled.length > MAX_PEEL,
    alt: branches,
    peeled: peeled !== undefined && peeled.length <= MAX_PEEL ? peeled : undefined,
  };
}

/** Where factoring stops in a concatenation: an empty alternative left first (`(?:ab|ab)`). */
const STOP: Piece = { lb: 0, fail: false, prod: 1, cut: true };

/**
 * Alternatives that may all begin alike, as re2js's factoring leaves them: the common lead, then
 * again, until one class (one-rune alternatives merged), an empty alternative, or alternatives that
 * begin differently, which nothing outside reaches into.
 */
function peel(branches: readonly Branch[]): Piece[] {
  const out: Piece[] = [];
  for (let list = branches; out.length <= MAX_PEEL; list = list.map((b) => b.slice(1))) {
    if (list.every((b) => b.length === 1 && b[0]!.single === true)) {
      out.push(classPiece(list.every(fails), false));
      break;
    }
    if (list.every((b) => b.length === 0)) {
      out.push(STOP);
      break;
    }
    const leads = new Set(list.map((b) => b[0]?.key));
    if (leads.has(undefined) || !(leads.size === 1 || leads.has(''))) {
      out.push(alternationPiece(list));
      break;
    }
    const [key] = leads.size === 1 ? leads : [''];
    out.push({
      lb: list.reduce((n, b) => Math.min(n, b[0]!.lb), Infinity),
      fail: list.some((b) => b[0]!.fail),
      prod: 1,
      key,
      single: list.every((b) => b[0]!.single === true),
    });
  }
  return out;
}

/**
 * Alternatives, factored as re2js factors them at most: each alternative's leading pieces that
 * factoring may merge (runes, classes, `x{n}` of one) form a prefix tree, counted once per node,
 * with the one-rune leaves under a node counted as one class; the rest of each alternative is
 * counted apart, as re2js never merges it. An alternative that may be an empty class is dropped,
 * as re2js's simplifier drops it. No count of the alternatives themselves (one instruction each
 * in re2js) is needed for a lower bound.
 */
function alternationLowerBound(branches: readonly Branch[]): number {
  let largest = 0;
  let rest = 0;
  interface Way {
    readonly head: Branch;
    readonly more: boolean;
  }
  const ways: Way[] = [];
  for (const b of branches) if (!fails(b)) largest = Math.max(largest, sum(b));
  // Alternatives that end an alternative once its lead is factored out join the others
  // (`a(?:bc|de)|ade` is `a(?:bc|de|de)`): they are counted as alternatives of their own.
  const spreading = [...branches];
  let spread = 0;
  for (let b = spreading.pop(); b !== undefined; b = spreading.pop()) {
    if (fails(b)) continue;
    let h = 0;
    while (h < b.length && b[h]!.key !== undefined) h++;
    const tail = b[h];
    const last = h === b.length - 1 && tail!.alt !== undefined;
    if (last && (spread += b.length) <= MAX_SPREAD) {
      for (const a of tail!.alt!) spreading.push([...b.slice(0, h), ...a]);
      continue;
    }
    // What follows the lead is counted apart, unless factoring may reach into it.
    if (!last && tail?.cut !== true) rest += sum(b.slice(h));
    ways.push({ head: b.slice(0, h), more: h < b.length });
  }
  let tree = 0;
  const todo: [Way[], number][] = [[ways, 0]];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    const [group, d] = next;
    const buckets = new Map<string, Way[]>();
    for (const w of group) {
      const key = w.head[d]?.key;
      if (key === undefined) continue;
      if (key === '') {
        // A piece the bound cannot tell apart merges with any: all continue as one.
        buckets.clear();
        buckets.set(
          '',
          group.filter((v) => v.head.length > d),
        );
        break;
      }
      const list = buckets.get(key);
      if (list) list.push(w);
      else buckets.set(key, [w]);
    }
    let leaves = false;
    for (const list of buckets.values()) {
      if (list.every((w) => w.head.length === d + 1 && !w.more && w.head[d]!.single === true)) {
        leaves = true;
        continue;
      }
      tree += list.reduce((n, w) => Math.min(n, w.head[d]!.lb), Infinity);
      if (list.length === 1) tree += sum(list[0]!.head.slice(d + 1));
      else todo.push([list, d + 1]);
    }
    if (leaves) tree++;
  }
  return saturate(Math.max(largest, tree + rest));
}
