import { createGrayFetch, getGrayDecision } from '@graylane/next';
import { servedBy } from '../../../lib/gray.js';

// Per request, never prerendered at build (Next 14 prerenders a GET handler it deems static).
export const dynamic = 'force-dynamic';

let grayFetch;

/** Route handler → downstream Node service, on the request's lane. */
export async function GET(request) {
  const decision = await getGrayDecision(); // first: cacheComponents prerenders what precedes it
  const downstream = process.env.GRAY_DOWNSTREAM;
  grayFetch ??= createGrayFetch({ allowHosts: [new URL(downstream).host] });
  const res = await grayFetch(`${downstream}/echo`, { cache: 'no-store' });
  return Response.json({
    version: decision?.version ?? null,
    servedBy: servedBy(decision?.version),
    clientMarker: request.headers.get('x-gray-id'),
    downstream: await res.json(),
  });
}
