import { createLane, withGray, type FetchLike } from '@graylane/web';
import { EdgeRuntime } from 'edge-runtime';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUN, DENO, binaryMissing } from './support/binaries.js';
import { bundleWorker } from './support/bundle.js';
import { listenLoopback } from './support/listen.js';
import { startProcess, type Served } from './support/process.js';
import { startWorkerd } from './support/workerd.js';

/*
 * RDR-03 (graylane never makes a working call fail) — `integrity` through redirects. Inside a
 * lane withGray follows redirects itself (`redirect: 'manual'` per hop), so every hop went out
 * with the caller's integrity and the fetch checked each 3xx's own body against it (Fetch, main
 * fetch: "If request's integrity metadata is not the empty string"): a call that works outside a
 * lane rejected inside one. With a `Request` input it was worse the other way: only the first
 * hop carried the metadata, so a final body that does not match resolved inside a lane while
 * fetch rejects it. The hops now go without it and withGray checks the final body as Fetch and
 * SRI do.
 *
 * Differential: each call goes straight to the fetch (no lane) and through withGray, in a lane
 * and (control) with no lane. Same outcome class (resolves with the same status, body, url and
 * `redirected`, or rejects with a TypeError), the same hops, and the marker on allowlisted hops
 * only (RDR-01, I8).
 */

/** The final answer, the 3xx's own body (different, as a real redirect's is). */
const BODY = 'the resource itself';
const MOVED = 'moved';

interface Seen {
  readonly server: 'a' | 'b';
  readonly path: string;
  readonly markers: string[];
}
const hits = new Map<string, Seen[]>();
type Site = Awaited<ReturnType<typeof listenLoopback>>;
let a: Site;
let b: Site;
let seq = 0;

function markers(req: IncomingMessage): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    if (req.rawHeaders[i]?.toLowerCase() === 'x-gray-id') out.push(req.rawHeaders[i + 1] ?? '');
  return out;
}

/** `/<id>/<n>?…`: `to` redirects with `status`; else `final` = body | empty | 204. */
function site(server: 'a' | 'b') {
  return listenLoopback(
    createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const id = url.pathname.split('/')[1] ?? '';
      hits.set(id, [
        ...(hits.get(id) ?? []),
        { server, path: url.pathname, markers: markers(req) },
      ]);
      const to = url.searchParams.get('to');
      if (to !== null) {
        res.writeHead(Number(url.searchParams.get('status')), { location: to });
        res.end(MOVED);
        return;
      }
      const final = url.searchParams.get('final');
      if (final === '204') res.writeHead(204).end();
      else res.end(final === 'empty' ? '' : BODY);
    }),
  );
}

beforeAll(async () => {
  [a, b] = await Promise.all([site('a'), site('b')]);
});
afterAll(() => Promise.all([a.close(), b.close()]));

const b64 = (alg: string, text: string) => createHash(alg).update(text).digest('base64');
const bad = (alg: string) => b64(alg, 'something else');

/** The final answer's kind: a body, an empty 200, a 204 (no body). */
type Final = 'body' | 'empty' | '204';
const bytesOf = (final: Final) => (final === 'body' ? BODY : '');

