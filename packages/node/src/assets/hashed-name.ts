/**
 * What a content hash in a file name looks like, per the alphabets bundlers emit. A name is
 * content-hashed when its last run before the extensions is one of them, after a `-`, a `.`, a
 * `/` or at the start (`main-7QZ3X2AB.js`, `index.3f9a1c0b.css`, `_nuxt/DlAUqK2U.js`).
 *
 * The runs people write are not: digits only (`build-12345678.js`, dates such as
 * `roadmap-20250601.pdf`), sizes (`hero-1920x1080.jpg`: lower case, or no hex letter), versions
 * (`v2-20241231.css`, `app-v1234567.js`), words (`my-component-library.js`, `pages-Settings.js`)
 * and words with a number (`Photo001`, `iPhone15`, `K8sNotes`).
 */

/** One to three extensions after the hash: `.js`, `.js.map`, CRA's `.chunk.js.map`. */
const EXTENSIONS = '(?:\\.[A-Za-z0-9]{1,8}){1,3}$';

/**
 * Hex, lower case, 8 to 64 (webpack/Rspack `[contenthash]` 20 or 16, often `:8`; Next.js with
 * webpack; Parcel, Rollup `hashCharacters: 'hex'`, Vite 2; Rails, Phoenix, Hugo up to SHA-256's
 * 64), with a digit and a letter. Only words of the letters a–f next to a number look alike
 * (`menu-cafe2024.pdf`); 8-hex hashes have no digit or no letter about once in 40.
 */
const HEX = `(?=[0-9a-f]{8,64}${EXTENSIONS})(?=[a-f]*[0-9])(?=[0-9]*[a-f])[0-9a-f]{8,64}`;

/**
 * esbuild's `[hash]`: 8 characters of base32 `A-Z2-7` (the Angular application builder's too).
 * One in five has no digit (`main-HZTFNSRQ.js`), so eight capitals pass: a name of eight capital
 * letters (`logo-FACEBOOK.png`) is read as one.
 */
const BASE32 = `(?=[A-Z2-7]{8}${EXTENSIONS})(?=[2-7]{0,7}[A-Z])[A-Z2-7]{8}`;

/**
 * A word of a base64url run, the way it would be read as text: a capitalised or lower-case word,
 * a run of capitals, a number, a `-` or `_`, each taken whole.
 */
const TOKEN =
  '(?:[A-Z]?[a-z]+(?![a-z])|[A-Z]+(?![A-Za-z])|[A-Z]+(?=[A-Z][a-z])|[0-9]+(?![0-9])|[-_])';

/**
 * Rollup's, Rolldown's and Vite's default `[hash]`: 8 characters of base64url `A-Za-z0-9-_`
 * (SvelteKit, Astro, Nuxt, Remix). It needs a digit, a capital and a lower-case letter, and must
 * fall into five words or more: `BdK3kF9a` (Bd K 3 k F 9 a), never `MyFile01` (My File 01) or
 * `Q3Plan24` (Q 3 Plan 24). About half of Rollup's hashes pass; one in four has no digit and
 * cannot be told from a word (`chunk1-BWWrtsXX.js`): say so with `immutable`.
 */
const BASE64URL =
  `(?=[A-Za-z0-9_-]{8}${EXTENSIONS})(?=[A-Za-z_-]{0,7}[0-9])(?=[a-z0-9_-]{0,7}[A-Z])` +
  `(?=[A-Z0-9_-]{0,7}[a-z])(?=${TOKEN}{5})[A-Za-z0-9_-]{8}`;

/**
 * A content-hashed file name (see above), tested on the path inside the lane folder. The same
 * source is the `location` regex of `graylane render nginx --assets` (PCRE reads it alike: no
 * lookbehind, no flags). Linear: every lookahead is bounded by the run's length.
 */
export const HASHED_NAME = new RegExp(`(?:^|[/.-])(?:${HEX}|${BASE32}|${BASE64URL})${EXTENSIONS}`);

/** A word as people write one in a name: capitals (`FACEBOOK`), or lower case after a capital. */
const WORD = '(?:[A-Z]+|[A-Z]?[a-z]+)';
/** One word, alone or with one number before or after it: `FACEBOOK`, `BANNER72`, `cafe2024`. */
const WORD_RUN = `(?:${WORD}[0-9]*|[0-9]+${WORD})`;

/**
 * {@link HASHED_NAME} without the names it recognises only by a run that also reads as a word,
 * alone or with a number (`logo-FACEBOOK.png`, `hero-BANNER72.png`, `menu-cafe2024.pdf`; and
 * about one esbuild hash in three, one 8-hex hash in fifteen, almost no longer or base64url one).
 * For those the shape is no proof of content: until every lane's build holds the same bytes
 * under the name, it is served so that a cache can take it back (`REVALIDATE_CACHE_CONTROL`).
 */
const UNMISTAKABLE = new RegExp(
  `(?:^|[/.-])(?!${WORD_RUN}${EXTENSIONS})(?:${HEX}|${BASE32}|${BASE64URL})${EXTENSIONS}`,
);

/** True when {@link HASHED_NAME} recognises `path` only through a run that reads as a word. */
export function isWordLikeHash(path: string): boolean {
  return HASHED_NAME.test(path) && !UNMISTAKABLE.test(path);
}
