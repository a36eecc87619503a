// @vitest-environment happy-dom
import { bucket, parseConfig } from '@graylane/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  rulesFromConfig,
  split,
  type CookieJarLike,
  type GrayOptions,
  type GrayRules,
} from '../src/index.js';
import { at, clearCookies, initOnReload } from './page.js';

// BC-05 / WT-05 (review F3): a split buckets on the anonymous id cookie. When the page cannot keep
// that cookie — cookies off or refused, a setter that does nothing or throws, a sandboxed frame,
// a jar that drops the write, `cookie: false`, a name the page cannot overwrite — each page view
// drew a new random id, so a new bucket: the visitor changed lanes from one page view to the next
// (and so did every request the server saw). Now an id is used only when the jar reads it back;
// one it cannot keep is `''`, which no split buckets on, and the visitor gets the default on every
// page view (reason `default`, nothing thrown) — or the version weighted 100, which needs no id.
// Controls: where storage works, the lane is core's bucket of the stored id, on every page view.

const VERSIONS = ['stable', 'beta', 'canary'];
const base: GrayOptions = { versions: VERSIONS, default: 'stable' };
const VIEWS = 12;

/** Rows as `[title, row]` for `it.each(…)('%s', …)`: titles in full, unquoted. */
const titled = <T>(rows: readonly T[], title: (row: T) => string) =>
  rows.map((row) => [title(row), row] as const);

/** The accessor `document.cookie` really uses (happy-dom's Document class). */
function nativeCookie(): PropertyDescriptor {
  for (let o: object | null = document; o; o = Object.getPrototypeOf(o) as object | null) {
    const d = Object.getOwnPropertyDescriptor(o, 'cookie');
    if (d?.set) return d;
  }
  throw new Error('no document.cookie accessor');
}
const native = nativeCookie();
const read = (): string => native.get?.call(document) as string;
const write = (v: string): void => void native.set?.call(document, v);

/** Shadows `document.cookie`; the native getter/setter where omitted. */
function cookieAccessor(get: () => string = read, set: (v: string) => void = write): void {
  Object.defineProperty(document, 'cookie', { configurable: true, get, set });
}

const deny = (): never => {
  throw new DOMException('The document is sandboxed', 'SecurityError');
};
const named = (v: string): string => v.slice(0, v.indexOf('=')).trim();
const isGray = (v: string): boolean => /^(__Host-)?gray(_aid)?$/.test(named(v));

/** Expires every cookie, the https rows' Secure `__Host-` ones too (from an https page). */
function forget(): void {
  Reflect.deleteProperty(document, 'cookie');
  at('https://app.example.com/');
  for (const pair of read().split('; ').filter(Boolean))
    write(`${named(pair)}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure`);
  at('http://localhost/');
  clearCookies();
}

afterEach(forget);

interface Mode {
  readonly mode: string;
  /** Installs the failure (before every page view); returns extra options. */
  readonly install: () => Partial<GrayOptions>;
}

const dropping: CookieJarLike = { get: () => undefined, set: () => undefined, remove: () => {} };
const throwing: CookieJarLike = { get: deny, set: deny, remove: deny };