interface Case {
  readonly label: string;
  readonly integrity: (final: Final) => string;
  /** What Fetch + SRI make of it: resolves or rejects (a TypeError). */
  readonly ok: (final: Final) => boolean;
}
const withBody = (final: Final) => final !== '204';
const CASES: Case[] = [
  {
    label: 'sha256 matching',
    integrity: (f) => `sha256-${b64('sha256', bytesOf(f))}`,
    ok: withBody,
  },
  {
    label: 'sha384 matching',
    integrity: (f) => `sha384-${b64('sha384', bytesOf(f))}`,
    ok: withBody,
  },
  {
    label: 'sha512 matching',
    integrity: (f) => `sha512-${b64('sha512', bytesOf(f))}`,
    ok: withBody,
  },
  { label: 'sha256 mismatching', integrity: () => `sha256-${bad('sha256')}`, ok: () => false },
  {
    label: 'the hash of the redirect’s own body',
    integrity: () => `sha256-${b64('sha256', MOVED)}`,
    ok: () => false,
  },
  {
    label: 'three sha384 values, the last matching, tab and newline separated',
    integrity: (f) =>
      `sha384-${bad('sha384')}\tsha384-${b64('sha256', bytesOf(f))}\n sha384-${b64('sha384', bytesOf(f))}`,
    ok: withBody,
  },
  {
    label: 'a matching sha256 beside a mismatching sha512 (only the strongest counts)',
    integrity: (f) => `sha256-${b64('sha256', bytesOf(f))} sha512-${bad('sha512')}`,
    ok: () => false,
  },
  {
    label: 'a mismatching sha384 beside a matching sha512',
    integrity: (f) => `sha512-${b64('sha512', bytesOf(f))} sha384-${bad('sha384')}`,
    ok: withBody,
  },
  {
    label: 'a mismatching sha512 beside an unknown algorithm that "matches"',
    integrity: (f) => `sha512-${bad('sha512')} sha1-${b64('sha1', bytesOf(f))}`,
    ok: () => false,
  },
  {
    label: 'unknown algorithms only (md5, sha1, sha-256)',
    integrity: () => 'md5-AAAA sha1-BBBB sha-256-CCCC',
    ok: withBody,
  },
  {
    label: 'base64url without padding',
    integrity: (f) =>
      `sha512-${b64('sha512', bytesOf(f)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`,
    ok: withBody,
  },
  {
    label: 'base64 without padding',
    integrity: (f) => `sha256-${b64('sha256', bytesOf(f)).replace(/=+$/, '')}`,
    ok: withBody,
  },
  {
    label: 'an upper-case algorithm',
    integrity: (f) => `SHA384-${b64('sha384', bytesOf(f))}`,
    ok: withBody,
  },
  {
    label: 'an options suffix (?foo)',
    integrity: (f) => `sha256-${b64('sha256', bytesOf(f))}?foo`,
    ok: withBody,
  },
  { label: 'an algorithm with an empty value', integrity: () => 'sha256-', ok: () => false },
  { label: 'only whitespace', integrity: () => ' \t ', ok: withBody },
];

/** The digests BASE64URL must exercise: `-` and `_` where base64 has `+` and `/`. */
it('the fixture: the sha512 of the body has both + and / in base64', () => {
  expect(b64('sha512', BODY)).toMatch(/\+.*\/|\/.*\+/);
});

interface Chain {
  readonly label: string;
  /** The servers of the hops, in order; the last answers with the final response. */
  readonly servers: readonly ('a' | 'b')[];
  readonly status?: number;
}
const CHAINS: Chain[] = [
  { label: 'no redirect (allowlisted)', servers: ['a'] },
  { label: 'no redirect (another host)', servers: ['b'] },
  ...[301, 302, 303, 307, 308].map((status) => ({
    label: `a ${status} within the allowlist`,
    servers: ['a', 'a'] as const,
    status,
  })),
  { label: 'a 301 from the allowlist to another host', servers: ['a', 'b'], status: 301 },
  { label: 'a 307 from another host to the allowlist', servers: ['b', 'a'], status: 307 },
  { label: 'a 308 from the allowlist to another host', servers: ['a', 'b'], status: 308 },
  {
    label: '3 redirects (302) in and out of the allowlist',
    servers: ['a', 'b', 'a', 'b'],
    status: 302,
  },
];

/** The call's first URL: a chain of `status` redirects ending in `final`. */
function chainUrl(chain: Chain, id: string, final: Final): string {
  const origin = (s: 'a' | 'b') => (s === 'a' ? a.origin : b.origin);
  const n = chain.servers.length - 1;
  let url = `${origin(chain.servers[n] ?? 'a')}/${id}/${n}?final=${final}`;
  for (let i = n - 1; i >= 0; i--)
    url = `${origin(chain.servers[i] ?? 'a')}/${id}/${i}?status=${chain.status}&to=${encodeURIComponent(url)}`;
  return url;
}

