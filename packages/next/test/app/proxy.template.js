import { createGrayProxy } from '@graylane/next';
import { grayConfig } from './lib/gray.js';

const gray = createGrayProxy({ config: grayConfig, sticky: true, debugHeader: true });

// Test-only engines: `/ext/allowed/*` and `/ext/other/*` are rewritten to the downstream service
// (allowlisted) and to another one (not); `/edge/*` is decided in edge mode. `x-test-mode: open |
// signed | edge` picks a sticky engine with the debug header in that trust mode (the rewrites
// above included, and a lane to its own route as docs/nextjs.md §2 shows: `/lanes/<kind>` →
// `/lanes/beta/<kind>` for beta; any other path is served here).
const downstream = process.env.GRAY_DOWNSTREAM ?? 'http://127.0.0.1:9';
const rewrite = (request, outcome) => {
  const path = request.nextUrl.pathname;
  const lane = /^\/lanes\/(static|isr|dynamic|route)$/.exec(path);
  if (lane) return outcome.decision.version === 'beta' ? `/lanes/beta/${lane[1]}` : undefined;
  const m = /^\/ext\/(allowed|other)(\/.*)$/.exec(path);
  return m ? `${m[1] === 'allowed' ? downstream : process.env.GRAY_OTHER}${m[2]}` : undefined;
};
const rewriting = createGrayProxy({
  config: grayConfig,
  sticky: true,
  allowHosts: [new URL(downstream).host],
  rewrite,
});
const edge = createGrayProxy({ config: grayConfig, trust: 'edge' });
const modes = Object.fromEntries(
  [
    ['open', {}],
    [
      'signed',
      { trust: 'signed', keys: { k1: 'a-test-signing-key-of-32-bytes!!' }, signingKid: 'k1' },
    ],
    ['edge', { trust: 'edge' }],
  ].map(([mode, trust]) => [
    mode,
    createGrayProxy({
      config: grayConfig,
      sticky: true,
      debugHeader: true,
      allowHosts: [new URL(downstream).host],
      rewrite,
      ...trust,
    }),
  ]),
);

/** Tags the response with the runtime that ran it, so the test can prove which one did. */
export async function __EXPORT__(request, event) {
  const path = request.nextUrl.pathname;
  const engine =
    modes[request.headers.get('x-test-mode')] ??
    (path.startsWith('/ext/') ? rewriting : path.startsWith('/edge/') ? edge : gray);
  const response = await engine(request, event);
  // Test-only: the app's own cookies, set on graylane's response the way docs/nextjs.md shows
  // (`x-test-app-cookie: name=value&name=value`).
  for (const [name, value] of new URLSearchParams(request.headers.get('x-test-app-cookie') ?? ''))
    response.cookies.set(name, value);
  response.headers.set('x-proxy-runtime', typeof EdgeRuntime === 'string' ? 'edge' : 'nodejs');
  return response;
}

// `/outside` is left out on purpose: the tests forge decision headers there.
export const config = { matcher: ['/((?!_next/static|_next/image|favicon.ico|outside).*)'] };