/** Storage failure modes: none of them can keep the anonymous id to the next page view. */
const FAILURES: readonly Mode[] = [
  {
    mode: 'document.cookie setter does nothing (cookies disabled)',
    install: () => (cookieAccessor(read, () => {}), {}),
  },
  {
    mode: 'document.cookie setter throws, getter works',
    install: () => (cookieAccessor(read, deny), {}),
  },
  {
    mode: 'document.cookie throws on read and write (sandboxed iframe)',
    install: () => (cookieAccessor(deny, deny), {}),
  },
  { mode: 'document.cookie throws on read only', install: () => (cookieAccessor(deny), {}) },
  {
    mode: 'stored, but never shown to the page (graylane names hidden from the getter)',
    install: () => (
      cookieAccessor(() =>
        read()
          .split('; ')
          .filter((p) => p && !isGray(p))
          .join('; '),
      ),
      {}
    ),
  },
  {
    mode: 'SameSite=Lax refused (a cross-site frame)',
    install: () => (cookieAccessor(read, (v) => void (/samesite=lax/i.test(v) || write(v))), {}),
  },
  {
    mode: 'a full jar: a new cookie is refused, existing ones update',
    install: () => {
      for (let i = 0; i < 5; i++) write(`filler${i}=x; Path=/`);
      cookieAccessor(read, (v) => {
        if (
          read()
            .split('; ')
            .some((p) => named(p) === named(v))
        )
          write(v);
      });
      return {};
    },
  },
  {
    mode: 'a privacy setting that expires script cookies at once',
    install: () => (
      cookieAccessor(read, (v) =>
        write(v.replace(/max-age=\d+/i, 'expires=Thu, 01 Jan 1970 00:00:00 GMT')),
      ),
      {}
    ),
  },
  {
    mode: 'a per-cookie size cap below a long anonymousIdName',
    install: () => (
      cookieAccessor(read, (v) => void (v.split(';')[0]!.length > 1000 || write(v))),
      { cookie: { anonymousIdName: 'a'.repeat(2000) } }
    ),
  },
  {
    mode: "name clash: the server's HttpOnly gray_aid (invisible, not overwritable)",
    install: () => (cookieAccessor(read, (v) => void (named(v) === 'gray_aid' || write(v))), {}),
  },
  {
    mode: 'https: __Host- cookies refused',
    install: () => (
      at('https://app.example.com/'),
      cookieAccessor(read, (v) => void (v.startsWith('__Host-') || write(v))),
      {}
    ),
  },
  {
    mode: 'a CookieJarLike that drops writes (no consent)',
    install: () => ({ cookies: dropping }),
  },
  { mode: 'a CookieJarLike that throws', install: () => ({ cookies: throwing }) },
  {
    mode: 'a CookieJarLike whose set throws',
    install: () => ({ cookies: { ...dropping, set: deny } }),
  },
  {
    mode: 'a CookieJarLike that keeps another value',
    install: () => ({
      cookies: { ...dropping, get: (n) => (n === 'gray_aid' ? 'not-an-id' : undefined) },
    }),
  },
  { mode: '`cookie: false`', install: () => ({ cookie: false }) },
];

const WEIGHTS: ReadonlyArray<Readonly<Record<string, number>>> = [
  { beta: 5 },
  { beta: 50 },
  { beta: 95 },
  { beta: 30, canary: 30 },
  { canary: 1, beta: 98 },
  { beta: 0 },
];

interface View {
  readonly version: string;
  readonly reason: string;
  readonly exposed: string;
  readonly marker: string | undefined;
  readonly id: string;
}

/** `views` page views (reloads) of one visitor under `rules`; what each one decided. */
function visit(rules: GrayRules, mode: Mode, views = VIEWS): View[] {
  const seen: View[] = [];
  for (let i = 0; i < views; i++) {
    Reflect.deleteProperty(document, 'cookie');
    const extra = mode.install();
    let id = '-';
    let exposed = '';
    const c = initOnReload({
      ...base,
      ...extra,
      rules: (ctx) => ((id = ctx.anonymousId), rules(ctx)),
      onAssign: (v, r) => void (exposed += `${v}/${r} `),
    });
    seen.push({
      version: c.getGrayVersion(),
      reason: c.getGrayReason(),
      exposed,
      marker: c.markerFor('/api'),
      id,
    });
  }
  return seen;
}