type Impl = { label: string; fetch: FetchLike; Request: typeof Request };
const IMPLS: Impl[] = [
  { label: "Node's fetch", fetch: (i, n) => fetch(i, n), Request },
  {
    label: 'undici.fetch (npm)',
    fetch: undici.fetch as unknown as FetchLike,
    Request: undici.Request as unknown as typeof Request,
  },
];
/**
 * Node's own fetch before undici 7 (Node 20, 22) takes an options suffix as part of the value
 * and rejects; SRI ignores it, and so do undici 7 (Node 24) and withGray.
 */
const deviates = (impl: Impl, c: Case) =>
  impl.label === "Node's fetch" &&
  c.label.includes('?foo') &&
  Number(process.versions['undici']?.split('.')[0]) < 7;

type Args = [string | URL | Request, RequestInit | undefined];
const INPUTS: [string, (impl: Impl, url: string, init: RequestInit) => Args][] = [
  ['a string', (_impl, url, init) => [url, init]],
  ['a URL', (_impl, url, init) => [new URL(url), init]],
  ['a Request', (impl, url, init) => [new impl.Request(url, init), undefined]],
];

/** How a call ended: status, body, url and `redirected`, or the error's class; and its hops. */
async function outcome(call: () => Promise<Response>, id: string) {
  try {
    const res = await call();
    const got = {
      status: res.status,
      body: await res.text(),
      url: res.url,
      redirected: res.redirected,
    };
    return { ...got, hops: hits.get(id) ?? [] };
  } catch (error) {
    return { error: (error as Error).name, hops: hits.get(id) ?? [] };
  }
}

const shape = (o: Awaited<ReturnType<typeof outcome>>, id: string) => {
  const { hops, ...rest } = o;
  return {
    ...rest,
    ...('url' in rest ? { url: rest.url.replace(`/${id}/`, '/ID/') } : {}),
    hops: hops.map((h) => `${h.server}${h.path.replace(`/${id}/`, '/ID/')}`),
  };
};

const lane = () => createLane('beta', { allowHosts: [a.host] });

