import { headers } from 'next/headers';
import { createGrayFetch } from '@graylane/next';

export const dynamic = 'force-dynamic';

let grayFetch;

/**
 * Test-only: forwards this request's own headers (`headers()`, as Next holds them after the
 * proxy) with `createGrayFetch` to `?to=allowed|other`, in the `?shape=` a caller would write;
 * answers what the downstream saw.
 */
export async function GET(request) {
  const downstream = process.env.GRAY_DOWNSTREAM;
  grayFetch ??= createGrayFetch({ allowHosts: [new URL(downstream).host] });
  const query = new URL(request.url).searchParams;
  const to = `${query.get('to') === 'allowed' ? downstream : process.env.GRAY_OTHER}/echo`;
  const h = await headers();
  const shapes = {
    init: () => grayFetch(to, { headers: h, cache: 'no-store' }),
    pairs: () => grayFetch(to, { headers: [...h], cache: 'no-store' }),
    record: () => grayFetch(to, { headers: Object.fromEntries(h), cache: 'no-store' }),
    request: () => grayFetch(new Request(to, { headers: h })),
    'request-and-init': () => grayFetch(new Request(to, { headers: h }), { cache: 'no-store' }),
  };
  const res = await shapes[query.get('shape') ?? 'init']();
  return Response.json(await res.json());
}
