// STK-06 (review 80 D1): the beta route of a lane rewrite, with a shared-cache header of its own.
export const dynamic = 'force-dynamic';

export function GET() {
  return new Response('beta route', {
    headers: {
      'cache-control': 'public, s-maxage=600, immutable',
      'CDN-Cache-Control': 'max-age=600',
      'content-type': 'text/plain',
    },
  });
}