describe('RDR-03 withGray(fetch) with integrity through redirects', () => {
  const rows = IMPLS.flatMap((impl) =>
    INPUTS.flatMap(([input, make]) =>
      CASES.map((c) => ({ impl, input, make, c, label: impl.label, integrity: c.label })),
    ),
  );
  it.each(rows)(
    'RDR-03 $label · $input · $integrity: every chain and final answer, as the fetch itself',
    async ({ impl, make, c }) => {
      for (const chain of CHAINS) {
        for (const final of ['body', 'empty', '204'] as const) {
          const what = `${chain.label}, final ${final}`;
          const init = (): RequestInit => ({ integrity: c.integrity(final) });
          const call = async (via: FetchLike) => {
            const id = `c${++seq}`;
            return shape(
              await outcome(() => via(...make(impl, chainUrl(chain, id, final), init())), id),
              id,
            );
          };
          const plain = await call(impl.fetch);
          const inLane = await call(withGray(impl.fetch, { lane: lane() }));
          const noLane = await call(withGray(impl.fetch, { lane: () => undefined }));
          const want = c.ok(final) ? undefined : 'TypeError';
          expect(inLane.error, `${what}: in a lane`).toBe(want);
          if (!deviates(impl, c)) expect(plain.error, `${what}: the fetch itself`).toBe(want);
          if (!deviates(impl, c)) expect(inLane, `${what}: in a lane`).toEqual(plain);
          expect(noLane, `${what}: no lane`).toEqual(plain);
          if (want === undefined)
            expect(inLane, what).toMatchObject({
              status: final === '204' ? 204 : 200,
              body: bytesOf(final),
              redirected: chain.servers.length > 1,
            });
        }
      }
    },
  );

  // A HEAD has no body to check (rejects, as fetch does); a POST is resent on a 307/308 and
  // becomes a GET on a 303, and the final answer is checked either way.
  it.each(
    IMPLS.flatMap((impl) =>
      (['HEAD', 'POST'] as const).flatMap((method) =>
        INPUTS.map(([input, make]) => ({ impl, input, make, method, label: impl.label })),
      ),
    ),
  )('RDR-03 $label · $input · $method: as the fetch itself', async ({ impl, make, method }) => {
    for (const chain of [CHAINS[0], CHAINS[4], CHAINS[5], CHAINS[9]] as Chain[]) {
      for (const c of [CASES[0], CASES[3], CASES[6]] as Case[]) {
        const what = `${chain.label}, ${c.label}`;
        const init = (): RequestInit => ({
          method,
          integrity: c.integrity('body'),
          ...(method === 'POST' ? { body: 'a=1' } : {}),
        });
        const call = async (via: FetchLike) => {
          const id = `h${++seq}`;
          return shape(
            await outcome(() => via(...make(impl, chainUrl(chain, id, 'body'), init())), id),
            id,
          );
        };
        const plain = await call(impl.fetch);
        const inLane = await call(withGray(impl.fetch, { lane: lane() }));
        expect(inLane, what).toEqual(plain);
        expect(inLane.error, what).toBe(
          method === 'POST' && c.ok('body') ? undefined : 'TypeError',
        );
      }
    }
  });

  it.each(
    IMPLS.flatMap((impl) =>
      INPUTS.map(([input, make]) => ({ impl, input, make, label: impl.label })),
    ),
  )(
    'RDR-01 $label · $input: the marker still goes on allowlisted hops only',
    async ({ impl, make }) => {
      const chain = CHAINS.at(-1) as Chain;
      for (const c of [CASES[0], CASES[3]] as Case[]) {
        const id = `m${++seq}`;
        await outcome(
          () =>
            withGray(impl.fetch, { lane: lane() })(
              ...make(impl, chainUrl(chain, id, 'body'), { integrity: c.integrity('body') }),
            ),
          id,
        );
        expect(
          (hits.get(id) ?? []).map((h) => [h.server, h.markers]),
          c.label,
        ).toEqual([
          ['a', ['beta']],
          ['b', []],
          ['a', ['beta']],
          ['b', []],
        ]);
      }
    },
  );

  it.each(IMPLS)(
    'RDR-03 $label: the answer is the fetch’s own, its body still to read',
    async (impl) => {
      const id = `r${++seq}`;
      const res = await withGray(impl.fetch, { lane: lane() })(
        chainUrl(CHAINS.at(-1) as Chain, id, 'body'),
        {
          integrity: CASES[0]?.integrity('body') ?? '',
        },
      );
      expect(res).toBeInstanceOf(impl.label === "Node's fetch" ? Response : undici.Response);
      expect([res.status, res.redirected, res.bodyUsed]).toEqual([200, true, false]);
      expect(res.headers.get('content-length')).toBe(String(BODY.length));
      expect(await res.text()).toBe(BODY);
    },
  );

  it.each(IMPLS)(
    'RDR-03 $label: a mismatch rejects with a TypeError naming the last hop',
    async (impl) => {
      const id = `e${++seq}`;
      const url = chainUrl(CHAINS[4] as Chain, id, 'body');
      const call = withGray(impl.fetch, { lane: lane() })(url, {
        integrity: `sha256-${bad('sha256')}`,
      });
      await expect(call).rejects.toThrow(TypeError);
      await expect(call).rejects.toThrow(`[graylane] fetch ${a.origin}/${id}/1?final=body:`);
    },
  );

  // `redirect: 'manual'` / `'error'`: one hop, the fetch's own check, as before.
  it.each(
    IMPLS.flatMap((impl) =>
      (['manual', 'error'] as const).flatMap((redirect) =>
        INPUTS.map(([input, make]) => ({ impl, input, make, redirect, label: impl.label })),
      ),
    ),
  )(
    'RDR-03 $label · $input · redirect $redirect: as the fetch itself',
    async ({ impl, make, redirect }) => {
      for (const chain of [CHAINS[0], CHAINS[3], CHAINS[7]] as Chain[]) {
        for (const c of [CASES[0], CASES[3]] as Case[]) {
          const init = (): RequestInit => ({ integrity: c.integrity('body'), redirect });
          const call = async (via: FetchLike) => {
            const id = `x${++seq}`;
            return shape(
              await outcome(() => via(...make(impl, chainUrl(chain, id, 'body'), init())), id),
              id,
            );
          };
          const plain = await call(impl.fetch);
          expect(
            await call(withGray(impl.fetch, { lane: lane() })),
            `${chain.label}, ${c.label}`,
          ).toEqual(plain);
        }
      }
    },
  );
});

