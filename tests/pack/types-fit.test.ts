import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TSC, exec, pack, remove, rootVersion, tempDir, writeTree, type Exec } from './consumer.js';

/*
 * Review 55 D1 + D2: graylane's declarations fit what a TypeScript user installs, not what this
 * repository happens to have. The packed tarballs go into one fresh consumer per variant — each
 * supported undici major at its latest release, axios absent, at its oldest supported release
 * and at the latest 1.x — and every row is a `strict`, `skipLibCheck: false` project written as
 * the docs write it, with no casts. An error inside another package's own declarations (undici's,
 * axios') is that package's; one in the row's file or in `@graylane/*` fails the row.
 */

/** `npm view undici versions`: the latest 6, 7 and 8. */
const UNDICI = { 6: '6.29.1', 7: '7.30.3', 8: '8.14.0' } as const;
type Major = keyof typeof UNDICI;

interface Variant {
  readonly dir: string;
  readonly undici: Major;
  /** undici 8 needs Node 22.19: its users have Node 22's types. */
  readonly typesNode: string;
  /** Absent, the oldest `>=1.0.0` allows, the latest 1.x (the repository's). */
  readonly axios: string | undefined;
}

const VARIANTS: readonly Variant[] = [
  { dir: 'u6', undici: 6, typesNode: rootVersion('@types/node'), axios: undefined },
  { dir: 'u7', undici: 7, typesNode: rootVersion('@types/node'), axios: '1.0.0' },
  { dir: 'u8', undici: 8, typesNode: '22.20.7', axios: rootVersion('axios') },
];

const axiosName = (v: Variant): string => (v.axios === undefined ? 'no axios' : `axios ${v.axios}`);

const nodeOptions = {
  strict: true,
  noEmit: true,
  skipLibCheck: false,
  // TypeScript's own lib files are not under test (checking lib.dom alone took seconds a row).
  skipDefaultLibCheck: true,
  target: 'es2022',
  module: 'nodenext',
  moduleResolution: 'nodenext',
  types: ['node'],
};
/**
 * Each Node row in two projects: Node's globals only (`lib: es2022`: the global `Request` is
 * @types/node's), and one that never set `lib` (TypeScript's default has the DOM: the global
 * `Request` is the DOM's, further from any undici's).
 */
const NODE_PROJECTS: Record<string, object> = {
  node: { compilerOptions: { ...nodeOptions, lib: ['es2022'] } },
  'node-default-lib': { compilerOptions: nodeOptions },
};

// A browser app: DOM types, no Node types, a bundler (the standalone repro of review 55).
const browserTsconfig = {
  compilerOptions: {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    skipDefaultLibCheck: true,
    target: 'es2022',
    lib: ['es2022', 'dom', 'dom.iterable'],
    module: 'preserve',
    moduleResolution: 'bundler',
    types: [],
  },
};

