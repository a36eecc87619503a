/**
 * Where a URL's userinfo is in a command-line argument, however it was typed (MISC-03): with any
 * scheme or none, any run of `/` or `\` (or none), `:` typed as `;` or `,`, separators typed
 * percent-encoded, and fullwidth or other Unicode look-alikes of `:` `;` `,` `/` `\` `@`. The
 * whole userinfo — everything up to the `@` before the host — is a secret: a user name cannot be
 * told from a password typed into it (`ops;Hunter2@…`, `opsHunter2@…`).
 */

/**
 * Characters that read as `:` `/` `\` `,` but that NFKC keeps (NFKC already maps the fullwidth,
 * small and vertical forms `：` `﹕` `︓` `／` `＼` `﹨` `＠` `﹫` `；` `，`, and `;` U+037E): the symbols and
 * punctuation Unicode's confusables list (UTS #39) gives for them. Letters of other scripts that
 * look alike (`ノ`, `丿`) are left alone: a file name may hold them.
 */
const LOOK_ALIKES: ReadonlyMap<string, string> = new Map([
  ...[
    ...'\u2236\uA789\u02D0\u02F8\u0589\u05C3\u205A\u16EC\u1803\u1809\u0703\u0704\u1361\uA4FD',
  ].map((c) => [c, ':'] as const),
  ...[...'\u2044\u2215\u29F8\u2571\u27CB'].map((c) => [c, '/'] as const),
  ...[...'\u2216\u29F5\u29F9\u2572\u27CD'].map((c) => [c, '\\'] as const),
  ...[...'\u201A\uA4F9'].map((c) => [c, ','] as const),
]);

/**
 * `text` as it reads: each character NFKC-normalised where that gives one character, and the
 * look-alikes above replaced by what they look like. The result has the same length, so an index
 * in it is an index in `text` (a character whose NFKC form is longer, or outside the BMP, is kept).
 *
 * @example
 * ```ts
 * fold('etcd：／／ops∶pw＠h/k'); // 'etcd://ops:pw@h/k'
 * ```
 */
export function fold(text: string): string {
  return text.replace(NON_ASCII, foldUnit);
}

// eslint-disable-next-line no-control-regex -- every UTF-16 unit outside ASCII
const NON_ASCII = /[^\u0000-\u007f]/g;

function foldUnit(unit: string): string {
  const nfkc = unit.normalize('NFKC');
  const one = nfkc.length === 1 ? nfkc : unit;
  return LOOK_ALIKES.get(one) ?? one;
}

const SCHEME = '[A-Za-z][A-Za-z0-9+.-]*';
/** What a hand types for the `:` after a scheme or between user and password. */
const COLON = '(?:[:;,]|%3[ABab]|%2[Cc])';
const SLASH = '(?:[/\\\\]|%2[Ff]|%5[Cc])';
/**
 * Where a URL starts (in folded text): a scheme and a `:`-like with any run of slashes after it
 * (`etcd:`, `etcd;//`, `C:\`); a scheme with two or more slashes and no colon (`etcd//`); or
 * `etcd`/`etcds` with any slashes (`etcd/ops@…`). Never inside a word.
 */