/*
 * The runtimes: the same differential in each, one worker module answering `POST /run` with the
 * outcome of each call straight to the runtime's fetch and through withGray in a lane. What each
 * runtime does with `integrity` (checked on this machine) is part of the row: edge-runtime (npm
 * undici inside) checks it; Deno 2 keeps it on the `Request` and ignores it; Bun's `Request`
 * drops it; workerd refuses it ("Subrequest integrity checking is not implemented"). Inside a
 * lane each must do the same.
 */
const WORKER = `
import { createLane, provideAsyncLocalStorage, withGray } from '@graylane/web';
export { provideAsyncLocalStorage };
const outcome = (call) =>
  Promise.resolve()
    .then(call)
    .then(
      async (res) => res.status + ' ' + (await res.text()),
      (err) => (err instanceof TypeError ? 'TypeError' : String(err)),
    );
export default {
  async fetch(request) {
    if (new URL(request.url).pathname === '/health') return new Response('ok');
    const { allow, calls } = await request.json();
    const lane = createLane('beta', { allowHosts: [allow] });
    const gray = withGray(fetch, { lane });
    const out = [];
    for (const c of calls) {
      const args = () =>
        c.input === 'a Request'
          ? [new Request(c.url, { integrity: c.integrity })]
          : [c.url, { integrity: c.integrity }];
      out.push({
        plain: await outcome(() => fetch(...args())),
        lane: await outcome(() => gray(...args())),
      });
    }
    return Response.json(out);
  },
};
`;

type Verdict = 'checks' | 'ignores' | 'refuses';
interface RuntimeCall {
  readonly url: string;
  readonly integrity: string;
  readonly input: string;
  readonly what: string;
  /** What the call answers when it resolves. */
  readonly answer: string;
  /** Whether Fetch + SRI let it resolve. */
  readonly ok: boolean;
}

const made: string[] = [];
const bundled = (format: 'esm' | 'iife'): Promise<string> =>
  bundleWorker(
    { contents: WORKER, resolveDir: dirname(fileURLToPath(import.meta.url)) },
    format,
    'IntegrityWorker',
  );