/** The Node rows: one file each, in one project per undici version. */
function nodeRows(major: Major): Record<string, string> {
  return {
    'compose.ts': `// docs/node.md §4 as written, the other order, the array form, a Client and a Pool.
import { Agent, Client, Pool, interceptors, request, type Dispatcher } from 'undici';
import { grayInterceptor } from '@graylane/node';

const agent = new Agent().compose(grayInterceptor(), interceptors.redirect({ maxRedirections: 3 }));
const inner: Dispatcher = new Agent().compose(
  interceptors.redirect({ maxRedirections: 3 }),
  grayInterceptor({ allowHosts: ['orders.internal'] }),
);
const pool = new Pool('http://orders.internal').compose([grayInterceptor(), interceptors.retry()]);
const client = new Client('http://orders.internal').compose(grayInterceptor());
for (const dispatcher of [agent, inner, pool, client]) {
  const { statusCode, body } = await request('http://orders.internal/v1', { dispatcher });
  const text: string = await body.text();
  console.log(statusCode, text);
}
`,
    'headers.ts': `// Dispatch options in every header shape this undici types, through graylane's interceptor.
import { Agent, request, type Dispatcher } from 'undici';
import { grayInterceptor, type DispatchOptionsLike, type UndiciHeaders } from '@graylane/node';

type Options = Dispatcher.DispatchOptions;
export const fits: DispatchOptionsLike = {} as Options;
export const headersFit: UndiciHeaders = {} as NonNullable<Options['headers']>;

const agent = new Agent();
// The interceptor applied by hand, as compose applies it: the options stay undici's own type.
const dispatch = grayInterceptor({ allowHosts: ['orders.internal'] })(agent.dispatch.bind(agent));
const composed = agent.compose(grayInterceptor({ allowHosts: ['orders.internal'] }));
declare const handler: Parameters<Dispatcher['dispatch']>[1];
const target = { origin: 'http://orders.internal', path: '/v1', method: 'GET' } as const;

const object = { 'x-a': '1', 'x-b': ['1', '2'] };
const flat = ['x-a', '1', 'x-b', '2'];
const pairs = new Map<string, string | string[] | undefined>([['x-a', '1']]);
function* generated(): Generator<[string, string]> {
  yield ['x-a', '1'];
}
dispatch({ ...target, headers: object }, handler);
dispatch({ ...target, headers: flat }, handler);
dispatch({ ...target, headers: pairs }, handler);
dispatch({ ...target, headers: generated() }, handler);
dispatch({ ...target, headers: null }, handler);
dispatch(target, handler);
await request('http://orders.internal/v1', { dispatcher: composed, headers: object });
await request('http://orders.internal/v1', { dispatcher: composed, headers: flat });
await request('http://orders.internal/v1', { dispatcher: composed, headers: pairs });
${
  major >= 8
    ? `// undici 8 types headers as Node's OutgoingHttpHeaders: numbers too.
const numbers = { 'content-length': 3, 'x-a': '1', 'x-b': ['1', '2'] };
dispatch({ ...target, method: 'POST', body: 'abc', headers: numbers }, handler);
await request('http://orders.internal/v1', { dispatcher: composed, method: 'POST', body: 'abc', headers: numbers });
`
    : ''
}`,
    'withgray.ts': `// MISC-02: withGray(undici.fetch) keeps undici's own types; the global fetch keeps its own.
import * as undici from 'undici';
import { withGray } from '@graylane/node';

const grayFetch = withGray(undici.fetch, { allowHosts: ['orders.internal'] });
const res: undici.Response = await grayFetch(new undici.Request('http://orders.internal/v1'));
await grayFetch('http://orders.internal/v1', {
  method: 'POST',
  body: 'x',
  headers: { 'content-type': 'text/plain' },
  dispatcher: new undici.Agent(),
});
await grayFetch(new URL('http://orders.internal/v1'), { headers: new undici.Headers({ a: '1' }) });
const text: string = await res.text();

const globalGray = withGray(fetch);
const viaGlobal: Response = await globalGray(new Request('http://orders.internal/v1'), { method: 'GET' });
const lookedUp: Response = await withGray(undefined, { allowHosts: ['orders.internal'] })('http://orders.internal/v1');
declare const maybe: typeof undici.fetch | undefined;
const either = await withGray(maybe)('http://orders.internal/v1');
console.log(text, viaGlobal.status, lookedUp.status, either.status);

// @ts-expect-error a function that takes no URL is not a fetch
withGray((n: number) => Promise.resolve(n));
`,
    'web-withgray.ts': `// @graylane/web's withGray(undici.fetch) keeps undici's own types too (docs/web.md).
import * as undici from 'undici';
import { withGray } from '@graylane/web';

const grayFetch = withGray(undici.fetch, { allowHosts: ['orders.internal'] });
const res: undici.Response = await grayFetch(new undici.Request('http://orders.internal/v1'));
await grayFetch('http://orders.internal/v1', { method: 'POST', body: 'x', dispatcher: new undici.Agent() });
const viaGlobal: Response = await withGray(fetch)(new Request('http://orders.internal/v1'));
const lookedUp: Response = await withGray()('http://orders.internal/v1');
console.log(res.status, viaGlobal.status, lookedUp.status);

// @ts-expect-error a function that takes no URL is not a fetch
withGray((n: number) => Promise.resolve(n));
`,
    'ssr-browser.ts': `// Review 66 D1: browser.md's "safe to import during server-side rendering", in a project
// with Node's types only (no DOM lib: no RequestInfo, Document or Window).
import { initGray, withGray, type FetchLike } from '@graylane/browser';

const client = initGray({ versions: ['stable', 'beta'], default: 'stable' });
const grayFetch: FetchLike = withGray(fetch, { client });
const res: Response = await grayFetch(new Request('http://orders.internal/v1'));
console.log(client.getGrayVersion(), res.status);
`,
    'install-global.ts': `// installGlobal beside npm undici's own global dispatcher and a composed one.
import { Agent, fetch, request, setGlobalDispatcher } from 'undici';
import { grayInterceptor, installGlobal } from '@graylane/node';

const uninstall: () => void = installGlobal({ allowHosts: ['orders.internal'] });
setGlobalDispatcher(new Agent().compose(grayInterceptor()));
const res = await fetch('http://orders.internal/v1');
const { statusCode } = await request('http://orders.internal/v1');
console.log(res.status, statusCode);
uninstall();
`,
  };
}

