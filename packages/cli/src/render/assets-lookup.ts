/**
 * Named locations an nginx request may jump through: nginx allows 10 internal redirects per
 * request (`NGX_HTTP_MAX_URI_CHANGES`) and a jump to a named location is one. Past that it
 * answers 500 ("rewrite or internal redirection cycle"), so at most this many builds are looked
 * through after the lane's own.
 */
export const NGINX_MAX_NAMED_HOPS = 10;

/**
 * Where a content-hashed file is looked up: the lane's build, then `chain` in order (default
 * version first). Only hashed names cross builds; any other file is the lane's own.
 */
export interface Lookup {
  /** Names the named locations (`@graylane_<kind>_<version>`). */
  readonly kind: 'hashed';
  readonly root: string;
  readonly chain: readonly string[];
  /** Directives for every location of the lookup (headers, validators), without indent. */
  readonly body: readonly string[];
}

/**
 * The settings of a location serving from one build folder. `disable_symlinks on` refuses any
 * symlink inside the build (one out of it, or into another lane); `from=$document_root` lets
 * the build folder itself be one (`ln -sfn releases/42 beta`).
 */
export function buildFolder(folder: string): string[] {
  return [`root ${folder};`, 'disable_symlinks on from=$document_root;'];
}

const named = (l: Lookup, i: number): string =>
  i < l.chain.length ? `@graylane_${l.kind}_${l.chain[i]}` : '=404';

/** The directives of the location that starts the lookup in the lane's own build (indented). */
export function lookupStart(l: Lookup): string[] {
  return [
    ...buildFolder(`${l.root}/$graylane_build`),
    `try_files $uri ${named(l, 0)};`,
    ...l.body,
  ].map((d) => `        ${d}`);
}

/** One named location per build in `chain`, each trying its folder, then the next. */
export function lookupChain(l: Lookup): string[] {
  return l.chain.flatMap((v, i) => [
    `    location ${named(l, i)} {`,
    ...[...buildFolder(`${l.root}/${v}`), `try_files $uri ${named(l, i + 1)};`, ...l.body].map(
      (d) => `        ${d}`,
    ),
    '    }',
  ]);
}
