import { Hono } from 'hono';
import { LinearRouter } from 'hono/router/linear-router';
import { PatternRouter } from 'hono/router/pattern-router';
import { graylaneHono } from '@graylane/web/hono';
import { describe, expect, it } from 'vitest';

/*
 * GW-02 in hono (review 120 D2): edge and signed mode remove the `;gray=…` spellings from the
 * URL the app sees; hono computed `c.req.path` (a field, with its `getPath`, decoded) before any
 * middleware ran, so the old adapter left `c.req.path` at `/items/x;gray=beta` beside a cleaned
 * `c.req.url`. Every row: the path the handler reads is the one hono computes for the URL it
 * reads (a probe app with the same options), with no marker in it. Rows without a `;` spelling
 * are controls. The route and `c.req.param()` were matched before the middleware: documented,
 * pinned by the last rows.
 */

type Options = ConstructorParameters<typeof Hono>[0];
const KEY = 'k'.repeat(32);
const config = { versions: ['stable', 'beta'], default: 'stable' };

/** A host-prefixed `getPath` (hono's virtual-host recipe), raw as the URL has it. */
const hostPath = (req: Request): string => {
  const url = req.url;
  const start = url.indexOf('/', url.indexOf('://') + 3);
  const q = url.indexOf('?', start);
  return `/${new URL(url).host}${url.slice(start, q === -1 ? undefined : q)}`;
};

/** Apps: hono's options, how routes are mounted, the prefix the routes get. */
const APPS: [string, () => Options, (app: Hono) => Hono, string][] = [
  ['default hono', () => ({}), (app) => app, ''],
  ['strict: false', () => ({ strict: false }), (app) => app, ''],
  ['LinearRouter', () => ({ router: new LinearRouter() }), (app) => app, ''],
  ['PatternRouter', () => ({ router: new PatternRouter() }), (app) => app, ''],
  ['a host-prefixed getPath', () => ({ getPath: hostPath }), (app) => app, '/app.example'],
  ['basePath(/api)', () => ({}), (app) => app.basePath('/api'), '/api'],
];

/** Targets under the routes (`/items/:id`, `/a/*`, `/files/:name{.+}`, `/p`, `*`). */
const TARGETS: [string, boolean][] = [
  ['/items/x;gray=beta', true],
  ['/items/x;gray=beta?gray=beta&k=1', true],
  ['/items/x;a=1&gray=beta', true],
  ['/items/x;%67ray=beta', true],
  ['/items/b%65ta-%C3%A9;gray=beta', true],
  ['/a;gray=beta/b', true],
  ['/a/b;gray=beta/c;gray=beta', true],
  ['/files/dir;gray=beta/f.txt', true],
  ['/p;gray=beta', true],
  ['/items/x;gray=beta/', true],
  ['/items/x', false],
  ['/p?gray=beta', false],
  ['/items/%3Bgray=beta', false],
];

function makeApp(
  options: () => Options,
  mount: (app: Hono) => Hono,
  gray: ReturnType<typeof graylaneHono> | undefined,
): Hono {
  const app = new Hono(options());
  const routes = mount(app);
  if (gray) routes.use(gray);
  const dump = (c: { req: { path: string; url: string; param(): unknown } }): Response =>
    Response.json({ path: c.req.path, url: c.req.url, param: c.req.param() });
  routes.get('/items/:id', (c) => dump(c));
  routes.get('/a/*', (c) => dump(c));
  routes.get('/files/:name{.+}', (c) => dump(c));
  routes.get('/p', (c) => dump(c));
  routes.get('*', (c) => dump(c));
  return app;
}

const MODES: [string, Parameters<typeof graylaneHono>[0]][] = [
  ['edge', { config, trust: 'edge' }],
  ['signed', { config, trust: 'signed', keys: { k1: KEY } }],
];

const rows = MODES.flatMap(([mode, opts]) =>
  APPS.flatMap(([app, options, mount, prefix]) =>
    TARGETS.map(([target, marked]) => ({
      mode,
      opts,
      app,
      options,
      mount,
      prefix,
      target,
      marked,
    })),
  ),
);

describe('GW-02 hono: c.req.path follows the URL graylane cleaned', () => {
  it.each(
    rows.map((r) => [`${r.mode} · ${r.app} · ${r.target}${r.marked ? '' : ' (control)'}`, r]),
  )('GW-02 %s', async (_label, { opts, options, mount, prefix, target }) => {
    const app = makeApp(options, mount, graylaneHono(opts));
    const base = prefix === '/app.example' ? '' : prefix;
    const res = await app.request(`https://app.example${base}${target}`);
    const seen = (await res.json()) as { path: string; url: string };
    expect(seen.url).not.toMatch(/[;&?]gray=/);
    expect(decodeURI(seen.path)).not.toMatch(/[;&]gray=/);
    // What hono itself computes for the URL the handler reads.
    const probe = makeApp(options, mount, undefined);
    const expected = (await (await probe.request(seen.url)).json()) as { path: string };
    expect(seen.path).toBe(expected.path);
  });
});

describe('GW-02 hono (documented): the route and its params were matched as the path came', () => {
  it.each([
    ['/items/x;gray=beta', { id: 'x;gray=beta' }],
    ['/files/d;gray=beta/f', { name: 'd;gray=beta/f' }],
  ])('GW-02 %s → params %j, c.req.path without the marker', async (target, param) => {
    const app = makeApp(
      () => ({}),
      (a) => a,
      graylaneHono({ config, trust: 'edge' }),
    );
    const seen = (await (await app.request(`https://app.example${target}`)).json()) as {
      path: string;
      param: unknown;
    };
    expect(seen.param).toEqual(param);
    expect(seen.path).not.toContain('gray=beta');
  });
});
