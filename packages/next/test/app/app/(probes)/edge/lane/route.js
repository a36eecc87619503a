import { getGrayDecision } from '@graylane/next';

/** Decided in edge mode: what the app sees of the client's carriers. */
export async function GET(request) {
  const decision = await getGrayDecision();
  return Response.json({
    version: decision?.version ?? null,
    marker: request.headers.get('x-gray-id'),
    cookie: request.headers.get('cookie'),
    baggage: request.headers.get('baggage'),
    search: new URL(request.url).search,
  });
}
