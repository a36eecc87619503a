import { GraylaneError, isVersionLabel, parseConfig, parseMarker } from '@graylane/core';
import type { ConfigDocument, MarkerPolicy } from '@graylane/core';

/**
 * Which versions a graylane OTel helper accepts: a list of version labels, a `GrayConfig`
 * (`parseConfig`'s result; any `MarkerPolicy`), or your config document (`{ versions, default,
 * … }`, as you give it to `createGraylane`). Without it, any well-formed label
 * (`^[a-z][a-z0-9_-]{0,31}$`) is accepted. Pass it wherever you have it, to keep the closed
 * world (RELIABILITY I2). Anything else is a mistake: `GrayPropagator` throws `INVALID_OPTIONS`,
 * and the baggage helpers, which never throw, accept no version.
 *
 * @example
 * ```ts
 * new GrayPropagator({ versions: ['stable', 'beta'] });
 * new GrayPropagator({ versions: config }); // the document you give createGraylane, or parseConfig(config)
 * ```
 */
export type VersionPolicy = MarkerPolicy | readonly string[] | ConfigDocument;

const ANY_LABEL: MarkerPolicy = { hasVersion: isVersionLabel };
const NO_VERSION: MarkerPolicy = { hasVersion: () => false };

/** Documents read once per object: the helpers run per call, `parseConfig` is not free. */
const documents = new WeakMap<object, MarkerPolicy | string>();

/**
 * @internal Normalizes the accepted forms into a `MarkerPolicy`.
 * @throws GraylaneError `INVALID_OPTIONS` naming `where` for anything else.
 */
export function toMarkerPolicy(versions: unknown, where: string): MarkerPolicy {
  const policy = readPolicy(versions);
  if (typeof policy === 'string') throw new GraylaneError('INVALID_OPTIONS', `${where}: ${policy}`);
  return policy;
}

/** @internal Like {@link toMarkerPolicy} for the helpers that never throw: bad → no version. */
export function toMarkerPolicyOrNone(versions: unknown): MarkerPolicy {
  const policy = readPolicy(versions);
  return typeof policy === 'string' ? NO_VERSION : policy;
}

/** A policy, or the message saying why `versions` is none of the accepted forms. */
function readPolicy(versions: unknown): MarkerPolicy | string {
  try {
    return readPolicyOrThrow(versions);
  } catch {
    return 'versions could not be read (a getter or Proxy threw)';
  }
}

function readPolicyOrThrow(versions: unknown): MarkerPolicy | string {
  if (versions === undefined) return ANY_LABEL;
  if (Array.isArray(versions)) return readList(versions as readonly unknown[]);
  if (typeof versions !== 'object' || versions === null) return describe(versions);
  if (typeof (versions as Partial<MarkerPolicy>).hasVersion === 'function') {
    return versions as MarkerPolicy;
  }
  let policy = documents.get(versions);
  if (policy === undefined) documents.set(versions, (policy = readDocument(versions)));
  return policy;
}

function readList(list: readonly unknown[]): MarkerPolicy | string {
  if (list.length === 0) return 'versions is an empty list';
  for (const v of list) {
    if (!isVersionLabel(v)) return 'versions must hold version labels (^[a-z][a-z0-9_-]{0,31}$)';
  }
  const set: ReadonlySet<unknown> = new Set(list);
  return { hasVersion: (v) => set.has(v) };
}

/**
 * A config document, through core's `parseConfig`. Only the part that says which markers are
 * valid is read: rules are `createGraylane`'s business (and a `regex` rule would need an engine).
 */
function readDocument(doc: object): MarkerPolicy | string {
  const read = (k: string): unknown => (doc as Record<string, unknown>)[k];
  if (read('versions') === undefined) return describe(doc);
  try {
    const subset: Record<string, unknown> = {
      versions: read('versions'),
      default: read('default'),
    };
    if (read('caseInsensitive') !== undefined) subset['caseInsensitive'] = read('caseInsensitive');
    return parseConfig(subset);
  } catch (err) {
    const issues = (err as GraylaneError).issues ?? [];
    const first = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    return `versions is not a valid config document (${first || String(err)})`;
  }
}

function describe(value: unknown): string {
  const got =
    value === null
      ? 'null'
      : typeof value !== 'object'
        ? `a ${typeof value}`
        : isStore(value)
          ? 'a config store (pass store.get().config)'
          : 'an object without versions';
  return `versions must be a list of versions, a GrayConfig or your config document; got ${got}`;
}

function isStore(value: object): boolean {
  const s = value as Record<string, unknown>;
  return ['get', 'update', 'subscribe'].every((m) => typeof s[m] === 'function');
}

/** @internal A valid version from one raw value, or undefined. Never throws. */
export function acceptVersion(raw: unknown, policy: MarkerPolicy): string | undefined {
  if (typeof raw !== 'string') return undefined;
  try {
    const result = parseMarker(raw, policy);
    return result.kind === 'valid' ? result.version : undefined;
  } catch {
    return undefined; // a custom policy that throws accepts nothing (I2)
  }
}
