// STK-06: a route handler that sets targeted cache-control fields (RFC 9213) of its own.
export const dynamic = 'force-dynamic';

export function GET() {
  return new Response('targeted', {
    headers: {
      'cache-control': 'public, max-age=60',
      'CDN-Cache-Control': 'max-age=3600',
      'Cloudflare-CDN-Cache-Control': 'public, s-maxage=600',
      'Vercel-CDN-Cache-Control': 's-maxage=60',
      'Netlify-CDN-Cache-Control': 'public, durable, s-maxage=60',
      'Surrogate-Control': 'max-age=86400',
      'Edge-Control': '!no-store, max-age=3600',
      'content-type': 'text/plain',
    },
  });
}
