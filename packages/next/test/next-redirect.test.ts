import { afterAll, beforeAll, describe, it } from 'vitest';
import { buildApp } from './support/build.js';
import { startDownstream } from './support/downstream.js';
import { startNext } from './support/serve.js';

/*
 * RDR-03 (graylane never makes a working call fail), I1 — review 172 D1, on the real thing: the
 * test app built with `next build`, served with a plain `next start`. A server component or route
 * handler calls the downstream service (allowlisted) through `createGrayFetch` or
 * `withGray(fetch, { lane })` on Next's own fetch, and the service answers 301/302/303/307/308
 * to its `/echo`. Next's fetch dedupe hands back one branch of a `body.tee()` and keeps the
 * other for the render; withGray awaited the cancel of the 3xx's branch, which never settles
 * then: every such page and route handler hung for good. Each row must answer within BOUND_MS
 * with what the final hop saw (the lane carried to the allowlisted target).
 */

const BOUND_MS = 15_000;
const STATUSES = [301, 302, 303, 307, 308] as const;
const VIA = ['createGrayFetch', 'withGray'] as const;
const INPUTS = ['string', 'URL', 'Request'] as const;
const SURFACES = [
  ['a server component', '/redirect'],
  ['a route handler', '/redirect/json'],
] as const;

/** The JSON a surface answered: the route handler's body, or the page's `#redirected`. */
function reportOf(body: string): unknown {
  if (body.startsWith('{')) return JSON.parse(body);
  const html = /id="redirected">([^<]*)</.exec(body)?.[1];
  if (html === undefined) throw new Error(`no #redirected in ${body.slice(0, 300)}`);
  return JSON.parse(html.replaceAll('&quot;', '"').replaceAll('&amp;', '&'));
}

const rows = SURFACES.flatMap(([surface, path]) =>
  VIA.flatMap((via) =>
    INPUTS.flatMap((input) => STATUSES.map((status) => ({ surface, path, via, input, status }))),
  ),
);

describe('RDR-03 an allowlisted call Next’s fetch follows through a redirect answers', () => {
  let down: Awaited<ReturnType<typeof startDownstream>>;
  let app: Awaited<ReturnType<typeof startNext>>;
  beforeAll(async () => {
    const built = await buildApp('proxy');
    down = await startDownstream();
    app = await startNext(built.dir, { GRAY_DOWNSTREAM: down.origin, GRAY_OTHER: down.origin });
  }, 1_500_000);
  afterAll(async () => {
    await app?.stop();
    await down?.close();
  });

  it.concurrent.for(rows)(
    'RDR-03 $surface, $via, $input input, $status',
    async ({ path, via, input, status }, { expect }) => {
      const res = await fetch(`${app.origin}${path}?status=${status}&via=${via}&input=${input}`, {
        headers: { 'x-gray-id': 'beta' },
        signal: AbortSignal.timeout(BOUND_MS),
      }).catch((err: unknown) => {
        throw new Error(`no answer within ${BOUND_MS} ms (hang): ${String(err)}`);
      });
      const body = await res.text();
      expect(res.status, body.slice(0, 500) + app.output().slice(-1500)).toBe(200);
      expect(reportOf(body)).toEqual({
        status: 200,
        redirected: true,
        path: '/echo',
        marker: 'beta',
      });
    },
  );
});