/** The browser rows: one project each (an error in graylane's declarations is the row's). */
function browserRows(withAxios: boolean): Record<string, string> {
  const useAxios = withAxios
    ? `import axios from 'axios';
const detach: () => void = attachGray(axios.create({ baseURL: '/api' }));
attachGray(axios);
const mine = (api: AxiosInstanceLike): (() => void) => attachGray(api, {});
mine(axios.create());
detach();
`
    : `declare const api: AxiosInstanceLike;
attachGray(api)();
`;
  const notAxios = `// @ts-expect-error not an axios instance
attachGray({});
`;
  return {
    main: `import { excludePaths, initGray, installFetch, installXHR, split, withGray, type GrayOptions } from '@graylane/browser';

const options: GrayOptions = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: split({ beta: 5 }),
  exclude: excludePaths(['/ingest/']),
};
initGray(options);
const uninstall = [installFetch(), installXHR()];
const res: Response = await withGray()('/api/orders');
console.log(res.status, uninstall.length);
`,
    standalone: `import { attachGray, initGray, installFetch, split, type AxiosInstanceLike } from '@graylane/browser/standalone';

initGray({ versions: ['stable', 'beta'], default: 'stable', rules: split({ beta: 5 }) });
installFetch();
${useAxios}${notAxios}`,
    axios: `import { initGray } from '@graylane/browser';
import { attachGray, type AxiosInstanceLike } from '@graylane/browser/axios';

initGray({ versions: ['stable', 'beta'], default: 'stable' });
${useAxios}${notAxios}`,
  };
}

let work: string;
const installs = new Map<string, Exec>();
const checks = new Map<string, Exec>();

/** `tsc -p dir`, its error lines: graylane's and the project's (other packages' own are theirs). */
function ours(r: Exec | undefined): string[] {
  return `${r?.stdout ?? ''}${r?.stderr ?? ''}`
    .split('\n')
    .filter((l) => / error TS\d+/.test(l))
    .filter((l) => !/^(?:\.\.\/)*node_modules\/(?!@graylane\/)/.test(l.trim()));
}

/** Runs `jobs` at most `limit` at a time (each a tsc of a few seconds, on a loaded machine). */
async function pooled(jobs: (() => Promise<void>)[], limit: number): Promise<void> {
  const queue = [...jobs];
  const worker = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) await job();
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