describe('BC-05 an anonymous id the page cannot keep is never bucketed on: the lane never changes', () => {
  it.each(
    titled(
      FAILURES.flatMap((m) => WEIGHTS.map((w) => ({ ...m, weights: w, label: JSON.stringify(w) }))),
      (r) => `${r.mode}, split(${r.label}): the default on every page view`,
    ),
  )('%s', (_title, row) => {
    const views = visit(split(row.weights), row);
    for (const v of views)
      expect(v).toEqual({
        version: 'stable',
        reason: 'default',
        exposed: 'stable/default ',
        marker: 'stable',
        id: '',
      });
    // The default is never stored.
    Reflect.deleteProperty(document, 'cookie');
    expect(
      read()
        .split('; ')
        .filter((p) => /^(__Host-)?gray$/.test(named(p))),
    ).toEqual([]);
  });

  it.each(titled(FAILURES, (r) => `${r.mode}, a rule document on attr:anonymousId: the default`))(
    '%s',
    (_title, row) => {
      const config = parseConfig({
        ...base,
        rules: [
          {
            id: 'ramp',
            bucketBy: 'attr:anonymousId',
            split: [
              { version: 'beta', weight: 50 },
              { version: 'canary', weight: 50 },
            ],
          },
        ],
      });
      for (const v of visit(rulesFromConfig(config), row))
        expect([v.version, v.reason, v.id]).toEqual(['stable', 'default', '']);
    },
  );

  it.each(titled(FAILURES, (r) => `control: ${r.mode}, split({ beta: 100 }) needs no id`))(
    '%s',
    (_title, row) => {
      // Stored where only the id's cookie fails (then read back: `cookie`).
      for (const v of visit(split({ beta: 100 }), row)) {
        expect([v.version, v.marker]).toEqual(['beta', 'beta']);
        expect(['weight', 'cookie']).toContain(v.reason);
      }
    },
  );

  it.each(titled(FAILURES, (r) => `${r.mode}: a QA choice rules its page view, nothing throws`))(
    '%s',
    (_title, row) => {
      Reflect.deleteProperty(document, 'cookie');
      const c = initOnReload({ ...base, ...row.install(), rules: split({ beta: 50 }) });
      c.setGrayVersion('canary');
      expect([c.getGrayVersion(), c.getGrayReason()]).toEqual(['canary', 'manual']);
      c.clearGrayVersion();
      expect([c.getGrayVersion(), c.getGrayReason()]).toEqual(['stable', 'default']);
    },
  );
});

/** The lane core gives `id` for `weights` (split's arms: cumulative, in order; the rest default). */
function coreLane(weights: Readonly<Record<string, number>>, id: string, salt = 'gray'): string {
  const b = bucket(salt, id);
  let end = 0;
  for (const [version, pct] of Object.entries(weights)) if (b < (end += pct * 100)) return version;
  return 'stable';
}

describe('controls: storage works — the lane is core’s bucket of the stored id, on every view', () => {
  const memory = new Map<string, string>();
  const memoryJar: CookieJarLike = {
    get: (n) => memory.get(n),
    set: (n, v) => void memory.set(n, v),
    remove: (n) => void memory.delete(n),
  };
  const WORKS: readonly Mode[] = [
    { mode: 'document.cookie (http)', install: () => ({}) },
    {
      mode: 'document.cookie (https, __Host-)',
      install: () => (at('https://app.example.com/'), {}),
    },
    { mode: 'a CookieJarLike in memory', install: () => ({ cookies: memoryJar }) },
    {
      mode: 'a configured anonymousIdName',
      install: () => ({ cookie: { anonymousIdName: 'aid' } }),
    },
  ];
  afterEach(() => memory.clear());

  it.each(
    titled(
      WORKS.flatMap((m) =>
        WEIGHTS.flatMap((w) =>
          [1, 2, 3].map((visitor) => ({ ...m, weights: w, label: JSON.stringify(w), visitor })),
        ),
      ),
      (r) => `${r.mode}, split(${r.label}), visitor ${r.visitor}`,
    ),
  )('%s', (_title, row) => {
    const views = visit(split(row.weights), row, 6);
    const id = views[0]!.id;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const lane = coreLane(row.weights, id);
    for (const [i, v] of views.entries()) {
      // A non-default lane is stored, then read back (the rules do not run: id '-').
      expect(v.id).toBe(i === 0 || lane === 'stable' ? id : '-');
      expect([v.version, v.marker]).toEqual([lane, lane]);
    }
    forget();
    memory.clear();
  });

  it.each(WEIGHTS.map((w) => [JSON.stringify(w), w] as const))(
    'the id was stored before; writes fail from now on: split(%s) keeps its lane',
    (_label, weights) => {
      const first = visit(split(weights), { mode: 'works', install: () => ({}) }, 1)[0]!;
      const later = visit(split(weights), FAILURES[0]!, 6);
      const lane = coreLane(weights, first.id);
      expect(first.version).toBe(lane);
      for (const v of later)
        expect([v.id, v.version]).toEqual([lane === 'stable' ? first.id : '-', lane]);
    },
  );
});