async function workerDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'graylane-web-integrity-'));
  made.push(dir);
  writeFileSync(join(dir, 'app.bundle.mjs'), await bundled('esm'));
  copyFileSync(fileURLToPath(new URL('fixtures/host.mjs', import.meta.url)), join(dir, 'host.mjs'));
  return dir;
}
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** How each runtime is started; `post` sends the calls, `stop` ends it. */
interface Runtime {
  readonly label: string;
  readonly verdict: Verdict;
  readonly skip: () => string | undefined;
  start(): Promise<{ post: (body: string) => Promise<Response>; stop: () => Promise<void> }>;
}
const served = (s: Served) => ({
  post: (body: string) =>
    fetch(`${s.origin}/run`, { method: 'POST', body, signal: AbortSignal.timeout(60_000) }),
  stop: () => s.stop(),
});
const RUNTIMES: Runtime[] = [
  {
    label: 'edge-runtime',
    verdict: 'checks',
    skip: () => undefined,
    async start() {
      const edge = new EdgeRuntime({
        initialCode: `${await bundled('iife')}
addEventListener('fetch', (event) => event.respondWith(IntegrityWorker.default.fetch(event.request)));`,
      });
      return {
        post: (body) => edge.dispatchFetch('http://worker.test/run', { method: 'POST', body }),
        stop: async () => undefined,
      };
    },
  },
  {
    label: 'workerd',
    verdict: 'refuses',
    skip: () => undefined,
    async start() {
      const dir = await workerDir();
      return served(await startWorkerd(dir, { module: 'app.bundle.mjs' }));
    },
  },
  {
    label: 'Deno',
    verdict: 'ignores',
    skip: () => binaryMissing(DENO, 'set GRAYLANE_DENO'),
    async start() {
      const dir = await workerDir();
      return served(
        await startProcess(
          DENO,
          () => [
            'run',
            '--allow-net=127.0.0.1',
            '--allow-env',
            '--no-prompt',
            join(dir, 'host.mjs'),
          ],
          {
            cwd: dir,
            env: { DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(dir, '.deno') },
            portEnv: 'GRAY_PORT',
          },
        ),
      );
    },
  },
  {
    label: 'Bun',
    verdict: 'ignores',
    skip: () => binaryMissing(BUN, 'set GRAYLANE_BUN'),
    async start() {
      const dir = await workerDir();
      return served(
        await startProcess(BUN, () => ['run', join(dir, 'host.mjs')], {
          cwd: dir,
          portEnv: 'GRAY_PORT',
        }),
      );
    },
  },
];

/** A few rows of the table above: every chain shape, a matching and a refused integrity. */
function runtimeCalls(): RuntimeCall[] {
  const chains = [CHAINS[0], CHAINS[3], CHAINS[9], CHAINS[10]] as Chain[];
  const cases = [0, 3, 4, 6, 9].map((i) => CASES[i] as Case);
  return chains.flatMap((chain) =>
    (['body', '204'] as const).flatMap((final) =>
      cases.flatMap((c) =>
        ['a string', 'a Request'].map((input) => ({
          url: chainUrl(chain, `w${++seq}`, final),
          integrity: c.integrity(final),
          input,
          what: `${chain.label}, final ${final}, ${c.label}, ${input}`,
          answer: `${final === '204' ? 204 : 200} ${bytesOf(final)}`,
          ok: c.ok(final),
        })),
      ),
    ),
  );
}

describe.each(RUNTIMES)('RDR-03 integrity in $label', (runtime) => {
  const skip = runtime.skip();
  if (skip !== undefined)
    console.warn(`[graylane] ${runtime.label} integrity rows skipped: ${skip}`);
  it.skipIf(skip !== undefined)(
    `RDR-03 ${runtime.label} (${runtime.verdict} integrity): in a lane as the runtime's fetch`,
    async () => {
      const rt = await runtime.start();
      try {
        const calls = runtimeCalls();
        const res = await rt.post(JSON.stringify({ allow: a.host, calls }));
        const got = (await res.json()) as { plain: string; lane: string }[];
        expect(got).toHaveLength(calls.length);
        for (const [i, call] of calls.entries()) {
          const { plain, lane: inLane } = got[i] ?? {};
          expect(inLane, call.what).toBe(plain);
          const want = {
            checks: call.ok ? call.answer : 'TypeError',
            ignores: call.answer,
            refuses: 'TypeError',
          }[runtime.verdict];
          expect(plain, `${call.what}: the runtime ${runtime.verdict} integrity`).toBe(want);
        }
      } finally {
        await rt.stop();
      }
    },
    90_000,
  );
});