beforeAll(async () => {
  work = tempDir('graylane-types-fit-');
  const started = Date.now();
  const tarballs = await pack(
    ['@graylane/core', '@graylane/node', '@graylane/browser', '@graylane/web'],
    work,
  );
  await Promise.all(
    VARIANTS.map(async (v) => {
      const root = join(work, v.dir);
      writeTree(root, { 'package.json': { name: `types-fit-${v.dir}`, private: true } });
      for (const [name, tsconfig] of Object.entries(NODE_PROJECTS))
        writeTree(join(root, name), {
          'package.json': { name, private: true, type: 'module' },
          'tsconfig.json': { ...tsconfig, include: ['*.ts'] },
          ...nodeRows(v.undici),
        });
      for (const [entry, source] of Object.entries(browserRows(v.axios !== undefined)))
        writeTree(join(root, `browser-${entry}`), {
          'package.json': { name: `browser-${entry}`, private: true, type: 'module' },
          'tsconfig.json': { ...browserTsconfig, include: ['*.ts'] },
          'app.ts': source,
        });
      const r = await exec(
        'npm',
        [
          'install',
          '--no-audit',
          '--no-fund',
          '--prefer-offline',
          ...tarballs.map((t) => t.tarball),
          `undici@${UNDICI[v.undici]}`,
          `@types/node@${v.typesNode}`,
          ...(v.axios === undefined ? [] : [`axios@${v.axios}`]),
        ],
        root,
        540_000,
      );
      installs.set(v.dir, r);
    }),
  );
  const installed = Date.now();
  const projects = VARIANTS.flatMap((v) =>
    [
      ...Object.keys(NODE_PROJECTS),
      ...Object.keys(browserRows(false)).map((e) => `browser-${e}`),
    ].map((p) => join(v.dir, p)),
  );
  await pooled(
    projects.map((p) => async () => {
      // Run in the project: its files are reported as `compose.ts(…)`, others as `../node_modules/…`.
      const cwd = join(work, p);
      checks.set(p, await exec(process.execPath, [TSC, '-p', cwd], cwd, 180_000));
    }),
    2,
  );
  console.info(
    `[types-fit] pack + install ${installed - started} ms, tsc ${Date.now() - installed} ms`,
  );
}, 600_000);

afterAll(() => {
  if (work && process.env['GRAYLANE_PACK_KEEP'] !== '1') remove(work);
  else if (work) console.info(`[types-fit] kept ${work}`);
}, 120_000);

describe.each(VARIANTS.map((v) => [`undici ${v.undici}, ${axiosName(v)}`, v] as const))(
  'types fit %s',
  (_name, v) => {
    it(`installs undici ${UNDICI[v.undici]} and ${axiosName(v)} next to the tarballs`, () => {
      const r = installs.get(v.dir);
      expect(r?.code, r?.stderr.slice(-2000)).toBe(0);
    });

    const node = Object.keys(nodeRows(v.undici));
    it.each(node)(
      `Review 55 D2 / MISC-02 undici ${UNDICI[v.undici]}: %s type-checks (strict, skipLibCheck false)`,
      (file) => {
        // The row's own errors, and those of graylane's declarations or the project (every row's).
        const mine = (l: string): boolean =>
          l.startsWith(`${file}(`) || l.includes('@graylane/') || /^error TS/.test(l.trim());
        for (const project of Object.keys(NODE_PROJECTS)) {
          const r = checks.get(join(v.dir, project));
          const errors = ours(r);
          expect(errors.filter(mine).map((l) => `${project}: ${l}`)).toEqual([]);
          expect(r !== undefined && (r.code === 0 || errors.length > 0), r?.stderr).toBe(true);
        }
      },
    );

    it.each(Object.keys(browserRows(false)))(
      `Review 55 D1 ${axiosName(v)}: @graylane/browser %s type-checks (strict, skipLibCheck false)`,
      (entry) => {
        const r = checks.get(join(v.dir, `browser-${entry}`));
        expect(ours(r)).toEqual([]);
        expect(r?.code, r?.stdout).toBe(0);
      },
    );
  },
);