const URL_START = new RegExp(
  `(?<![A-Za-z0-9+.-])(?:(${SCHEME})(${COLON})(${SLASH}*)|(etcds?)(${SLASH}+)|(${SCHEME})(${SLASH}{2,}))`,
  'gi',
);
/** A `user:` (any `:`-like) after the start, a slash, `=` or white space: a userinfo with no scheme. */
const BARE = new RegExp(`(?:^|(?<=[\\s/\\\\=]))[^\\s/\\\\:;,@=]*${COLON}`, 'i');
/** `host:port` (a port: digits) and then the key, a second host or the end. */
const HOST_PORT = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}(?:[/\\,?#]|$)/;
/** The first `:`-like inside a userinfo: where the password starts. */
const SEPARATOR = new RegExp(COLON, 'i');

/** A userinfo in a text; indices are into the text as given (and its folded form). */
export interface FoundUserinfo {
  /** Where the URL starts: its scheme, or the userinfo itself when there is none. */
  readonly start: number;
  /** Where the userinfo starts (after the scheme and slashes, and white space after them). */
  readonly from: number;
  /** Where the `@` (or `%40`, or a look-alike) that ends it is. */
  readonly at: number;
  /** 1, or 3 for `%40`. */
  readonly endLength: number;
  /** Where the password starts (after the first `:`-like) and how long that separator is. */
  readonly separator?: { readonly index: number; readonly length: number } | undefined;
  /**
   * True when this is a URL's userinfo, never a file name: a scheme (other than a drive letter)
   * before it, `etcd` with slashes, a `:`-like inside it, or `@host:port` after it.
   */
  readonly urlLike: boolean;
  /** True when `text.slice(start, from)` is a scheme (or drive letter) and its slashes: shown. */
  readonly scheme: boolean;
}

/** ASCII lower case only: `toLowerCase` may change the length (`İ`), and indices must hold. */
const asciiLower = (text: string): string => text.replace(/[A-Z]+/g, (m) => m.toLowerCase());

/**
 * Where the userinfo of `text` ends: the last `@` (or look-alike: a host never holds one), or a
 * `%40` after it typed for it. In an `etcd://` URL a key may hold `%40` (it must encode an '@'),
 * so there only a `%40` in the host part counts (`ops:p@w%40db/k`), or with no `@` the last one
 * (`ops:pw%40db/k`); the host part ends at an ASCII `/` only (a look-alike slash or a backslash
 * ends no host to an etcd client). Anywhere else (a misspelt URL is refused, never read) the
 * last `%40` counts wherever it is: taking one more hides more, never less.
 */
export function userinfoEnd(text: string): { at: number; length: number } | undefined {
  const folded = asciiLower(fold(text));
  const at = folded.lastIndexOf('@');
  const encoded =
    at === -1 || !/^etcds?:\/\//i.test(text)
      ? folded.lastIndexOf('%40')
      : at + 1 + folded.slice(at + 1, hostEnd(text, at + 1)).lastIndexOf('%40');
  if (encoded > at) return { at: encoded, length: 3 };
  return at === -1 ? undefined : { at, length: 1 };
}

/** The index of the first ASCII `/` in `text` from `from` (or its length): where a key starts. */
function hostEnd(text: string, from: number): number {
  const slash = text.indexOf('/', from);
  return slash === -1 ? text.length : slash;
}

/**
 * The userinfo of the URL in `text`, if it holds one, read on its folded form. The URL starts at
 * the first URL start before the userinfo's end (one with no slashes and white space after it is
 * a header, `Referer: https://…`, not a URL), else at the first bare `user:` after a boundary.
 *
 * @example
 * ```ts
 * findUserinfo('etcd/ops;pw@h/k'); // { start: 0, from: 5, at: 11, endLength: 1, urlLike: true, … }
 * ```
 */
export function findUserinfo(text: string): FoundUserinfo | undefined {
  const folded = fold(text);
  const end = userinfoEnd(text);
  if (!end) return undefined;
  let start = -1;
  let from = -1;
  let urlLike = false;
  let scheme = false;
  for (const m of folded.matchAll(URL_START)) {
    const after = m.index + m[0].length;
    if (after > end.at) break;
    const [, name, colon, slashes] = m;
    if (colon !== undefined && slashes === '') {
      // `Referer: https://…` is a header, not a URL; `etcd:ops:pw@` and `ops:pw@` cannot be told
      // apart (is `ops` a scheme or the user?): the userinfo is taken from the word on, whole.
      if (/\s/.test(folded[after] ?? '')) continue;
      start = from = m.index;
      urlLike = true;
      break;
    }
    start = m.index;
    from = after;
    // `word//` (no colon) may be a path, or the user name itself: neither shown nor URL-like
    // alone. `C:\…` is a drive letter (a path) unless what follows holds a `:`-like.
    scheme = m[6] === undefined;
    urlLike = scheme && !(colon === ':' && name?.length === 1);
    break;
  }
  // `@host:port/…` after the end (`opspw@db:2379/k`): a file name is no `name@host:port`.
  const hostPort = HOST_PORT.test(folded.slice(end.at + end.length));
  if (start === -1) {
    // No scheme: a `:`-like before the '@' (`dir/ops;pw@h/k`), or `@host:port`. Where the user
    // name began cannot be told (`a/b:c@` may be user `b` or `a/b`), so all before the '@' is
    // taken, after an `--option=` only.
    if (!BARE.test(folded.slice(0, end.at)) && !hostPort) return undefined;
    start = from = folded.lastIndexOf('=', end.at - 1) + 1;
    urlLike = true;
  }
  while (from < end.at && /\s/.test(folded[from] ?? '')) from += 1;
  // Nothing between the slashes and the '@' (`pw:/@h`): the "scheme" was typed into the userinfo.
  if (from === end.at && scheme) [scheme, from] = [false, start];
  const userinfo = folded.slice(from, end.at);
  const sep = SEPARATOR.exec(userinfo);
  const separator = sep ? { index: from + sep.index, length: sep[0].length } : undefined;
  urlLike ||= sep !== null || hostPort;
  return { start, from, at: end.at, endLength: end.length, separator, urlLike, scheme };
}
